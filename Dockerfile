# One image for every provflow process (worker, poller, board, simulator).
# TypeScript runs through tsx at start-up, as on a developer machine: no build step to drift.
# BASE: an image with Node 20+ (with npm, or corepack) and a user `node` (uid 1000), default
# node:20-slim. CI builds on a base made from Debian packages by scripts/build-images.sh (no
# image registry there):
#   docker build --network host --build-arg BASE=provflow-base:local -t provflow:local .
ARG BASE=node:20-slim

# Build stage, thrown away: production dependencies and the sources, assembled in /app.
FROM ${BASE} AS deps
WORKDIR /app
# Dependencies first, so source edits don't invalidate the npm layer. tsx is a runtime
# dependency; dev tools (vitest, playwright-core, typescript) stay out of the image.
# EXTRA_CA_PEM: CA certificates (PEM text) npm must trust besides its own, e.g. a TLS-inspecting
# proxy's; build-images.sh passes the host's /usr/local/share/ca-certificates. Public
# certificates, not secrets, and only this thrown-away stage sees them.
ARG EXTRA_CA_PEM=""
COPY package.json package-lock.json ./
# A base without npm (CI's: Debian's nodejs) runs npm through corepack, which ships with Node
# and fetches npm from the npm registry; none of it reaches the final image.
RUN if [ -n "$EXTRA_CA_PEM" ]; then printf '%s\n' "$EXTRA_CA_PEM" > /tmp/extra-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && if command -v npm >/dev/null; then npm=npm; \
    else npm="corepack npm@10.9.2"; export COREPACK_ENABLE_DOWNLOAD_PROMPT=0; fi \
 && $npm ci --omit=dev --no-audit --no-fund && $npm cache clean --force && rm -f /tmp/extra-ca.pem \
 && mkdir -p /sim-ca
# The sources: tsconfig.json, bin, src, workers (.dockerignore lets nothing else in). One COPY,
# one layer: on vfs storage every layer is a full copy of the tree.
COPY . .

# The image: the base plus two layers (few layers: an engine on vfs storage copies each whole).
FROM ${BASE}
ENV NODE_ENV=production
# The simulator writes its CA here for the other services (a named volume initialised from
# this directory inherits its owner, so the unprivileged user can write to it).
COPY --from=deps --chown=node:node /sim-ca /sim-ca
COPY --from=deps /app /app
WORKDIR /app
USER node

EXPOSE 3000
CMD ["node", "bin/provflow.js", "--help"]
