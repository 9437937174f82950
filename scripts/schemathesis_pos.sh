#!/usr/bin/env bash
# Schemathesis, every check, against `sandgate emulator` on the POS specs: any finding fails.
# Usage: scripts/schemathesis_pos.sh  (needs .venv with scripts/requirements-dev.txt; scripts/test
# makes it). SANDGATE_BIN picks the binary, EXAMPLES the examples per operation (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SANDGATE_BIN:-target/debug/sandgate}
[ -x "$bin" ] || cargo build --quiet -p sandgate-cli --bin sandgate
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="schemathesis-$$"
log=$(mktemp)
"$bin" emulator --specs specs --listen "127.0.0.1:$port" --token "$token" --scrub-at never >"$log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then break; fi
  kill -0 "$emulator" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
report=$(mktemp)
trap 'kill "$emulator" 2>/dev/null || true; rm -f "$log" "$report"' EXIT
for version in v2.5 v2.5.1; do
  echo "schemathesis: specs/pos-api/$version.yaml"
  if .venv/bin/schemathesis --no-color run "specs/pos-api/$version.yaml" --url "http://127.0.0.1:$port/pos-api/$version" \
    --checks all --max-examples "${EXAMPLES:-30}" --generation-deterministic -H "Authorization: Bearer $token" >"$report" 2>&1; then
    tail -n 4 "$report"
  else
    cat "$report" >&2
    echo "schemathesis found problems in specs/pos-api/$version.yaml (above)" >&2
    exit 1
  fi
done
