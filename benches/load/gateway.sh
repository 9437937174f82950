#!/usr/bin/env bash
# Load benchmark of the Sandgate gateway on loopback, in one run:
#   direct          wrk straight at the upstream (an nginx server block answering a fixed small JSON body)
#   nginx-proxy     a second nginx server block doing a plain keep-alive proxy_pass to the upstream
#   bare-pingora    a Pingora proxy that only picks the peer (benches/src/bin/bare_pingora.rs: the same
#                   Pingora, allocator, profile and server settings as Sandgate), to the upstream
#   same-wire       the same binary with --same-wire: the wire work Sandgate asks of Pingora (timeouts,
#                   retry buffering, the headers it takes off and puts on) with fixed values, so
#                   sandgate/same-wire is the cost of Sandgate's own callbacks alone
#   sandgate        Sandgate's PRODUCTION listener proxying to the upstream with the full chain
#                   (token check, trust list, scopes, rate limit, version routing, access log)
#   nginx-training  nginx proxying to a block that serves a fixed body: the TRAINING answer, captured
#   training        Sandgate's TRAINING listener: the full chain, then the in-process emulator answering
#                   customers/search
#   pingora-answer  bare-pingora --answer: Pingora answering every request from request_filter with the
#                   captured TRAINING answer, written as Sandgate writes it, so training/pingora-answer
#                   is the cost of Sandgate's TRAINING chain and emulator alone
# The PRODUCTION targets get GET /pos-api/v2.5/client-id/<prd id>/i18n, the TRAINING ones
# GET /pos-api/v2.5/client-id/<trn id>/customers/search?..., each with a bearer token and an
# x-reference-id. Each round runs the targets in a rotated order (2 s of wrk warm-up before each
# measured run); the report is the median per target of req/s, p50, p99 and CPU per request, plus
# the ratios the issue sets targets on. Raw wrk outputs and the summary are written to
# benches/load/results/<UTC timestamp>/. Everything started here is stopped on exit.
#
#   benches/load/gateway.sh                                  # release build (built when missing)
#   SANDGATE_BIN=target/debug/sandgate DURATION=3s ROUNDS=1 benches/load/gateway.sh   # quick check
#
# Env: SANDGATE_BIN (target/release/sandgate), BARE_PINGORA_BIN (target/release/bare-pingora),
#      DURATION (10s), CONNECTIONS (64), THREADS (2), ROUNDS (3).
set -euo pipefail

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
readonly CALLER_DIR="$PWD"

readonly DEFAULT_SANDGATE_BIN="target/release/sandgate"
SANDGATE_BIN="${SANDGATE_BIN:-$DEFAULT_SANDGATE_BIN}"
readonly DEFAULT_BARE_BIN="target/release/bare-pingora"
BARE_PINGORA_BIN="${BARE_PINGORA_BIN:-$DEFAULT_BARE_BIN}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
WARMUP="2s"

readonly REFERENCE_ID="3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11"
readonly BODY='{"translations":{"en":{"hello":"Hello"}}}'
readonly API_PREFIX="/pos-api/v2.5"
readonly TRAINING_QUERY="first_name=John&last_name=Smith&dob=1980-01-01"
readonly TARGETS=(direct nginx-proxy bare-pingora same-wire sandgate nginx-training training pingora-answer)

WORK_DIR=""          # temporary: configs, data dir, logs (kept only when the run fails)
RESULTS_DIR=""       # benches/load/results/<UTC timestamp>
NGINX_BIN=""
NGINX_PID=""
SANDGATE_PID=""
BARE_PID=""
SAME_WIRE_PID=""
ANSWER_PID=""
UPSTREAM_PORT="" PROXY_PORT="" TRAINING_PORT="" PRODUCTION_PORT="" ADMIN_PORT="" PORTAL_PORT=""
BARE_PORT="" SAME_WIRE_PORT="" FIXED_PORT="" FIXED_PROXY_PORT="" ANSWER_PORT=""
PROD_CLIENT_ID="" PROD_CLIENT_SECRET="" TRN_CLIENT_ID="" TRN_CLIENT_SECRET=""

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
  stop_process "$BARE_PID" INT
  stop_process "$SAME_WIRE_PID" INT
  stop_process "$ANSWER_PID" INT
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
  for f in "$WORK_DIR/sandgate.log" "$WORK_DIR/bare-pingora.log" "$WORK_DIR/nginx-error.log"; do
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

