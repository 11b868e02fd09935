# syntax=docker/dockerfile:1
# The API and the projector in one image (the projector is another command, see README).
#
#   docker build -t lead-lifecycle-crm .
#   docker run -p 3000:3000 -v crm-data:/data lead-lifecycle-crm
#
# Stages: `build` compiles the TypeScript; `runtime-deps` installs the production dependencies
# (`npm ci --omit=dev`) where the build tools are, because better-sqlite3 compiles its native
# module from source when no prebuilt binary fits; `runtime` gets only those node_modules, the
# compiled code and no compiler, and runs as the unprivileged `node` user.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npx tsc -p tsconfig.build.json && npm run build:web

FROM toolchain AS runtime-deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/register-paths.js scripts/
COPY --from=runtime-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
# The embedded SQLite file lives here when EVENTSTORE_URL / MONGODB_URL are not set.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
# /health answers 200 when the event store and the read store answer (503 otherwise). NODE_ENV=production:
# the service refuses to start without API_KEYS / API_KEYS_FILE (e.g. a secret mounted at /run/secrets).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "-r", "./scripts/register-paths.js", "dist/apps/api/src/main.js"]
