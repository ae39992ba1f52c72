# syntax=docker/dockerfile:1
# trashd: TypeScript compiled to JavaScript and the web page built in one stage; a slim runtime with production
# dependencies only, run as the unprivileged `node` user. Build: docker build -t trashd .
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/trashd
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY wsdl ./wsdl
# DATA_DIR holds the embedded database, files (BLOB_STORE=fs) and a generated admin token: the only writable place
RUN mkdir -p /var/lib/trashd && chown node:node /var/lib/trashd
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: stop accepting, finish the requests in flight (event streams are ended), close the database, exit 0
STOPSIGNAL SIGTERM
CMD ["node", "build/cli.js", "start"]