# Prints a binary path made absolute: relative to the caller's directory when it exists there,
# else to the repo.
absolute_bin() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) if [ -e "$CALLER_DIR/$1" ]; then printf '%s\n' "$CALLER_DIR/$1"; else printf '%s\n' "$REPO_ROOT/$1"; fi ;;
  esac
}

resolve_sandgate_bin() {
  SANDGATE_BIN="$(absolute_bin "$SANDGATE_BIN")"
  BARE_PINGORA_BIN="$(absolute_bin "$BARE_PINGORA_BIN")"
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

# The same for the bare-Pingora baseline (built with the release profile, like Sandgate).
ensure_bare_pingora_bin() {
  [ -x "$BARE_PINGORA_BIN" ] && return 0
  [ "$BARE_PINGORA_BIN" = "$REPO_ROOT/$DEFAULT_BARE_BIN" ] \
    || die "BARE_PINGORA_BIN=$BARE_PINGORA_BIN does not exist or is not executable"
  log "building $DEFAULT_BARE_BIN (cargo build --release -p sandgate-benches --bin bare-pingora)"
  (cd "$REPO_ROOT" && cargo build --release -p sandgate-benches --bin bare-pingora)
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

# Picks ten distinct free ephemeral ports on 127.0.0.1 (all held open while picking).
pick_ports() {
  local ports
  ports="$(python3 - <<'PY'
import socket
socks = []
for _ in range(11):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
)"
  read -r UPSTREAM_PORT PROXY_PORT TRAINING_PORT PRODUCTION_PORT ADMIN_PORT BARE_PORT FIXED_PORT FIXED_PROXY_PORT PORTAL_PORT \
    SAME_WIRE_PORT ANSWER_PORT <<<"$ports"
}

# Writes nginx.conf: the upstream server block, the plain proxy_pass block, and for the TRAINING
# comparison a block serving the captured TRAINING answer from a file and a proxy in front of it.
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

    upstream fixed_upstream {
        server 127.0.0.1:$FIXED_PORT;
        keepalive 128;
        keepalive_requests 1000000;
    }

    # The TRAINING answer as a fixed body (written once Sandgate has answered it), kept open.
    server {
        listen 127.0.0.1:$FIXED_PORT;
        access_log off;
        open_file_cache max=16 inactive=1h;
        open_file_cache_valid 1h;
        root $WORK_DIR;
        location / {
            default_type application/json;
            try_files /training-body.json =404;
        }
    }

    # "nginx-training": a plain reverse proxy to that fixed body.
    server {
        listen 127.0.0.1:$FIXED_PROXY_PORT;
        access_log $WORK_DIR/nginx-training-access.log combined buffer=64k;
        location / {
            proxy_pass http://fixed_upstream;
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

# Starts the bare-Pingora baseline (as many workers as Sandgate: one per CPU) in front of the upstream.
start_bare_pingora() {
  "$BARE_PINGORA_BIN" "127.0.0.1:$BARE_PORT" "127.0.0.1:$UPSTREAM_PORT" "$(nproc)" 2>"$WORK_DIR/bare-pingora.log" &
  BARE_PID=$!
  wait_for_http "http://127.0.0.1:$BARE_PORT/" "$BARE_PID" bare-pingora
  "$BARE_PINGORA_BIN" "127.0.0.1:$SAME_WIRE_PORT" "127.0.0.1:$UPSTREAM_PORT" "$(nproc)" --same-wire \
    2>"$WORK_DIR/same-wire.log" &
  SAME_WIRE_PID=$!
  wait_for_http "http://127.0.0.1:$SAME_WIRE_PORT/" "$SAME_WIRE_PID" "bare-pingora --same-wire"
}

# Starts the TRAINING floor: bare Pingora answering every request with the captured TRAINING answer.
start_pingora_answer() {
  "$BARE_PINGORA_BIN" "127.0.0.1:$ANSWER_PORT" "127.0.0.1:$UPSTREAM_PORT" "$(nproc)" \
    --answer="$WORK_DIR/training-body.json" 2>"$WORK_DIR/pingora-answer.log" &
  ANSWER_PID=$!
  wait_for_http "http://127.0.0.1:$ANSWER_PORT/" "$ANSWER_PID" "bare-pingora --answer"
}

# Starts `sandgate up` (stdout: one JSON line; stderr incl. the access log: sandgate.log) and waits
# for its JSON line.
start_sandgate() {
  (cd "$REPO_ROOT" && exec "$SANDGATE_BIN" up --json \
    --config "$WORK_DIR/sandgate.yaml" --data-dir "$WORK_DIR/data" --specs-dir specs \
    --training-listen "127.0.0.1:$TRAINING_PORT" \
    --production-listen "127.0.0.1:$PRODUCTION_PORT" \
    --admin-listen "127.0.0.1:$ADMIN_PORT" \
    --portal-listen "127.0.0.1:$PORTAL_PORT" \
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
  TRN_CLIENT_ID="$(json_field client_id <"$WORK_DIR/sandgate-up.json")"
  TRN_CLIENT_SECRET="$(json_field client_secret <"$WORK_DIR/sandgate-up.json")"
  [[ -n "$TRN_CLIENT_ID" && -n "$TRN_CLIENT_SECRET" ]] || die "sandgate up --json printed no demo credential"
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
# operator does: submit it for review, approve it, then issue it through the control plane (`sandgate admin`).
issue_production_credential() {
  local out app admin=(--data-dir "$WORK_DIR/data" --url "http://127.0.0.1:$ADMIN_PORT")
  out="$("$SANDGATE_BIN" admin "${admin[@]}" apps list --partner "$(demo_partner_id)")" \
    || die "sandgate admin apps list failed: $out"
  app="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["applications"][0]["id"])' <<<"$out")"
  "$SANDGATE_BIN" admin "${admin[@]}" review submit --app "$app" --overview "load benchmark" \
    --justify merchant=bench --justify customer=bench --security-measures bench --post-deployment-plan bench >/dev/null \
    || die "sandgate admin review submit failed"
  out="$("$SANDGATE_BIN" admin "${admin[@]}" review approve "$app")" || die "sandgate admin review approve failed: $out"
  # Approval opens PRODUCTION; the credential is issued afterwards, its secret printed once.
  out="$("$SANDGATE_BIN" admin "${admin[@]}" credentials issue --app "$app" --environment production)" \
    || die "sandgate admin credentials issue failed: $out"
  PROD_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["client_id"])' <<<"$out")"
  PROD_CLIENT_SECRET="$(json_field client_secret <<<"$out")"
  [[ "$PROD_CLIENT_ID" == prd_* && -n "$PROD_CLIENT_SECRET" ]] || die "unexpected review approve output: $out"
}

# Prints the id of the demo partner.
demo_partner_id() {
  "$SANDGATE_BIN" admin --data-dir "$WORK_DIR/data" --url "http://127.0.0.1:$ADMIN_PORT" partners list \
    | python3 -c 'import json,sys; print(next(p["id"] for p in json.load(sys.stdin)["partners"] if p["name"] == "Demo Partner"))'
}

# Prints a fresh access token (client_credentials grant) of an environment: production or training.
fetch_token() {
  local env="${1:-production}" answer token port id secret
  if [ "$env" = training ]; then
    port="$TRAINING_PORT" id="$TRN_CLIENT_ID" secret="$TRN_CLIENT_SECRET"
  else
    port="$PRODUCTION_PORT" id="$PROD_CLIENT_ID" secret="$PROD_CLIENT_SECRET"
  fi
  answer="$(curl -sS -X POST "http://127.0.0.1:$port$API_PREFIX/oauth/token" \
    -H "x-reference-id: $REFERENCE_ID" -d grant_type=client_credentials \
    -d "client_id=$id" -d "client_secret=$secret")" || true
  token="$(json_field access_token <<<"$answer")"
  [ -n "$token" ] || { print_log_tails; die "no access_token from the token endpoint; answer: $answer"; }
  printf '%s\n' "$token"
}

# Writes the wrk Lua scripts that put the same headers on every request: one per environment's token.
write_wrk_scripts() {
  local production="$1" training="$2" env token
  for env in production training; do
    if [ "$env" = training ]; then token="$training"; else token="$production"; fi
    cat >"$WORK_DIR/headers-$env.lua" <<EOF
-- Generated by benches/load/gateway.sh: the same headers for every target of one environment.
wrk.headers["authorization"] = "Bearer $token"
wrk.headers["x-reference-id"] = "$REFERENCE_ID"
EOF
  done
}

# Prints the environment whose request a target gets.
target_env() {
  case "$1" in
    nginx-training | training | pingora-answer) echo training ;;
    *) echo production ;;
  esac
}

# Prints the benchmarked URL of a target.
target_url() {
  local port
  case "$1" in
    direct) port="$UPSTREAM_PORT" ;;
    sandgate) port="$PRODUCTION_PORT" ;;
    nginx-proxy) port="$PROXY_PORT" ;;
    bare-pingora) port="$BARE_PORT" ;;
    same-wire) port="$SAME_WIRE_PORT" ;;
    training) port="$TRAINING_PORT" ;;
    nginx-training) port="$FIXED_PROXY_PORT" ;;
    pingora-answer) port="$ANSWER_PORT" ;;
    *) die "unknown target $1" ;;
  esac
  if [ "$(target_env "$1")" = training ]; then
    printf 'http://127.0.0.1:%s%s/client-id/%s/customers/search?%s\n' "$port" "$API_PREFIX" "$TRN_CLIENT_ID" "$TRAINING_QUERY"
  else
    printf 'http://127.0.0.1:%s%s/client-id/%s/i18n\n' "$port" "$API_PREFIX" "$PROD_CLIENT_ID"
  fi
}

