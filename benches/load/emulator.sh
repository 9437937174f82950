#!/usr/bin/env bash
# Load benchmark of the emulator beside Prism, in one run, on the same spec and the same requests:
#   sandgate   `sandgate emulator` (validates, checks scenarios and state, fabricates; release build)
#   prism      `prism mock -d` (@stoplight/prism-cli, dynamic fabrication), installed here from npm
# For each: start-up time (process start to first accepted connection), req/s and p50/p99 under
# wrk, and RSS after the load; then the ratios sandgate/prism. The request is the POS API's
# customer search, valid, with a bearer token and an x-reference-id. Raw outputs and the summary go
# to benches/load/results/emulator-<UTC timestamp>/.
#
#   benches/load/emulator.sh
#   DURATION=5s ROUNDS=1 benches/load/emulator.sh        # quicker
#
# Then start-up alone on the whole POS folder (sandgate), and start-up and settled RSS of both on
# Stripe's 4.9 MB spec (emulator/tests/fixtures/stripe).
#
# Env: SANDGATE_BIN (target/release/sandgate), PRISM_VERSION (5.16.0), DURATION (10s),
# CONNECTIONS (32), THREADS (2, wrk's), SANDGATE_THREADS (nproc, the emulator's), ROUNDS (3), STARTS (9, start-ups measured per target on POS),
# STRIPE_STARTS (3), PRISM_STRIPE_TIMEOUT (300 s; one start).
set -euo pipefail
cd "$(dirname "$0")/../.."

SANDGATE_BIN="${SANDGATE_BIN:-target/release/sandgate}"
PRISM_VERSION="${PRISM_VERSION:-5.16.0}"
DURATION="${DURATION:-10s}" CONNECTIONS="${CONNECTIONS:-32}" THREADS="${THREADS:-2}" ROUNDS="${ROUNDS:-3}"
STARTS="${STARTS:-9}" SANDGATE_THREADS="${SANDGATE_THREADS:-$(nproc)}" STRIPE_STARTS="${STRIPE_STARTS:-3}" PRISM_STRIPE_TIMEOUT="${PRISM_STRIPE_TIMEOUT:-300}"
SPEC=specs/pos-api/v2.5.yaml
QUERY="first_name=John&last_name=Smith&dob=1980-01-01"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null || scripts/prereqs.sh wrk=wrk || die "install wrk (apt-get install wrk)"
command -v npm >/dev/null || die "install Node.js and npm (Prism comes from npm)"
prism_dir=benches/load/.prism
if [ ! -x "$prism_dir/node_modules/.bin/prism" ]; then
  log "installing @stoplight/prism-cli@$PRISM_VERSION into $prism_dir"
  npm install --silent --prefix "$prism_dir" "@stoplight/prism-cli@$PRISM_VERSION" >/dev/null
fi
if [ ! -x "$SANDGATE_BIN" ]; then
  log "building $SANDGATE_BIN"
  cargo build --release --quiet -p sandgate-cli --bin sandgate
fi

results="benches/load/results/emulator-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
work=$(mktemp -d)
pid="" startup_ms=0
cleanup() { [ -n "$pid" ] && kill -- "-$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# Both serve the same single document (Prism knows nothing of x-sandgate-extends or scenarios).
mkdir "$work/specs" && cp "$SPEC" "$work/specs/"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME PORT RUNS CMD… : starts a target RUNS times (benches/load/startup.py); sets pid (the
# last start, left running, leading its own process group) and startup_ms (median, process start
# to first accepted connection).
start() { try_start 120 "$@" || die "$1 did not start; see $results/$1.log"; }

# try_start TIMEOUT_S NAME PORT RUNS CMD… : start, but returns 1 when the target does not listen
# within TIMEOUT_S seconds (it is then killed).
try_start() {
  local timeout="$1" name="$2" port="$3" runs="$4"; shift 4
  local out
  out=$(python3 benches/load/startup.py --port "$port" --runs "$runs" --timeout "$timeout" \
    --log "$results/$name.log" -- "$@") || return 1
  read -r startup_ms pid <<<"$out"
}

# stop : stops the running target and its children.
stop() {
  kill -- "-$pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  pid=""
}

# rss_mb PID: resident memory of the process and its children, in MB.
rss_mb() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$(( total + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
  done
  echo $(( total / 1024 ))
}

# measure NAME URL : wrk rounds; prints "req/s p50 p99" (medians over the rounds).
measure() {
  local name="$1" url="$2" round
  local headers=(-H "authorization: Bearer bench" -H "x-reference-id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301")
  curl -sf "${headers[@]}" "$url" >/dev/null || die "$name does not answer 200 at $url"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d 2s "${headers[@]}" "$url" >/dev/null
  for round in $(seq "$ROUNDS"); do
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency "${headers[@]}" "$url" >"$results/$name-$round.txt"
  done
  python3 - "$results" "$name" "$ROUNDS" <<'PY'
import re, statistics, sys
results, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps, p50, p99 = [], [], []
for r in range(1, rounds + 1):
    out = open(f"{results}/{name}-{r}.txt").read()
    rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))
    p50.append(ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)))
    p99.append(ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{name}: {errors.group(1)} non-2xx answers in round {r}")
print(f"{statistics.median(rps):.0f} {statistics.median(p50):.2f} {statistics.median(p99):.2f}")
PY
}

