#!/usr/bin/env bash
# Schemathesis, every check, against `sandgate emulator` on specs nobody here wrote for the POS
# API: each corpus spec is served alone and must give no finding. The list grows as specs pass.
# Usage: scripts/schemathesis_corpus.sh  (needs .venv with scripts/requirements-dev.txt).
# SANDGATE_BIN picks the binary, EXAMPLES the examples per operation (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SANDGATE_BIN:-target/debug/sandgate}
[ -x "$bin" ] || cargo build --quiet -p sandgate-cli --bin sandgate
# spec file, then the base path its operations are served under
corpus=(
  "emulator/tests/fixtures/petstore/petstore.yaml /v1"
  "emulator/tests/fixtures/errors/shaped.yaml /shaped-api/v1"
)
log=$(mktemp)
report=$(mktemp)
emulator=""
trap '[ -n "$emulator" ] && kill "$emulator" 2>/dev/null; rm -f "$log" "$report"' EXIT
for entry in "${corpus[@]}"; do
  read -r spec base <<<"$entry"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" emulator --specs "$spec" --listen "127.0.0.1:$port" --token corpus --scrub-at never >"$log" 2>&1 &
  emulator=$!
  for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then break; fi
    kill -0 "$emulator" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "schemathesis: $spec"
  if .venv/bin/schemathesis --no-color run "$spec" --url "http://127.0.0.1:$port$base" \
    --checks all --max-examples "${EXAMPLES:-20}" --generation-deterministic -H "Authorization: Bearer corpus" >"$report" 2>&1; then
    tail -n 2 "$report"
  else
    cat "$report" >&2
    echo "schemathesis found problems in $spec (above)" >&2
    exit 1
  fi
  kill "$emulator" 2>/dev/null || true
  wait "$emulator" 2>/dev/null || true
  emulator=""
done
