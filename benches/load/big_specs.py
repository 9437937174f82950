#!/usr/bin/env python3
"""Start-up, memory and first requests of `sandgate emulator` on large specs (issue 19's
benchmark: the three largest specs of the public corpus).

    benches/load/big_specs.py BINARY SPEC...      (SPEC: a JSON file, e.g. from scripts/public_corpus.py)

For each spec, ROUNDS times (default 3): start the emulator on it alone and time until it
accepts a connection (start-up), read its resident memory (VmRSS) then, send one request to each
of 40 operations spread over the document (the first pays for compiling that operation's checks)
and the same request again (warm), and read VmRSS and its peak (VmHWM) after. The machine's own
speed is measured in the same run: Python's `json.load` of the same file. Prints medians.
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_request import emulator, operations, timed  # noqa: E402
import http.client  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))


def memory(pid):
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def one_run(binary, spec_file, ops):
    with emulator(binary, spec_file, timeout=300) as (process, port, started):
        rss_started, _ = memory(process.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        first, warm = [], []
        for method, path in ops:
            first.append(timed(conn, method, path)[0])
            warm.append(timed(conn, method, path)[0])
        rss_after, peak = memory(process.pid)
        return started, rss_started, rss_after, peak, first, warm


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, specs = sys.argv[1], sys.argv[2:]
    print(f"{'spec':32} {'MB':>5} {'ops':>5} {'json.load':>9} {'start':>7} {'RSS':>6} {'RSS after':>9} "
          f"{'peak':>6} {'first p50':>9} {'first max':>9} {'warm p50':>8}")
    for spec_file in specs:
        begin = time.perf_counter()
        with open(spec_file) as f:
            spec = json.load(f)
        parse = time.perf_counter() - begin
        count = sum(1 for item in spec.get("paths", {}).values() for m in item if m in ("get", "put", "post", "delete", "patch"))
        ops = operations(spec, 40)
        del spec
        runs = [one_run(binary, spec_file, ops) for _ in range(ROUNDS)]
        median = lambda i: statistics.median(r[i] for r in runs)  # noqa: E731
        firsts = [ms for r in runs for ms in r[4]]
        warms = [ms for r in runs for ms in r[5]]
        name = os.path.relpath(spec_file, os.path.dirname(os.path.dirname(spec_file)))
        print(f"{name[-32:]:32} {os.path.getsize(spec_file) / 1e6:5.1f} {count:5} {parse:8.2f}s {median(0):6.2f}s "
              f"{median(1):5.0f}M {median(2):8.0f}M {median(3):5.0f}M {statistics.median(firsts):7.1f}ms "
              f"{max(firsts):7.1f}ms {statistics.median(warms):6.2f}ms")


if __name__ == "__main__":
    main()
