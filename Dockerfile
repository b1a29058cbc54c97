# syntax=docker/dockerfile:1
# The Countersign gateway. Build from the repository root:
#   docker build -t countersign .
# and run it with a config mounted at /etc/countersign/countersign.yaml (deploy/compose.yaml
# runs two replicas on PostgreSQL behind a load balancer; docs/production.md).
# CI has no Docker engine: this image is not built there. test/deploy.test.ts checks that
# every file and npm script named here exists.

FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 compiles its addon when no prebuilt binary matches this platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# Dependencies first, in their own layer: it is reused until the lockfile changes.
# (`prepare` builds nothing yet: the sources are not there.)
COPY package.json package-lock.json ./
COPY bin/build.js ./bin/build.js
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY clients/typescript/tsconfig.json ./clients/typescript/tsconfig.json
COPY bin ./bin
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
# The code and its dependencies belong to root and are read-only to the gateway's user.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules ./node_modules
# The audit keys (checkpoint signing key, HMAC key): a volume shared by every replica.
RUN mkdir -p /etc/countersign /var/lib/countersign/keys \
  && chown -R node:node /var/lib/countersign \
  && chmod 700 /var/lib/countersign/keys
VOLUME ["/var/lib/countersign/keys"]
USER node
EXPOSE 8700
# Ready = the store answers. node's own fetch: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8700) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/countersign.js", "start", "--config", "/etc/countersign/countersign.yaml"]
