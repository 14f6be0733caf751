# One image for every provflow process (worker, poller, board, simulator).
# TypeScript runs through tsx at start-up, as on a developer machine: no build step to drift.
FROM node:20-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so source edits don't invalidate the npm layer. tsx is a runtime
# dependency; dev tools (vitest, playwright-core, typescript) stay out of the image.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers

# The simulator writes its CA here for the other services (a named volume initialised from
# this directory inherits its owner, so the unprivileged user can write to it).
RUN mkdir -p /sim-ca && chown node:node /sim-ca
USER node

EXPOSE 3000
CMD ["node", "bin/provflow.js", "--help"]