# Captures Sandgate's TRAINING answer as the fixed body nginx-training serves (same size).
capture_training_body() {
  local token="$1" meta
  meta="$(curl -sS -o "$WORK_DIR/training-body.json" -w '%{http_code}' \
    -H "authorization: Bearer $token" -H "x-reference-id: $REFERENCE_ID" "$(target_url training)")" || meta="curl-failed"
  [ "$meta" = 200 ] || { print_log_tails; die "the TRAINING request answered $meta"; }
  # nginx's workers run as another user when started as root: let them reach the file (the data
  # directory inside keeps its own 0700).
  chmod 711 "$WORK_DIR" && chmod 644 "$WORK_DIR/training-body.json"
  log "TRAINING answer: $(wc -c <"$WORK_DIR/training-body.json") bytes, served as nginx-training's fixed body"
}

# Checks once with curl that a target answers 200, application/json and the expected body (for
# TRAINING targets: as many bytes as the captured answer; the emulator may vary its wording).
check_target() {
  local target="$1" token="$2" url meta body expected="$BODY"
  url="$(target_url "$target")"
  meta="$(curl -sS -o "$WORK_DIR/check-$target.body" -w '%{http_code} %{content_type}' \
    -H "authorization: Bearer $token" -H "x-reference-id: $REFERENCE_ID" "$url")" || meta="curl-failed"
  body="$(cat "$WORK_DIR/check-$target.body" 2>/dev/null || true)"
  if [ "$(target_env "$target")" = training ]; then
    expected="$(cat "$WORK_DIR/training-body.json")"
    [ "${#body}" = "${#expected}" ] && expected="$body"
  fi
  if [[ "$meta" != "200 application/json"* || "$body" != "$expected" ]]; then
    printf 'GET %s -> %s\n%s\n' "$url" "$meta" "$body" >&2
    print_log_tails
    die "target $target does not answer 200 with the expected JSON body"
  fi
  log "check $target: 200, ${#body} bytes"
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
  if ! wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "$duration" -s "$WORK_DIR/headers-$(target_env "$target").lua" \
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
# the bare-Pingora process, or every nginx process (master and workers; every nginx target runs there).
cpu_ticks() {
  local target="$1" pids pid total=0
  case "$target" in
    sandgate | training) pids="$SANDGATE_PID" ;;
    bare-pingora) pids="$BARE_PID" ;;
    same-wire) pids="$SAME_WIRE_PID" ;;
    pingora-answer) pids="$ANSWER_PID" ;;
    *) pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
  esac
  for pid in $pids; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# One round: a fresh token (so long runs never outlive it), then warm-up + measurement per target.
