#!/bin/sh
# The image's entrypoint: refuses to start without Postgres (the image keeps no data of its own),
# then runs the command (the server, or `node dist/node/migrate.js`) as PID 1, so SIGTERM reaches it.
set -eu
if [ -z "${DATABASE_URL:-}" ]; then
  echo "DATABASE_URL is required in the container: postgres://user:password@host:5432/database" >&2
  exit 64
fi
exec "$@"
