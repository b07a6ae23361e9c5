# syntax=docker/dockerfile:1
# bg-ingest: runs the TypeScript sources directly on Node 24 (type stripping), so there is no build stage; the first
# stage only installs production dependencies. Not exercised by CI (no Docker engine there): keep it simple.

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/domain/package.json packages/domain/
COPY packages/adapters/package.json packages/adapters/
COPY packages/http/package.json packages/http/
COPY packages/runner/package.json packages/runner/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=5001 \
    DATA_DIR=/var/lib/bg-ingest \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY packages ./packages
RUN mkdir -p /var/lib/bg-ingest && chown node:node /var/lib/bg-ingest
USER node
EXPOSE 5001
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "--conditions=@bg-ingest/source", "packages/runner/bin/bg-ingest.mjs"]
