# The Node server as compiled JavaScript, run as a non-root user. Needs DATABASE_URL (Postgres;
# the image has no embedded database) and JWT_SECRET_KEY. compose.yaml runs it with Postgres and
# applies the migrations first. Build: docker build -t edge-user-api .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only (esbuild is one of them). No install scripts: the image brings its
# own Node, so the `node` devDependency is neither needed nor installed.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# dist/node/server.js, migrate.js and seed-admin.js (scripts/build-node.mjs).
RUN node scripts/build-node.mjs

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
# The bundles load native argon2 and PGlite from node_modules.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/node ./dist/node
# Found by the bundles at ../../drizzle, for migrate.js.
COPY drizzle ./drizzle
COPY public ./public
COPY scripts/docker-entrypoint.sh ./
# The `node` user of the Node images, by number so that runAsNonRoot checks can verify it.
USER 1000:1000
EXPOSE 8787
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8787}/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["sh", "/app/docker-entrypoint.sh"]
# V8 heap flags: a young generation of at most 2 × 32 MB and an old one that grows by half its live
# size between full collections; docs/operations.md ("Memory") has the measurements.
CMD ["node", "--enable-source-maps", "--max-semi-space-size=32", "--heap-growing-percent=50", "dist/node/server.js"]
