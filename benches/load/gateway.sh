#!/usr/bin/env bash
# Load benchmark of the Sandgate gateway on loopback, in one run:
#   direct       wrk straight at the upstream (an nginx server block answering a fixed small JSON body)
#   sandgate     wrk at Sandgate's PRODUCTION listener proxying to that upstream with the full chain
#                (token check, trust list, scopes, rate limit, version routing, access log)
#   nginx-proxy  wrk at a second nginx server block doing a plain keep-alive proxy_pass to the upstream
# Every target gets the same request: GET /pos-api/v2.5/client-id/<id>/i18n with a bearer token and
# an x-reference-id. Each round runs the three targets in a rotated order (2 s of wrk warm-up before
# each measured run); the report is the median per target of req/s, p50 and p99, plus the ratios
# sandgate/nginx-proxy and sandgate/direct. Raw wrk outputs and the summary are written to
# benches/load/results/<UTC timestamp>/. Everything started here is stopped on exit.
#
#   benches/load/gateway.sh                                  # release build (built when missing)
#   SANDGATE_BIN=target/debug/sandgate DURATION=3s ROUNDS=1 benches/load/gateway.sh   # quick check
#
# Env: SANDGATE_BIN (target/release/sandgate), DURATION (10s), CONNECTIONS (64), THREADS (2), ROUNDS (3).
set -euo pipefail

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
readonly CALLER_DIR="$PWD"

readonly DEFAULT_SANDGATE_BIN="target/release/sandgate"
SANDGATE_BIN="${SANDGATE_BIN:-$DEFAULT_SANDGATE_BIN}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
WARMUP="2s"

readonly REFERENCE_ID="3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11"
readonly BODY='{"translations":{"en":{"hello":"Hello"}}}'
readonly API_PREFIX="/pos-api/v2.5"
readonly TARGETS=(direct sandgate nginx-proxy)

WORK_DIR=""          # temporary: configs, data dir, logs (kept only when the run fails)
RESULTS_DIR=""       # benches/load/results/<UTC timestamp>
NGINX_BIN=""
NGINX_PID=""
SANDGATE_PID=""
UPSTREAM_PORT="" PROXY_PORT="" TRAINING_PORT="" PRODUCTION_PORT="" ADMIN_PORT=""
PROD_CLIENT_ID="" PROD_CLIENT_SECRET=""

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- lifecycle

# Stops one process we started: the given signal, then SIGKILL after 10 s.
stop_process() {
  local pid="$1" signal="$2"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# EXIT trap: stops Sandgate (SIGINT) and nginx (SIGTERM: the master stops its workers); removes the
# work dir on success or interrupt, keeps it (and says where) on failure.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_process "$SANDGATE_PID" INT
  stop_process "$NGINX_PID" TERM
  if [ -n "$WORK_DIR" ] && [ -d "$WORK_DIR" ]; then
    if [ "$status" -eq 0 ] || [ "$status" -ge 128 ]; then
      rm -rf "$WORK_DIR"
    else
      printf 'logs and configs kept in %s\n' "$WORK_DIR" >&2
    fi
  fi
  exit "$status"
}

# Prints the tail of every log we own, for failure messages.
print_log_tails() {
  local f
  for f in "$WORK_DIR/sandgate.log" "$WORK_DIR/nginx-error.log"; do
    [ -s "$f" ] || continue
    printf -- '--- tail of %s\n' "$f" >&2
    tail -n 20 "$f" | sed 's/\x1b\[[0-9;]*m//g' >&2
  done
}

# ---------------------------------------------------------------- prerequisites

# Checks the env parameters are sane before anything starts.
validate_parameters() {
  local name
  for name in CONNECTIONS THREADS ROUNDS; do
    [[ "${!name}" =~ ^[1-9][0-9]*$ ]] || die "$name must be a positive integer (got '${!name}')"
  done
  [[ "$DURATION" =~ ^[1-9][0-9]*[smh]?$ ]] || die "DURATION must look like 10s, 2m or 1h (got '$DURATION')"
  [ "$THREADS" -le "$CONNECTIONS" ] || die "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"
}

