#!/usr/bin/env python3
"""Start-up time of a server: process start to first accepted TCP connection, median of N starts.

    startup.py --port PORT --runs N --log FILE [--timeout S] -- CMD...

Every start but the last is killed once it listens; the last keeps running. Prints
"<median ms> <pid of the running one>". Polling from Python costs microseconds per probe, where a
shell loop (a subshell per probe, a process per sleep) added tens of milliseconds.
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def start(cmd, port, log, timeout):
    begin = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    while time.perf_counter() - begin < timeout:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, (time.perf_counter() - begin) * 1000
        except OSError:
            if process.poll() is not None:
                sys.exit(f"{cmd[0]} exited with {process.returncode}; see {log.name}")
            time.sleep(0.0005)
    os.killpg(process.pid, signal.SIGKILL)
    sys.exit(f"{cmd[0]} did not listen on {port} within {timeout} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--log", required=True)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    times = []
    with open(args.log, "ab") as log:
        for run in range(args.runs):
            process, ms = start(cmd, args.port, log, args.timeout)
            times.append(ms)
            if run < args.runs - 1:
                os.killpg(process.pid, signal.SIGKILL)  # the server and any children (Prism's)
                process.wait()
    print(f"{statistics.median(times):.1f} {process.pid}")


if __name__ == "__main__":
    main()
