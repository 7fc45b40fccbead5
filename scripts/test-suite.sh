#!/bin/sh
# The whole suite on SQLite, then everything that touches the database again on PostgreSQL
# (not the browser tests, nor those that run the shipped course's code, which no database changes).
set -eu
cd "$(dirname "$0")/.."
. .venv/bin/activate

echo "== pytest on SQLite =="
pytest --durations=20

if [ -n "${POSTGRES_URL:-}" ]; then
    echo "== pytest on PostgreSQL (database-backed tests) =="
    DATABASE_URL="$POSTGRES_URL" pytest --durations=20 -m "not e2e and not content" --ignore=tests/engine --ignore=tests/security
fi
