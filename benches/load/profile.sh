#!/usr/bin/env bash
# Where a request's CPU time goes: sets up exactly what gateway.sh measures (same nginx upstream,
# same Sandgate config and requests), loads one target with wrk and samples the serving process
# with `perf record`, then prints the self time by crate and the hottest functions.
#
#   benches/load/profile.sh                 # the PRODUCTION chain (target sandgate)
#   TARGET=training benches/load/profile.sh # the TRAINING chain
#   TARGET=bare-pingora benches/load/profile.sh
#   TARGET=pingora-answer benches/load/profile.sh # the TRAINING floor: Pingora answering in-process
#
# Env: TARGET (sandgate | training | bare-pingora | same-wire | pingora-answer), SECONDS_SAMPLED (10), FREQUENCY (1999 Hz),
# plus gateway.sh's SANDGATE_BIN, BARE_PINGORA_BIN, CONNECTIONS, THREADS. Needs perf (apt-get
# install linux-perf). The full report is kept in benches/load/results/<timestamp>/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

TARGET="${TARGET:-sandgate}"
SECONDS_SAMPLED="${SECONDS_SAMPLED:-10}"
FREQUENCY="${FREQUENCY:-1999}"

command -v perf >/dev/null || "$REPO_ROOT/scripts/prereqs.sh" perf=linux-perf || die "install linux-perf"
set_up
write_wrk_scripts "$(fetch_token production)" "$(fetch_token training)"
case "$TARGET" in
  sandgate | training) pid="$SANDGATE_PID" ;;
  bare-pingora) pid="$BARE_PID" ;;
  same-wire) pid="$SAME_WIRE_PID" ;;
  pingora-answer) pid="$ANSWER_PID" ;;
  *) die "TARGET must be sandgate, training, bare-pingora, same-wire or pingora-answer" ;;
esac
check_target "$TARGET" "$(fetch_token "$(target_env "$TARGET")")"

log "warming up $TARGET, then sampling it for ${SECONDS_SAMPLED}s at ${FREQUENCY} Hz"
run_wrk "$TARGET" 3s "$WORK_DIR/warmup.txt"
run_wrk "$TARGET" "$((SECONDS_SAMPLED + 2))s" "$RESULTS_DIR/profile-wrk.txt" &
wrk_pid=$!
sleep 1
perf record -q -F "$FREQUENCY" -g --call-graph dwarf,16384 -p "$pid" -o "$WORK_DIR/perf.data" -- sleep "$SECONDS_SAMPLED" 2>/dev/null
wait "$wrk_pid"
perf report -i "$WORK_DIR/perf.data" --no-children --sort sym --stdio 2>/dev/null >"$RESULTS_DIR/profile-$TARGET.txt"
# Inclusive time of Sandgate's own phases (each ProxyHttp callback and phase function, with what it calls).
perf report -i "$WORK_DIR/perf.data" --children --sort sym --stdio -g none 2>/dev/null >"$RESULTS_DIR/profile-$TARGET-inclusive.txt"

python3 - "$RESULTS_DIR/profile-$TARGET.txt" "$TARGET" <<'PY'
import collections, re, sys
path, target = sys.argv[1], sys.argv[2]
by_crate, by_symbol = collections.Counter(), collections.Counter()
for line in open(path):
    m = re.match(r"\s+([0-9.]+)%\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    share, symbol = float(m.group(1)), m.group(2).strip()
    by_symbol[symbol] += share
    if m.group(0).split()[1] == "[k]":
        crate = "kernel"
    else:
        # The first path segment that names a crate (generic impls start with `<`).
        names = re.findall(r"([a-z_][a-z0-9_]*)::", symbol)
        crate = next((n for n in names if n not in ("core", "alloc", "std", "impl")), names[0] if names else "other")
        if symbol.startswith(("mi_", "_mi_")):
            crate = "mimalloc"
        elif re.match(r"(__)?(mem|str)[a-z]*", symbol) or "libc" in symbol:
            crate = "libc"
    by_crate[crate] += share
print(f"\nself time of the {target} process, by crate (% of samples):")
for crate, share in by_crate.most_common(25):
    print(f"  {share:6.2f}%  {crate}")
print("\nhottest functions:")
for symbol, share in by_symbol.most_common(30):
    print(f"  {share:6.2f}%  {symbol[:140]}")
print("\nSandgate's phases, inclusive (% of samples, with everything they call):")
seen = set()
for line in open(path.replace(".txt", "-inclusive.txt")):
    m = re.match(r"\s+([0-9.]+)%\s+([0-9.]+)%\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    symbol = m.group(3).strip()
    if ("sandgate" in symbol or "tracing_subscriber::fmt" in symbol or "prometheus::" in symbol) and float(m.group(1)) >= 0.3:
        short = re.sub(r"::\{\{closure\}\}", "", symbol)[:120]
        if short not in seen:
            seen.add(short)
            print(f"  {float(m.group(1)):6.2f}%  {short}")
PY
echo
echo "full report: ${RESULTS_DIR#"$REPO_ROOT/"}/profile-$TARGET.txt"
