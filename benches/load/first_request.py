#!/usr/bin/env python3
"""What an operation's first request costs on a large spec, for two builds in one run.

    benches/load/first_request.py --spec FILE[.gz] --operations N BASELINE_BIN CANDIDATE_BIN

Starts `sandgate emulator` on the spec with each binary in turn (alternating, ROUNDS times), then
sends one request to each of N operations (every method and path of the spec, in file order,
path parameters filled with `1`) and one more to the same operation: the first pays for
compiling the operation's checks, the second is the same request warm. Prints the median first
and warm latency per binary and the candidate/baseline ratios. A request may be refused (400,
404): the checks are compiled either way, and that is what is measured.
"""
import argparse
import contextlib
import gzip
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import http.client

METHODS = ("get", "put", "post", "delete", "patch")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def operations(spec, count):
    base = ""
    servers = spec.get("servers") or []
    if servers:
        base = re.sub(r"^[a-z]+://[^/]+", "", servers[0].get("url", "")).rstrip("/")
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append((method.upper(), base + re.sub(r"\{[^}]+\}", "1", path)))
    # Spread over the document, not its first few paths.
    step = max(1, len(found) // count)
    return found[::step][:count]


def timed(conn, method, path):
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    headers = {"authorization": "Bearer bench", "content-type": "application/json", "accept": "*/*"}
    begin = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return (time.perf_counter() - begin) * 1000, response.status


@contextlib.contextmanager
def emulator(binary, specs, timeout=120, cwd=None):
    """`sandgate emulator` serving `specs` on a free port of 127.0.0.1 until the block ends (then
    killed with its process group). Yields (process, port, seconds from start to its first
    accepted connection); exits naming the binary, with its log, when it does not start."""
    port = free_port()
    log = tempfile.TemporaryFile()
    begin = time.perf_counter()
    process = subprocess.Popen(
        [binary, "emulator", "--specs", specs, "--listen", f"127.0.0.1:{port}", "--scrub-at", "never"],
        cwd=cwd, stdout=log, stderr=log, start_new_session=True,
    )
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.perf_counter() - begin > timeout:
                    log.seek(0)
                    sys.exit(f"{binary} did not start on {specs}:\n{log.read().decode(errors='replace')[-2000:]}")
                time.sleep(0.005)
        yield process, port, time.perf_counter() - begin
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def measure(binary, specs_dir, ops):
    with emulator(binary, specs_dir) as (_, port, _):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        first, warm, statuses = [], [], {}
        for method, path in ops:
            ms, status = timed(conn, method, path)
            first.append(ms)
            statuses[status] = statuses.get(status, 0) + 1
            warm.append(timed(conn, method, path)[0])
        return first, warm, statuses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--operations", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "3")))
    parser.add_argument("baseline")
    parser.add_argument("candidate")
    args = parser.parse_args()
    opener = gzip.open if args.spec.endswith(".gz") else open
    with opener(args.spec, "rt") as f:
        text = f.read()
    spec = json.loads(text) if text.lstrip().startswith("{") else None
    if spec is None:
        sys.exit("the spec must be JSON (optionally gzipped)")
    specs_dir = tempfile.mkdtemp()
    with open(os.path.join(specs_dir, "spec.json"), "w") as f:
        f.write(text)
    ops = operations(spec, args.operations)
    results = {"baseline": ([], []), "candidate": ([], [])}
    for round_ in range(args.rounds):
        order = ["baseline", "candidate"] if round_ % 2 == 0 else ["candidate", "baseline"]
        for name in order:
            first, warm, statuses = measure(getattr(args, name), specs_dir, ops)
            results[name][0].extend(first)
            results[name][1].extend(warm)
            print(f"round {round_ + 1} {name}: first median {statistics.median(first):.1f} ms, "
                  f"max {max(first):.1f} ms; warm median {statistics.median(warm):.2f} ms; statuses {statuses}")
    print(f"\n{len(ops)} operations of {args.spec}, {args.rounds} rounds")
    print(f"{'':10} {'first p50':>10} {'first p90':>10} {'first max':>10} {'warm p50':>9}")
    for name, (first, warm) in results.items():
        q = statistics.quantiles(first, n=10)
        print(f"{name:10} {statistics.median(first):8.1f}ms {q[8]:8.1f}ms {max(first):8.1f}ms {statistics.median(warm):7.2f}ms")
    ratio = statistics.median(results["candidate"][0]) / statistics.median(results["baseline"][0])
    print(f"first request, candidate/baseline (median): {ratio:.3f}x")


if __name__ == "__main__":
    main()
