#!/bin/sh
# The whole suite on SQLite, then everything that touches the database again on PostgreSQL.
set -eu
cd "$(dirname "$0")/.."
. .venv/bin/activate

echo "== pytest on SQLite =="
pytest

if [ -n "${POSTGRES_URL:-}" ]; then
    echo "== pytest on PostgreSQL (database-backed tests) =="
    DATABASE_URL="$POSTGRES_URL" pytest -m "not e2e" --ignore=tests/engine --ignore=tests/security
fi
