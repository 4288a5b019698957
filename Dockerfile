# syntax=docker/dockerfile:1
# One image for both processes of the recovery engine; docker-compose.yml picks the command:
#   tsx api/server.ts    the program `npm run api` runs: HTTP API (applies migrations, registers
#                        the Temporal search attributes at start)
#   tsx worker/main.ts   the program `npm run worker` runs: the Temporal worker
# TypeScript runs through tsx, so there is no build step: the image is the source plus node_modules.
#
# The commands call tsx directly rather than through `npm run`: npm runs scripts under `sh -c`,
# and on SIGTERM npm and that shell exit at once, without waiting for tsx, so the container's
# main process ends and the API / worker is SIGKILLed instead of closing gracefully (the worker
# drains its tasks on SIGTERM). tsx itself relays SIGTERM to the program and waits for it.
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, so this layer is reused until package.json or package-lock.json change.
# `npm ci --omit=dev` installs exactly the lock's production packages and fails the build if the
# lock does not match package.json; there is no fallback. Dev dependencies (typescript, @types,
# lint and format tools, test tooling, the dev mail sink and PGlite) are not needed to run: tsx
# and the Temporal workflow bundler are regular dependencies.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# The source (what .dockerignore lets through: no tests, test kit, dev tooling, drills or
# benchmarks). It stays owned by root and read-only for the unprivileged user the processes run
# as; in production nothing is written under /app.
COPY . .

# Where the API appends the signed audit heads (AUDIT_HEAD_EXPORT_FILE); a fresh volume mounted
# here takes this ownership.
RUN mkdir -p /var/lib/recovery/audit && chown node:node /var/lib/recovery/audit

USER node
EXPOSE 3000
CMD ["tsx", "api/server.ts"]
