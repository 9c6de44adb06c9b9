# The gateway image (used by docker-compose.yml). Two stages: the first
# installs every dependency and compiles TypeScript, the second keeps only the
# runtime dependencies and the compiled output. .dockerignore keeps the
# host's node_modules, data and secrets out of the build context.

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts wait until the sources are in place: `prepare` builds them.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY domain ./domain
COPY application ./application
COPY adapters ./adapters
COPY bench ./bench
# The benchmarks (compiled with the rest) reuse the test fixtures.
COPY test/support ./test/support
# Native modules (better-sqlite3) fetch or build their binaries for this
# image's Node here, against its own headers.
RUN npm rebuild && npm run build && npm prune --omit=dev

FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
# The default store is sqlite:data/ledger.db: /app/data must be writable by
# the user the service runs as. A volume mounted there inherits this owner.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
EXPOSE 3000 3003
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node directly, not npm: signals reach the service (graceful shutdown) and no
# npm process sits in between.
CMD ["node", "dist/adapters/main.js"]