# settled_rss_mb URL : RSS of the running target once it has been idle a second and answered one
# request (what stays resident with the spec loaded, not the parsing peak).
settled_rss_mb() { sleep 1; curl -s -o /dev/null "$1" || true; rss_mb "$pid"; }

# The POS API under load (one document: Prism knows nothing of x-sandgate-extends or scenarios).
port=$(free_port)
log "sandgate emulator on :$port (POS, $STARTS starts)"
start sandgate "$port" "$STARTS" "$SANDGATE_BIN" emulator --specs "$work/specs" --listen "127.0.0.1:$port" \
  --scrub-at never --threads "$SANDGATE_THREADS"
sandgate_start=$startup_ms
read -r sandgate_rps sandgate_p50 sandgate_p99 < <(measure sandgate "http://127.0.0.1:$port/pos-api/v2.5/client-id/demo/customers/search?$QUERY")
sandgate_rss=$(rss_mb "$pid"); stop

port=$(free_port)
log "prism mock -d on :$port (POS, $STARTS starts)"
start prism "$port" "$STARTS" "$prism_dir/node_modules/.bin/prism" mock -d -h 127.0.0.1 -p "$port" "$work/specs/$(basename "$SPEC")"
prism_start=$startup_ms
read -r prism_rps prism_p50 prism_p99 < <(measure prism "http://127.0.0.1:$port/client-id/demo/customers/search?$QUERY")
prism_rss=$(rss_mb "$pid"); stop

# Sandgate alone on the whole POS folder (both versions and the scenarios), as `sandgate up` serves it.
port=$(free_port)
log "sandgate emulator on :$port (the specs/pos-api folder, $STARTS starts)"
start sandgate-pos-folder "$port" "$STARTS" "$SANDGATE_BIN" emulator --specs specs/pos-api --listen "127.0.0.1:$port" --scrub-at never
folder_start=$startup_ms; stop

# Stripe's 4.9 MB spec: start-up and resident memory with it loaded.
mkdir "$work/stripe"
python3 -c 'import gzip, sys; sys.stdout.write(gzip.open(sys.argv[1], "rt").read())' \
  emulator/tests/fixtures/stripe/spec3.json.gz >"$work/stripe/spec3.json"
port=$(free_port)
log "sandgate emulator on :$port (Stripe, $STRIPE_STARTS starts)"
start sandgate-stripe "$port" "$STRIPE_STARTS" "$SANDGATE_BIN" emulator --specs "$work/stripe" --listen "127.0.0.1:$port" --scrub-at never
sandgate_stripe_start=$startup_ms
sandgate_stripe_rss=$(settled_rss_mb "http://127.0.0.1:$port/v1/customers"); stop
port=$(free_port)
log "prism mock -d on :$port (Stripe, $STRIPE_STARTS starts)"
# Prism may not get there at all (it did not within 120 s on this machine): one start, and its
# absence is reported rather than failing the run.
if try_start "$PRISM_STRIPE_TIMEOUT" prism-stripe "$port" 1 "$prism_dir/node_modules/.bin/prism" mock -d \
  -h 127.0.0.1 -p "$port" "$work/stripe/spec3.json"; then
  prism_stripe_start=$startup_ms
  prism_stripe_rss=$(settled_rss_mb "http://127.0.0.1:$port/v1/customers"); stop
else
  prism_stripe_start=None prism_stripe_rss=None
fi

summary=$(python3 - <<PY
s = dict(rps=$sandgate_rps, p50=$sandgate_p50, p99=$sandgate_p99, start=$sandgate_start, rss=$sandgate_rss)
p = dict(rps=$prism_rps, p50=$prism_p50, p99=$prism_p99, start=$prism_start, rss=$prism_rss)
print("POS API v2.5, customer search under load:")
print(f"{'':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'start ms':>9} {'RSS MB':>7}")
for name, r in (("sandgate", s), ("prism", p)):
    print(f"{name:10} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['start']:>9} {r['rss']:>7}")
print(f"sandgate/prism: req/s {s['rps'] / p['rps']:.1f}x, p99 {s['p99'] / p['p99']:.3f}x, "
      f"start-up {s['start'] / p['start']:.3f}x, RSS {s['rss'] / max(p['rss'], 1):.2f}x")
print(f"sandgate on the specs/pos-api folder (2 versions + scenarios): start-up {$folder_start} ms (target < 50)")
print()
print("Stripe's spec (4.9 MB JSON), loaded and idle:")
print(f"{'':10} {'start ms':>9} {'RSS MB':>7}")
print(f"{'sandgate':10} {$sandgate_stripe_start:>9} {$sandgate_stripe_rss:>7}   (targets < 1000 ms, < 100 MB)")
if $prism_stripe_start is None:
    print(f"prism      did not listen within $PRISM_STRIPE_TIMEOUT s "
          f"(sandgate/prism start-up < {$sandgate_stripe_start / ($PRISM_STRIPE_TIMEOUT * 1000):.4f}x)")
else:
    print(f"{'prism':10} {$prism_stripe_start:>9} {$prism_stripe_rss:>7}")
    print(f"sandgate/prism: start-up {$sandgate_stripe_start / $prism_stripe_start:.3f}x, "
          f"RSS {$sandgate_stripe_rss / max($prism_stripe_rss, 1):.2f}x")
PY
)
printf '%s\n' "$summary" | tee "$results/summary.txt"
echo "($CONNECTIONS connections, $THREADS wrk threads, $ROUNDS x $DURATION, medians; start-up: median of $STARTS starts, $STRIPE_STARTS on Stripe; raw: $results)"
