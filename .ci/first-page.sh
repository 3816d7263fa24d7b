#!/usr/bin/env bash
# A newcomer's first minutes: clone the repository, `make run` with Debian's own python3 (PEP 668:
# no pip outside a virtual environment), and wait for the first served page. Prints the time from
# clone to page; fails when no page comes within the limit.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-/usr/bin/python3}
limit=${FIRST_PAGE_LIMIT:-300}
work=$(mktemp -d /tmp/skjemamottak-first-page.XXXXXX)
port=$((20000 + RANDOM % 20000))
start=$(date +%s)
git clone -q "$src" "$work/skjemamottak"
cd "$work/skjemamottak"
# Only what the README says: make run (with the interpreter and a free port chosen).
setsid make run PYTHON="$python" PORT="$port" >"$work/run.log" 2>&1 &
pid=$!
cleanup() { kill -- -"$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
while true; do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    echo "Fra git clone til første side med $python: $(( $(date +%s) - start )) s"
    grep -q "koordinator" "$work/run.log" || { echo "make run skrev ikke ut demobrukerne"; exit 1; }
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null || [ $(( $(date +%s) - start )) -gt "$limit" ]; then
    echo "make run ga ingen side innen $limit s:"; tail -n 30 "$work/run.log"; exit 1
  fi
  sleep 1
done