# Installs wrk and nginx-light with apt-get when missing (root or passwordless sudo), else stops.
install_missing_tools() {
  command -v python3 >/dev/null || die "python3 is required"
  "$REPO_ROOT/scripts/prereqs.sh" curl=curl wrk=wrk nginx=nginx-light || die "install the tools named above"
}

# Sets NGINX_BIN (Debian puts nginx in /usr/sbin, often not on a user's PATH).
locate_nginx() {
  NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
  [ -x "$NGINX_BIN" ] || die "nginx not found after install"
}

# Makes SANDGATE_BIN absolute: relative to the caller's directory when it exists there, else to the repo.
resolve_sandgate_bin() {
  case "$SANDGATE_BIN" in
    /*) ;;
    *) if [ -e "$CALLER_DIR/$SANDGATE_BIN" ]; then
         SANDGATE_BIN="$CALLER_DIR/$SANDGATE_BIN"
       else
         SANDGATE_BIN="$REPO_ROOT/$SANDGATE_BIN"
       fi ;;
  esac
}

# Builds the release binary when the default path is used and it is missing; an explicit
# SANDGATE_BIN that does not exist is an error (never silently built).
ensure_sandgate_bin() {
  [ -x "$SANDGATE_BIN" ] && return 0
  [ "$SANDGATE_BIN" = "$REPO_ROOT/$DEFAULT_SANDGATE_BIN" ] \
    || die "SANDGATE_BIN=$SANDGATE_BIN does not exist or is not executable"
  log "building $DEFAULT_SANDGATE_BIN (cargo build --release --bin sandgate; a few minutes on 2 cores)"
  "$REPO_ROOT/scripts/prereqs.sh"
  (cd "$REPO_ROOT" && cargo build --release --bin sandgate)
}

# Warns loudly up front when the binary is a debug build (the summary repeats it).
warn_if_debug_build() {
  case "$SANDGATE_BIN" in
    */debug/*) printf '\n!! WARNING: %s is a DEBUG build: the numbers will NOT be meaningful !!\n\n' \
      "$SANDGATE_BIN" >&2 ;;
  esac
}

# ---------------------------------------------------------------- setup

# Creates the temporary work dir and the timestamped results dir.
make_dirs() {
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/sandgate-bench.XXXXXX")"
  mkdir -p "$WORK_DIR/nginx-tmp"
  RESULTS_DIR="$SCRIPT_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$RESULTS_DIR"
}

# Picks five distinct free ephemeral ports on 127.0.0.1 (all held open while picking).
pick_ports() {
  local ports
  ports="$(python3 - <<'PY'
import socket
socks = []
for _ in range(5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
)"
  read -r UPSTREAM_PORT PROXY_PORT TRAINING_PORT PRODUCTION_PORT ADMIN_PORT <<<"$ports"
}

# Writes nginx.conf: the upstream server block and the plain proxy_pass block.
write_nginx_conf() {
  cat >"$WORK_DIR/nginx.conf" <<EOF
# Generated by benches/load/gateway.sh.
worker_processes 2;            # like Sandgate's 2 threads per listener
daemon off;
pid $WORK_DIR/nginx.pid;
error_log $WORK_DIR/nginx-error.log warn;

events { worker_connections 4096; }

http {
    client_body_temp_path $WORK_DIR/nginx-tmp/client_body;
    proxy_temp_path       $WORK_DIR/nginx-tmp/proxy;
    fastcgi_temp_path     $WORK_DIR/nginx-tmp/fastcgi;
    uwsgi_temp_path       $WORK_DIR/nginx-tmp/uwsgi;
    scgi_temp_path        $WORK_DIR/nginx-tmp/scgi;

    # nginx closes a keep-alive connection after 1000 requests by default (client side and
    # upstream side); Sandgate does not, so lift the cap to compare steady keep-alive with
    # steady keep-alive.
    keepalive_requests 1000000;

    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 128;
        keepalive_requests 1000000;
    }

    # "direct": the upstream itself.
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        access_log off;
        location / {
            default_type application/json;
            return 200 '$BODY';
        }
    }

    # "nginx-proxy": a plain reverse proxy, access log on (buffered) like Sandgate's.
    server {
        listen 127.0.0.1:$PROXY_PORT;
        access_log $WORK_DIR/nginx-access.log combined buffer=64k;
        location / {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

# Writes the Sandgate config: a rate-limit plan high enough never to throttle the benchmark.
write_sandgate_config() {
  cat >"$WORK_DIR/sandgate.yaml" <<'EOF'
# Generated by benches/load/gateway.sh.
sandgate:
  rate_limits:
    default_plan: bench
    plans:
      bench: {per_second: 10000000, burst: 10000000}
EOF
}

# Waits until GET <url> answers (any HTTP status) or the given process dies; 60 s at most.
wait_for_http() {
  local url="$1" pid="$2" what="$3"
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || { print_log_tails; die "$what exited during start-up"; }
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  print_log_tails
  die "$what did not answer $url within 60 s"
}

# Starts nginx (both server blocks) in the background.
start_nginx() {
  "$NGINX_BIN" -t -q -p "$WORK_DIR" -c "$WORK_DIR/nginx.conf" -e "$WORK_DIR/nginx-error.log" \
    || { print_log_tails; die "nginx rejected $WORK_DIR/nginx.conf"; }
  "$NGINX_BIN" -p "$WORK_DIR" -c "$WORK_DIR/nginx.conf" -e "$WORK_DIR/nginx-error.log" &
  NGINX_PID=$!
  wait_for_http "http://127.0.0.1:$UPSTREAM_PORT/" "$NGINX_PID" nginx
  wait_for_http "http://127.0.0.1:$PROXY_PORT/" "$NGINX_PID" nginx
}

# Starts `sandgate up` (stdout: one JSON line; stderr incl. the access log: sandgate.log) and waits
# for its JSON line.
start_sandgate() {
  (cd "$REPO_ROOT" && exec "$SANDGATE_BIN" up --json \
    --config "$WORK_DIR/sandgate.yaml" --data-dir "$WORK_DIR/data" --specs-dir specs \
    --training-listen "127.0.0.1:$TRAINING_PORT" \
    --production-listen "127.0.0.1:$PRODUCTION_PORT" \
    --admin-listen "127.0.0.1:$ADMIN_PORT" \
    --production-upstream "http://127.0.0.1:$UPSTREAM_PORT" \
    >"$WORK_DIR/sandgate-up.json" 2>>"$WORK_DIR/sandgate.log") &
  SANDGATE_PID=$!
  for _ in $(seq 1200); do
    kill -0 "$SANDGATE_PID" 2>/dev/null || { print_log_tails; die "sandgate up exited during start-up"; }
    grep -q '}' "$WORK_DIR/sandgate-up.json" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '}' "$WORK_DIR/sandgate-up.json" || { print_log_tails; die "sandgate up printed no JSON line within 120 s"; }
  wait_for_http "http://127.0.0.1:$PRODUCTION_PORT/" "$SANDGATE_PID" sandgate
}

# Prints one field of a JSON object read on stdin (empty when absent or not JSON).
json_field() {
  python3 -c 'import json, sys
try:
    print(json.load(sys.stdin).get(sys.argv[1]) or "")
except ValueError:
    pass' "$1"
}

# Gets a PRODUCTION credential for the demo application (created by `sandgate up`) the way an
# operator does: submit it for review and approve it through the control plane (`sandgate admin`).
issue_production_credential() {
  local out app admin=(--data-dir "$WORK_DIR/data" --url "http://127.0.0.1:$ADMIN_PORT")
  out="$("$SANDGATE_BIN" admin "${admin[@]}" apps list --partner "$(demo_partner_id)")" \
    || die "sandgate admin apps list failed: $out"
  app="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["applications"][0]["id"])' <<<"$out")"
  "$SANDGATE_BIN" admin "${admin[@]}" review submit --app "$app" --overview "load benchmark" \
    --justify merchant=bench --justify customer=bench --security-measures bench --post-deployment-plan bench >/dev/null \
    || die "sandgate admin review submit failed"
  out="$("$SANDGATE_BIN" admin "${admin[@]}" review approve "$app")" || die "sandgate admin review approve failed: $out"
  PROD_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["client_id"])' <<<"$out")"
  PROD_CLIENT_SECRET="$(json_field client_secret <<<"$out")"
  [[ "$PROD_CLIENT_ID" == prd_* && -n "$PROD_CLIENT_SECRET" ]] || die "unexpected review approve output: $out"
}

# Prints the id of the demo partner.
demo_partner_id() {
  "$SANDGATE_BIN" admin --data-dir "$WORK_DIR/data" --url "http://127.0.0.1:$ADMIN_PORT" partners list \
    | python3 -c 'import json,sys; print(next(p["id"] for p in json.load(sys.stdin)["partners"] if p["name"] == "Demo Partner"))'
}

# Prints a fresh PRODUCTION access token (client_credentials grant).
fetch_token() {
  local answer token
  answer="$(curl -sS -X POST "http://127.0.0.1:$PRODUCTION_PORT$API_PREFIX/oauth/token" \
    -H "x-reference-id: $REFERENCE_ID" -d grant_type=client_credentials \
    -d "client_id=$PROD_CLIENT_ID" -d "client_secret=$PROD_CLIENT_SECRET")" || true
  token="$(json_field access_token <<<"$answer")"
  [ -n "$token" ] || { print_log_tails; die "no access_token from the token endpoint; answer: $answer"; }
  printf '%s\n' "$token"
}

# Writes the wrk Lua script that puts the same headers on every request of every target.
write_wrk_script() {
  local token="$1"
  cat >"$WORK_DIR/headers.lua" <<EOF
-- Generated by benches/load/gateway.sh: the same headers for every target.
wrk.headers["authorization"] = "Bearer $token"
wrk.headers["x-reference-id"] = "$REFERENCE_ID"
EOF
}

# Prints the benchmarked URL of a target.
target_url() {
  local port
  case "$1" in
    direct) port="$UPSTREAM_PORT" ;;
    sandgate) port="$PRODUCTION_PORT" ;;
    nginx-proxy) port="$PROXY_PORT" ;;
    *) die "unknown target $1" ;;
  esac
  printf 'http://127.0.0.1:%s%s/client-id/%s/i18n\n' "$port" "$API_PREFIX" "$PROD_CLIENT_ID"
}

# Checks once with curl that a target answers 200, application/json and the expected body.
check_target() {
  local target="$1" token="$2" url meta body
  url="$(target_url "$target")"
  meta="$(curl -sS -o "$WORK_DIR/check-$target.body" -w '%{http_code} %{content_type}' \
    -H "authorization: Bearer $token" -H "x-reference-id: $REFERENCE_ID" "$url")" || meta="curl-failed"
  body="$(cat "$WORK_DIR/check-$target.body" 2>/dev/null || true)"
  if [[ "$meta" != "200 application/json"* || "$body" != "$BODY" ]]; then
    printf 'GET %s -> %s\n%s\n' "$url" "$meta" "$body" >&2
    print_log_tails
    die "target $target does not answer 200 with the expected JSON body"
  fi
  log "check $target: 200 $body"
}

# Fails when Sandgate's access log shows no request line (it is part of the measured chain).
check_access_log_on() {
  grep -q 'sandgate::access' "$WORK_DIR/sandgate.log" \
    || die "no sandgate::access line in $WORK_DIR/sandgate.log: the access log must be on"
}

# ---------------------------------------------------------------- measuring

# Runs wrk against a target, writing its output to a file; fails on wrk errors and non-2xx answers.
run_wrk() {
  local target="$1" duration="$2" out="$3" non2xx
  if ! wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "$duration" -s "$WORK_DIR/headers.lua" \
      "$(target_url "$target")" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed against $target"
  fi
  grep -q '^Requests/sec:' "$out" || { cat "$out" >&2; die "no Requests/sec in wrk output for $target"; }
  non2xx="$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out")"
  if [ -n "$non2xx" ] && [ "$non2xx" -gt 0 ]; then
    cat "$out" >&2
    print_log_tails
    die "$target answered $non2xx non-2xx responses (see $out)"
  fi
}

# Prints the targets in round N's order: the list rotated left by N-1.
rotated_targets() {
  local round="$1" n=${#TARGETS[@]} i
  for ((i = 0; i < n; i++)); do
    printf '%s ' "${TARGETS[$(((i + round - 1) % n))]}"
  done
}

# CPU ticks (user + system) used so far by the processes serving `target`: Sandgate's process,
# or every nginx process (master and workers; both nginx targets run there).
cpu_ticks() {
  local target="$1" pids pid total=0
  if [ "$target" = sandgate ]; then pids="$SANDGATE_PID"; else pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; fi
  for pid in $pids; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# One round: a fresh token (so long runs never outlive it), then warm-up + measurement per target.
run_round() {
  local round="$1" target token out
  token="$(fetch_token)"
  write_wrk_script "$token"
  for target in $(rotated_targets "$round"); do
    log "round $round/$ROUNDS: $target (warm-up $WARMUP, then $DURATION)"
    run_wrk "$target" "$WARMUP" "$WORK_DIR/warmup-round$round-$target.txt"
    out="$RESULTS_DIR/round$round-$target.txt"
    local before after
    before="$(cpu_ticks "$target")"
    run_wrk "$target" "$DURATION" "$out"
    after="$(cpu_ticks "$target")"
    echo "$((after - before)) $(getconf CLK_TCK)" >"$RESULTS_DIR/round$round-$target.cpu"
    printf '    %s\n' "$(grep -E '^Requests/sec:|^ +99%' "$out" | tr -s ' ' | paste -sd ' ')" >&2
  done
}

# ---------------------------------------------------------------- report

# Prints Sandgate's access-log line count for the benchmarked path (a proof the log kept up).
count_access_lines() {
  grep -c "sandgate::access.*client-id/$PROD_CLIENT_ID/i18n" "$WORK_DIR/sandgate.log" || true
}

# Parses the raw wrk outputs and writes summary.txt / summary.json to the results dir (and prints it).
write_summary() {
  local build="release"
  case "$SANDGATE_BIN" in
    */debug/*) build="DEBUG" ;;
    */release/*) build="release" ;;
    *) build="unknown (not under target/debug or target/release)" ;;
  esac
  RESULTS_DIR="$RESULTS_DIR" ROUNDS="$ROUNDS" DURATION="$DURATION" WARMUP="$WARMUP" \
  CONNECTIONS="$CONNECTIONS" THREADS="$THREADS" TARGET_LIST="${TARGETS[*]}" \
  SANDGATE_BIN="$SANDGATE_BIN" BUILD="$build" NPROC="$(nproc)" KERNEL="$(uname -r)" \
  NGINX_VERSION="$("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')" \
  WRK_VERSION="$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)" \
  ACCESS_LINES="$(count_access_lines)" WORK_DIR="$WORK_DIR" REQUEST_PATH="$API_PREFIX/client-id/$PROD_CLIENT_ID/i18n" \
  python3 - <<'PY'
import json, os, re, statistics, sys
from datetime import datetime, timezone

env = os.environ
results, rounds, targets = env["RESULTS_DIR"], int(env["ROUNDS"]), env["TARGET_LIST"].split()
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}

def latency_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNITS_MS[m.group(2)]

def parse(path):
    text = open(path).read()
    def find(pattern):
        m = re.search(pattern, text, re.M)
        return m.group(1) if m else None
    errors = find(r"^\s*Socket errors: (.*)$")
    return {
        "rps": float(find(r"^Requests/sec:\s+([0-9.]+)")),
        "p50_ms": latency_ms(find(r"^\s+50%\s+(\S+)")),
        "p99_ms": latency_ms(find(r"^\s+99%\s+(\S+)")),
        "requests": int(find(r"^\s+(\d+) requests in")),
        "non2xx": int(find(r"Non-2xx or 3xx responses: (\d+)") or 0),
        "socket_errors": errors or "",
    }

def cpu_us_per_request(path, requests):
    ticks, hz = map(int, open(path).read().split())
    return ticks / hz * 1e6 / max(requests, 1)

runs = {t: [parse(f"{results}/round{r}-{t}.txt") for r in range(1, rounds + 1)] for t in targets}
for t in targets:
    for r, run in enumerate(runs[t], start=1):
        run["cpu_us"] = cpu_us_per_request(f"{results}/round{r}-{t}.cpu", run["requests"])
median = {t: {k: statistics.median(run[k] for run in runs[t]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us")}
          for t in targets}
s, n, d = median["sandgate"], median["nginx-proxy"], median["direct"]
ratios = {
    "sandgate/nginx req/s": s["rps"] / n["rps"],
    "sandgate/nginx p99": s["p99_ms"] / n["p99_ms"],
    "sandgate/direct req/s": s["rps"] / d["rps"],
    "sandgate/direct p99": s["p99_ms"] / d["p99_ms"],
    "sandgate/nginx cpu per request": s["cpu_us"] / max(n["cpu_us"] - d["cpu_us"], 1e-9),
}
meets = {"req/s": ratios["sandgate/nginx req/s"] >= 1.0, "p99": ratios["sandgate/nginx p99"] <= 1.2}
debug = env["BUILD"] == "DEBUG"
# every request wrk completed against Sandgate (warm-ups too) plus the one curl check
sandgate_requests = 1 + sum(r["requests"] for r in runs["sandgate"]) + sum(
    parse(f"{env['WORK_DIR']}/warmup-round{r}-sandgate.txt")["requests"] for r in range(1, rounds + 1))

out = []
p = out.append
p(f"Sandgate load benchmark, finished {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}")
p(f"request   GET {env['REQUEST_PATH']} (bearer token + x-reference-id on every target)")
p(f"wrk       {env['THREADS']} threads, {env['CONNECTIONS']} connections, {env['DURATION']} per run, "
  f"{env['WARMUP']} warm-up before each run; {rounds} round(s) in rotated order, median per target")
p("")
p(f"{'target':<12} {'req/s':>11} {'p50':>10} {'p99':>10} {'CPU/req':>10}")
for t in targets:
    m = median[t]
    p(f"{t:<12} {m['rps']:>11.0f} {m['p50_ms']:>8.2f}ms {m['p99_ms']:>8.2f}ms {m['cpu_us']:>8.1f}us")
# nginx serves both nginx targets: its proxying alone costs the proxy target's CPU less the
# direct target's (the upstream block's work).
nginx_proxy_cpu = median["nginx-proxy"]["cpu_us"] - median["direct"]["cpu_us"]
p(f"CPU/req: CPU seconds of the serving processes / requests (Sandgate alone; nginx's proxying "
  f"alone = nginx-proxy - direct = {nginx_proxy_cpu:.1f}us)")
p(f"sandgate/nginx  CPU per proxied request {median['sandgate']['cpu_us'] / max(nginx_proxy_cpu, 1e-9):.2f}x")
p("")
p(f"sandgate/nginx  req/s {ratios['sandgate/nginx req/s']:.2f}x  (target >= 1.0x: {'met' if meets['req/s'] else 'NOT met'})")
p(f"sandgate/nginx  p99   {ratios['sandgate/nginx p99']:.2f}x  (target <= 1.2x: {'met' if meets['p99'] else 'NOT met'})")
p(f"sandgate/direct req/s {ratios['sandgate/direct req/s']:.2f}x   p99 {ratios['sandgate/direct p99']:.2f}x")
if rounds > 1:
    p("")
    p("per round (req/s, p99):")
    p(f"  {'':<12}" + "".join(f"{'round ' + str(i):>22}" for i in range(1, rounds + 1)))
    for t in targets:
        p(f"  {t:<12}" + "".join(f"{r['rps']:>11.0f} {r['p99_ms']:>8.2f}ms" for r in runs[t]))
errors = [(t, i + 1, r["socket_errors"]) for t in targets for i, r in enumerate(runs[t]) if r["socket_errors"]]
for t, i, e in errors:
    p(f"WARNING: socket errors, {t} round {i}: {e}")
p("")
p("machine")
p(f"  nproc {env['NPROC']}, kernel {env['KERNEL']}; wrk, nginx and Sandgate share these cores")
p(f"  sandgate  {env['SANDGATE_BIN']} ({env['BUILD']} build); access log on (INFO, stderr to a file): "
  f"{env['ACCESS_LINES']} lines for the benchmarked path")
p(f"            for {sandgate_requests} requests completed (wrk incl. warm-ups, + 1 curl; requests in flight "
  "when wrk stops are logged too)")
p(f"  nginx     {env['NGINX_VERSION']}, worker_processes 2 (like Sandgate's 2 threads per listener); "
  "proxy block logs to a file (combined, buffer=64k), upstream block access_log off")
p(f"  wrk       {env['WRK_VERSION']}")
if debug:
    lines = ["WARNING: SANDGATE_BIN is a DEBUG build: these numbers are NOT meaningful.",
             "Use the default release build (target/release/sandgate) for real numbers."]
    width = max(map(len, lines))
    p("")
    p("!" * (width + 6))
    for line in lines:
        p(f"!! {line:<{width}} !!")
    p("!" * (width + 6))

text = "\n".join(out) + "\n"
open(f"{results}/summary.txt", "w").write(text)
json.dump({"parameters": {k: env[k] for k in ("DURATION", "WARMUP", "CONNECTIONS", "THREADS", "ROUNDS")},
           "runs": runs, "median": median, "ratios": ratios, "meets_targets": meets,
           "machine": {"nproc": int(env["NPROC"]), "kernel": env["KERNEL"], "sandgate_bin": env["SANDGATE_BIN"],
                       "build": env["BUILD"], "nginx": env["NGINX_VERSION"], "wrk": env["WRK_VERSION"]}},
          open(f"{results}/summary.json", "w"), indent=2)
sys.stdout.write(text)
PY
}

# ---------------------------------------------------------------- main

main() {
  local token round target
  validate_parameters
  install_missing_tools
  locate_nginx
  resolve_sandgate_bin
  ensure_sandgate_bin
  warn_if_debug_build
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  make_dirs
  pick_ports
  log "ports: upstream $UPSTREAM_PORT, nginx-proxy $PROXY_PORT, sandgate production $PRODUCTION_PORT; work dir $WORK_DIR"

  write_nginx_conf
  start_nginx
  write_sandgate_config
  start_sandgate
  issue_production_credential

  token="$(fetch_token)"
  for target in "${TARGETS[@]}"; do
    check_target "$target" "$token"
  done
  check_access_log_on

  for ((round = 1; round <= ROUNDS; round++)); do
    run_round "$round"
  done

  echo
  write_summary
  echo
  echo "raw wrk outputs and summary: ${RESULTS_DIR#"$REPO_ROOT/"}/"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
