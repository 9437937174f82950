#!/usr/bin/env bash
# Schemathesis, every check, against `sandgate emulator`: any finding fails.
#   scripts/schemathesis.sh pos     the POS specs, served from specs/ with their scenarios
#   scripts/schemathesis.sh corpus  specs written elsewhere, each served alone (the list grows as
#                                   specs pass)
#   scripts/schemathesis.sh public  public specs nobody here wrote (scripts/public_corpus.py installs
#                                   them from the npm registry), each served alone, every check;
#                                   scripts/schemathesis-public.toml and the hook beside it admit an
#                                   undocumented 4xx (the issue's bar) and 413
#   scripts/schemathesis.sh control-plane
#                                   `sandgate up`'s admin listener against the spec it serves, every
#                                   check; positive_data_acceptance admits a stated rule's status on two operations
#                                   (scripts/schemathesis-control-plane.toml says why)
# Needs .venv with scripts/requirements-dev.txt (scripts/test makes it). SANDGATE_BIN picks the
# binary, EXAMPLES the examples per operation (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SANDGATE_BIN:-target/debug/sandgate}
[ -x "$bin" ] || cargo build --quiet -p sandgate-cli --bin sandgate
# what the emulator serves, the spec Schemathesis reads, the base path of its operations
# Options before `run` (a config file) and after it (the checks; a config file's own settings
# hold only where the command line names no checks).
global=()
checks=(--checks all)
case "${1:-}" in
  pos) runs=("specs specs/pos-api/v2.5.yaml /pos-api/v2.5" "specs specs/pos-api/v2.5.1.yaml /pos-api/v2.5.1") ;;
  corpus) runs=(
    "emulator/tests/fixtures/petstore/petstore.yaml emulator/tests/fixtures/petstore/petstore.yaml /v1"
    "emulator/tests/fixtures/errors/shaped.yaml emulator/tests/fixtures/errors/shaped.yaml /shaped-api/v1"
    "emulator/tests/fixtures/swagger2/shelter.yaml emulator/tests/fixtures/swagger2/shelter.yaml /shelter/v1"
  ) ;;
  public)
    # Ten specs of seven publishers, of the sample in benches/load/README.md ("public corpus"); the
    # others of that sample and why they are left out are listed there.
    runs=()
    for name in xkcd.com.json apis.guru.json amazonaws.com/cognito-sync.json amazonaws.com/verifiedpermissions.json \
      azure.com/iotcentral.json azure.com/azsadmin-queueServices.json \
      azure.com/security-regulatoryCompliance.json googleapis.com/kmsinventory.json \
      vtex.local/MasterData-API-.json apisetu.gov.in/edistrictodishasp.json; do
      spec=$(python3 scripts/public_corpus.py "$name")
      base=$(python3 -c 'import json, re, sys
server = (json.load(open(sys.argv[1])).get("servers") or [{}])[0]
url = server.get("url", "")
for name, variable in (server.get("variables") or {}).items():
    url = url.replace("{" + name + "}", str(variable.get("default", "")))
print(re.sub(r"^([a-z]+:)?//[^/]*", "", url).rstrip("/"))' "$spec")
      runs+=("$spec $spec $base")
    done
    global=(--config-file scripts/schemathesis-public.toml)
    checks=()
    export PYTHONPATH=scripts/schemathesis_hooks SCHEMATHESIS_HOOKS=public_corpus ;;
  control-plane) runs=() ;;
  *) echo "usage: scripts/schemathesis.sh pos|corpus|public|control-plane" >&2; exit 2 ;;
esac
if [ "$1" = control-plane ]; then
  data=$(mktemp -d)
  trap 'kill "${up:-}" 2>/dev/null; wait "${up:-}" 2>/dev/null; rm -rf "$data"' EXIT
  . scripts/up_on_free_ports.sh
  up_on_free_ports "$bin" "$data"
  echo "schemathesis: $admin/v1/openapi.yaml"
  report="$data/report.txt"
  if .venv/bin/schemathesis --no-color --config-file scripts/schemathesis-control-plane.toml run \
    "$admin/v1/openapi.yaml" --url "$admin" --max-examples "${EXAMPLES:-30}" --generation-deterministic \
    -H "Authorization: Bearer $operator" >"$report" 2>&1; then
    tail -n 2 "$report"
    exit 0
  fi
  cat "$report" >&2
  echo "schemathesis found problems in the control plane (above)" >&2
  exit 1
fi
log=$(mktemp)
report=$(mktemp)
emulator=""
trap '[ -n "$emulator" ] && kill "$emulator" 2>/dev/null; rm -f "$log" "$report"' EXIT
for run in "${runs[@]}"; do
  read -r served spec base <<<"$run"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  token="schemathesis-$$"
  "$bin" emulator --specs "$served" --listen "127.0.0.1:$port" --token "$token" --scrub-at never >"$log" 2>&1 &
  emulator=$!
  for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then break; fi
    kill -0 "$emulator" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "schemathesis: $spec"
  if .venv/bin/schemathesis --no-color "${global[@]}" run "$spec" --url "http://127.0.0.1:$port$base" "${checks[@]}" \
    --max-examples "${EXAMPLES:-30}" --generation-deterministic -H "Authorization: Bearer $token" >"$report" 2>&1; then
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
