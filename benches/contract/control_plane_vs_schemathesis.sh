#!/usr/bin/env bash
# `sandgate contract` against Schemathesis on the same spec and server, in one run (issue 19's
# benchmark): `sandgate up`'s control plane, the spec it serves (by URL), every check of each,
# no exception. ROUNDS rounds (default 3), the two tools alternating, each on a fresh server so
# neither meets the other's objects. Prints wall time, requests or test cases, and distinct
# findings of each, then the time ratio.
#   benches/contract/control_plane_vs_schemathesis.sh [SANDGATE_BIN]     (default target/release/sandgate)
# Needs .venv with scripts/requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/sandgate}
rounds=${ROUNDS:-3}
examples=${EXAMPLES:-30}
[ -x "$bin" ] || { echo "no $bin: cargo build --release -p sandgate-cli --bin sandgate" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill "${up:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

. scripts/up_on_free_ports.sh
start_up() { up_on_free_ports "$bin" "$work/data-$1"; token=$operator; }

stop_up() { kill "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true; }

now() { python3 -c 'import time; print(time.monotonic())'; }

for round in $(seq "$rounds"); do
  order="contract schemathesis"
  [ $((round % 2)) -eq 0 ] && order="schemathesis contract"
  for tool in $order; do
    start_up "$round-$tool"
    begin=$(now)
    if [ "$tool" = contract ]; then
      SANDGATE_BEARER="$token" "$bin" contract --spec "$admin/v1/openapi.yaml" --base-url "$admin" \
        --examples "$examples" --json "$work/contract.json" >"$work/contract.txt" 2>&1 || true
      end=$(now)
      summary=$(python3 -c "import json; r = json.load(open('$work/contract.json'))
print(f\"{r['requests']} requests, {len(r['findings'])} findings: \" + '; '.join(sorted({f['operation'] + ' ' + f['check'] for f in r['findings']})))")
    else
      .venv/bin/schemathesis --no-color run "$admin/v1/openapi.yaml" --url "$admin" --max-examples "$examples" \
        --generation-deterministic -H "Authorization: Bearer $token" >"$work/st.txt" 2>&1 || true
      end=$(now)
      cases=$(grep -oE '[0-9]+ generated' "$work/st.txt" | head -1)
      found=$(grep -E '^_{3,} .* _{3,}$' "$work/st.txt" | sed -E 's/^_+ (.*) _+$/\1/' | grep -v "Stateful tests" | sort -u | paste -sd ';' - || true)
      checks=$(grep -oE 'ST[0-9]+ [A-Za-z -]+: [0-9]+' "$work/st.txt" | paste -sd ';' - || true)
      summary="$cases test cases, findings: ${checks:-none} [${found}]"
    fi
    stop_up
    seconds=$(python3 -c "print(f'{$end - $begin:.1f}')")
    echo "round $round $tool: ${seconds}s, $summary"
    echo "$tool $seconds" >>"$work/times"
  done
done
python3 - "$work/times" <<'EOF'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    tool, seconds = line.split()
    times.setdefault(tool, []).append(float(seconds))
c, s = statistics.median(times["contract"]), statistics.median(times["schemathesis"])
print(f"median wall time: sandgate contract {c:.1f}s, schemathesis {s:.1f}s; contract/schemathesis {c / s:.3f}x")
EOF
