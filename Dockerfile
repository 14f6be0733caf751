# One image for every provflow process (worker, poller, board, simulator).
# TypeScript runs through tsx at start-up, as on a developer machine: no build step to drift.
# BASE: any image with Node 20+ and npm. CI builds on a Debian-packages base made by
# scripts/build-images.sh (no registry reachable there): --build-arg BASE=provflow-base:local.
ARG BASE=node:20-slim
FROM ${BASE}

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so source edits don't invalidate the npm layer. tsx is a runtime
# dependency; dev tools (vitest, playwright-core, typescript) stay out of the image.
# The simulator writes its CA to /sim-ca for the other services (a named volume initialised from
# this directory inherits its owner, so the unprivileged user can write to it). The user `node`
# (uid 1000) comes with node:20-slim; other bases get it here. One RUN: fewer layers.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && (id node >/dev/null 2>&1 || useradd --uid 1000 --user-group --create-home node) \
 && mkdir -p /sim-ca && chown node:node /sim-ca

COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers

USER node

EXPOSE 3000
CMD ["node", "bin/provflow.js", "--help"]
