#!/usr/bin/env python3
"""The standalone emulator's throughput, one build against another (issue 16: `sandgate emulator`
on the POS specs at 2x the baseline's req/s). Both binaries serve the `specs/` folder (both POS
versions with their scenarios and TRAINING world) and get the same valid customer search from wrk;
they take turns, ROUNDS times each, so the machine's drift hits both alike. Prints the medians of
req/s, p99 and CPU per request (CPU seconds of the emulator process / requests) and the
candidate/baseline ratios.

    benches/load/emulator_versions.py BASELINE_BINARY CANDIDATE_BINARY

Env: ROUNDS (3), DURATION (10s), CONNECTIONS (32), THREADS (2, wrk's); BASELINE_SPECS and
CANDIDATE_SPECS (`specs`): the folder each serves, for a baseline whose specs were another
version's (e.g. a worktree's). Needs wrk.
"""
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_request import emulator  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = os.environ.get("DURATION", "10s")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
THREADS = os.environ.get("THREADS", "2")
PATH = "/pos-api/v2.5/client-id/demo/customers/search?first_name=John&last_name=Smith&dob=1980-01-01"
HEADERS = ["-H", "authorization: Bearer bench", "-H", "x-reference-id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def one_round(binary, specs):
    """(req/s, p99 ms, CPU µs per request) of one wrk run against a fresh emulator."""
    with emulator(binary, specs, timeout=60, cwd=REPO) as (process, port, _):
        url = f"http://127.0.0.1:{port}{PATH}"
        wrk = ["wrk", "-t", THREADS, "-c", CONNECTIONS, "--latency", *HEADERS]
        subprocess.run([*wrk, "-d", "2s", url], check=True, capture_output=True)
        before = cpu_seconds(process.pid)
        out = subprocess.run([*wrk, "-d", DURATION, url], check=True, capture_output=True, text=True).stdout
        cpu = cpu_seconds(process.pid) - before
        if "Non-2xx" in out:
            sys.exit(f"{binary}: non-2xx answers:\n{out}")
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
        return rps, p99, cpu * 1e6 / max(requests, 1)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binaries = {"baseline": sys.argv[1], "candidate": sys.argv[2]}
    specs = {name: os.environ.get(f"{name.upper()}_SPECS", "specs") for name in binaries}
    runs = {name: [] for name in binaries}
    for round_number in range(1, ROUNDS + 1):
        for name, binary in binaries.items():
            runs[name].append(one_round(binary, specs[name]))
            rps, p99, cpu = runs[name][-1]
            print(f"round {round_number} {name:<9} {rps:>9.0f} req/s  p99 {p99:6.2f} ms  {cpu:6.1f} µs CPU/req",
                  file=sys.stderr)
    median = {name: [statistics.median(r[i] for r in rounds) for i in range(3)] for name, rounds in runs.items()}
    for name, (rps, p99, cpu) in median.items():
        print(f"{name:<9} {binaries[name]}: {rps:.0f} req/s, p99 {p99:.2f} ms, {cpu:.1f} µs CPU/req (medians)")
    (b_rps, b_p99, b_cpu), (c_rps, c_p99, c_cpu) = median["baseline"], median["candidate"]
    print(f"candidate/baseline: req/s {c_rps / b_rps:.2f}x (issue 16: >= 2x), p99 {c_p99 / b_p99:.2f}x, "
          f"CPU/req {c_cpu / b_cpu:.2f}x")


if __name__ == "__main__":
    main()
