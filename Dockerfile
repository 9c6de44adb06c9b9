# The gateway image (used by docker-compose.yml). Two stages: the first
# installs every dependency and compiles TypeScript, the second keeps only the
# runtime dependencies and the compiled output.

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
# Native modules (better-sqlite3) fetch or build their binaries here.
RUN npm rebuild && npm run build && npm prune --omit=dev

FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
USER node
EXPOSE 3000 3003
CMD ["npm", "start"]