run_round() {
  local round="$1" target out
  write_wrk_scripts "$(fetch_token production)" "$(fetch_token training)"
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

runs = {name: [parse(f"{results}/round{r}-{name}.txt") for r in range(1, rounds + 1)] for name in targets}
for name in targets:
    for r, run in enumerate(runs[name], start=1):
        run["cpu_us"] = cpu_us_per_request(f"{results}/round{r}-{name}.cpu", run["requests"])
median = {name: {k: statistics.median(run[k] for run in runs[name]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us")}
          for name in targets}
s, n, d = median["sandgate"], median["nginx-proxy"], median["direct"]
b, t, nt, a = median["bare-pingora"], median["training"], median["nginx-training"], median["pingora-answer"]
w = median["same-wire"]
ratios = {
    "sandgate/same-wire req/s": s["rps"] / w["rps"],
    "sandgate/same-wire cpu per request": s["cpu_us"] / max(w["cpu_us"], 1e-9),
    "same-wire/bare-pingora cpu per request": w["cpu_us"] / max(b["cpu_us"], 1e-9),
    "sandgate/bare-pingora req/s": s["rps"] / b["rps"],
    "sandgate/bare-pingora cpu per request": s["cpu_us"] / max(b["cpu_us"], 1e-9),
    "sandgate/nginx req/s": s["rps"] / n["rps"],
    "sandgate/nginx p99": s["p99_ms"] / n["p99_ms"],
    "sandgate/direct req/s": s["rps"] / d["rps"],
    "sandgate/direct p99": s["p99_ms"] / d["p99_ms"],
    "sandgate/nginx cpu per request": s["cpu_us"] / max(n["cpu_us"] - d["cpu_us"], 1e-9),
    "bare-pingora/nginx req/s": b["rps"] / n["rps"],
    "training/nginx-training req/s": t["rps"] / nt["rps"],
    "training/nginx-training p99": t["p99_ms"] / nt["p99_ms"],
    "training/nginx-training cpu per request": t["cpu_us"] / max(nt["cpu_us"], 1e-9),
    "training/pingora-answer req/s": t["rps"] / a["rps"],
    "training/pingora-answer cpu per request": t["cpu_us"] / max(a["cpu_us"], 1e-9),
    "pingora-answer/nginx-training req/s": a["rps"] / nt["rps"],
    "pingora-answer/nginx-training cpu per request": a["cpu_us"] / max(nt["cpu_us"], 1e-9),
}
# Issue 16's targets.
meets = {
    "production within 5% of bare pingora": ratios["sandgate/bare-pingora req/s"] >= 0.95,
    "production >= 0.75x nginx": ratios["sandgate/nginx req/s"] >= 0.75,
    "training >= 1.2x nginx": ratios["training/nginx-training req/s"] >= 1.2,
    "training p99 <= nginx": ratios["training/nginx-training p99"] <= 1.0,
}
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
p(f"{'target':<15} {'req/s':>11} {'p50':>10} {'p99':>10} {'CPU/req':>10}")
for name in targets:
    m = median[name]
    p(f"{name:<15} {m['rps']:>11.0f} {m['p50_ms']:>8.2f}ms {m['p99_ms']:>8.2f}ms {m['cpu_us']:>8.1f}us")
# nginx serves both nginx targets: its proxying alone costs the proxy target's CPU less the
# direct target's (the upstream block's work).
nginx_proxy_cpu = median["nginx-proxy"]["cpu_us"] - median["direct"]["cpu_us"]
p(f"CPU/req: CPU seconds of the serving processes / requests (Sandgate alone, bare Pingora alone; "
  f"all of nginx: its proxying alone = nginx-proxy - direct = {nginx_proxy_cpu:.1f}us)")
p("")
met = lambda key: "met" if meets[key] else "NOT met"
p("PRODUCTION")
p(f"  sandgate/bare-pingora  req/s {ratios['sandgate/bare-pingora req/s']:.2f}x (target >= 0.95x: "
  f"{met('production within 5% of bare pingora')})   CPU/req {ratios['sandgate/bare-pingora cpu per request']:.2f}x")
p(f"  sandgate/nginx-proxy   req/s {ratios['sandgate/nginx req/s']:.2f}x (target >= 0.75x: "
  f"{met('production >= 0.75x nginx')})   p99 {ratios['sandgate/nginx p99']:.2f}x   "
  f"CPU per proxied request {median['sandgate']['cpu_us'] / max(nginx_proxy_cpu, 1e-9):.2f}x")
p(f"  sandgate/same-wire     req/s {ratios['sandgate/same-wire req/s']:.2f}x   "
  f"CPU/req {ratios['sandgate/same-wire cpu per request']:.2f}x (Sandgate's own callbacks)")
p(f"  same-wire/bare-pingora CPU/req {ratios['same-wire/bare-pingora cpu per request']:.2f}x "
  "(Pingora's price for the wire work Sandgate asks)")
p(f"  bare-pingora/nginx     req/s {ratios['bare-pingora/nginx req/s']:.2f}x")
p(f"  sandgate/direct        req/s {ratios['sandgate/direct req/s']:.2f}x   p99 {ratios['sandgate/direct p99']:.2f}x")
p("TRAINING")
p(f"  training/nginx-training req/s {ratios['training/nginx-training req/s']:.2f}x (target >= 1.2x: "
  f"{met('training >= 1.2x nginx')})   p99 {ratios['training/nginx-training p99']:.2f}x (target <= 1.0x: "
  f"{met('training p99 <= nginx')})   CPU/req {ratios['training/nginx-training cpu per request']:.2f}x")
p(f"  training/pingora-answer req/s {ratios['training/pingora-answer req/s']:.2f}x   "
  f"CPU/req {ratios['training/pingora-answer cpu per request']:.2f}x (Sandgate's TRAINING chain and emulator)")
p(f"  pingora-answer/nginx-training req/s {ratios['pingora-answer/nginx-training req/s']:.2f}x   "
  f"CPU/req {ratios['pingora-answer/nginx-training cpu per request']:.2f}x (Pingora's floor for an in-process answer)")
if rounds > 1:
    p("")
    p("per round (req/s, p99):")
    p(f"  {'':<15}" + "".join(f"{'round ' + str(i):>22}" for i in range(1, rounds + 1)))
    for name in targets:
        p(f"  {name:<15}" + "".join(f"{r['rps']:>11.0f} {r['p99_ms']:>8.2f}ms" for r in runs[name]))
# A target the medians meet can still hinge on one round: each target's ratio within each round.
def round_ratios(a, b, key):
    return [x[key] / max(y[key], 1e-9) for x, y in zip(runs[a], runs[b])]
per_round = {
    "production within 5% of bare pingora": (round_ratios("sandgate", "bare-pingora", "rps"), lambda r: r >= 0.95),
    "production >= 0.75x nginx": (round_ratios("sandgate", "nginx-proxy", "rps"), lambda r: r >= 0.75),
    "training >= 1.2x nginx": (round_ratios("training", "nginx-training", "rps"), lambda r: r >= 1.2),
    "training p99 <= nginx": (round_ratios("training", "nginx-training", "p99_ms"), lambda r: r <= 1.0),
}
p("")
p("targets per round (each round's own ratio):")
for key, (values, holds) in per_round.items():
    p(f"  {key:<37} " + " ".join(f"{v:.2f}x" for v in values) + f"   met in {sum(map(holds, values))} of {len(values)}")
errors = [(name, i + 1, r["socket_errors"]) for name in targets for i, r in enumerate(runs[name]) if r["socket_errors"]]
for name, i, e in errors:
    p(f"WARNING: socket errors, {name} round {i}: {e}")
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
           "targets_per_round": {key: values for key, (values, _) in per_round.items()},
           "machine": {"nproc": int(env["NPROC"]), "kernel": env["KERNEL"], "sandgate_bin": env["SANDGATE_BIN"],
                       "build": env["BUILD"], "nginx": env["NGINX_VERSION"], "wrk": env["WRK_VERSION"]}},
          open(f"{results}/summary.json", "w"), indent=2)
sys.stdout.write(text)
PY
}

# ---------------------------------------------------------------- main

# Everything before measuring: tools, binaries, ports, nginx, bare Pingora, Sandgate with its
# credentials, the captured TRAINING body (also used by profile.sh).
set_up() {
  validate_parameters
  install_missing_tools
  locate_nginx
  resolve_sandgate_bin
  ensure_sandgate_bin
  ensure_bare_pingora_bin
  warn_if_debug_build
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  make_dirs
  pick_ports
  log "ports: upstream $UPSTREAM_PORT, nginx-proxy $PROXY_PORT, bare-pingora $BARE_PORT, same-wire $SAME_WIRE_PORT, sandgate production $PRODUCTION_PORT, training $TRAINING_PORT, nginx-training $FIXED_PROXY_PORT, pingora-answer $ANSWER_PORT; work dir $WORK_DIR"
  write_nginx_conf
  start_nginx
  start_bare_pingora
  write_sandgate_config
  start_sandgate
  issue_production_credential
  capture_training_body "$(fetch_token training)"
  start_pingora_answer
}

main() {
  local round target
  set_up

  for target in "${TARGETS[@]}"; do
    check_target "$target" "$(fetch_token "$(target_env "$target")")"
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
