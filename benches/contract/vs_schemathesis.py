#!/usr/bin/env python3
"""`sandgate contract` side by side with Schemathesis, on the same spec and the same server.

The server is `sandgate emulator` serving benches/contract/shop-served.yaml: what the shop really
does, drifted from contract-tests/tests/fixtures/shop.yaml in nine known ways (DRIFTS below).
Both tools test it against shop.yaml; the script reports each tool's wall time (median of RUNS
runs), requests sent, and which of the nine drifts it found, plus anything else it reported.

Usage: benches/contract/vs_schemathesis.py   (from anywhere; builds nothing: set SANDGATE_BIN,
default target/release/sandgate). Needs Schemathesis: uses .venv/bin/schemathesis, creating .venv
from scripts/requirements-dev.txt when missing. EXAMPLES (default 10) and RUNS (default 3) tune it.
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "contract-tests/tests/fixtures/shop.yaml"
SERVED = ROOT / "benches/contract/shop-served.yaml"
BIN = Path(os.environ.get("SANDGATE_BIN", ROOT / "target/release/sandgate"))
EXAMPLES = os.environ.get("EXAMPLES", "10")
RUNS = int(os.environ.get("RUNS", "3"))
TOKEN = "bench-token"

# (operation, kind of violation): what shop-served.yaml does differently from shop.yaml.
DRIFTS = {
    ("GET /items", "schema"): "items without their required name",
    ("GET /items", "header"): "no X-Total-Count",
    ("GET /items/{id}", "schema"): "id as a string",
    ("GET /items/{id}", "use-after-free"): "a deleted item is still there",
    ("GET /legacy", "status"): "202, undocumented",
    ("GET /report", "content-type"): "an undocumented media type",
    ("GET /report", "auth"): "answers without credentials",
    ("GET /search", "server-error"): "500",
    ("POST /items", "negative"): "accepts invalid bodies",
}
OURS = {
    "response_schema_conformance": "schema", "response_headers_conformance": "header",
    "status_code_conformance": "status", "content_type_conformance": "content-type",
    "ignored_auth": "auth", "not_a_server_error": "server-error", "negative_data_rejection": "negative",
    "use_after_free": "use-after-free", "ensure_resource_availability": "availability",
    "max_response_time": "slow", "positive_data_acceptance": "positive-rejected",
}
THEIRS = {
    "ST108": "schema", "ST107": "header", "ST103": "status", "ST105": "content-type", "ST401": "auth",
    "ST203": "auth", "ST101": "server-error", "ST201": "negative", "ST301": "use-after-free",
    "ST202": "positive-rejected", "ST302": "availability",
}
TEMPLATES = ["/items/{id}", "/items", "/legacy", "/report", "/search", "/slow", "/oauth/token"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def schemathesis() -> Path:
    exe = ROOT / ".venv/bin/schemathesis"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ROOT / ".venv")], check=True)
        subprocess.run([str(ROOT / ".venv/bin/pip"), "install", "--quiet", "-r",
                        str(ROOT / "scripts/requirements-dev.txt")], check=True)
    return exe


def template(path: str) -> str:
    path = path.split("?")[0].removeprefix("/shop/v1")
    for t in TEMPLATES:
        if re.fullmatch(re.escape(t).replace(r"\{id\}", "[^/]+"), path):
            return t
    return path


def run_ours(base: str, out: Path) -> tuple[float, int, set]:
    started = time.monotonic()
    subprocess.run([str(BIN), "contract", "--spec", str(SPEC), "--base-url", base, "--bearer", TOKEN,
                    "--examples", EXAMPLES, "--json", str(out)], capture_output=True, env={**os.environ, "CI": "true"})
    wall = time.monotonic() - started
    report = json.loads(out.read_text())
    found = set()
    for finding in report["findings"]:
        route = next(o["route"] for o in report["operations"] if o["operation"] == finding["operation"])
        method, path = route.split(" ", 1)
        found.add((f"{method} {template(path)}", OURS.get(finding["check"], finding["check"])))
    return wall, report["requests"], found


def run_theirs(base: str, out: Path) -> tuple[float, int, set]:
    started = time.monotonic()
    result = subprocess.run([str(schemathesis()), "--no-color", "run", str(SPEC), "--url", f"{base}/shop/v1",
                             "--checks", "all", "--max-examples", EXAMPLES, "--generation-deterministic",
                             "-H", f"Authorization: Bearer {TOKEN}", "--report", "junit",
                             "--report-junit-path", str(out)], capture_output=True, text=True,
                            cwd=out.parent)  # Schemathesis keeps a cache in its working directory
    wall = time.monotonic() - started
    generated = re.search(r"(\d+) generated", result.stdout)
    found = set()
    for case in ET.parse(out).getroot().iter("testcase"):
        for failure in case.iter("failure"):
            for block in re.split(r"\n(?=\d+\. Test Case ID)", failure.text or ""):
                codes = re.findall(r"^- (ST\d{3})", block, re.M)
                curls = re.findall(r"curl -X (\w+) .*?(http://\S+)", block)
                # A stateful failure belongs to its last request; others to their test case.
                operation = case.get("name")
                if curls and (operation == "Stateful tests" or "{" in operation):
                    method, url = curls[-1]
                    operation = f"{method} {template('/' + url.split('/', 3)[3])}"
                found |= {(operation, THEIRS.get(code, code)) for code in codes}
    return wall, int(generated.group(1)) if generated else 0, found


def main() -> None:
    if not BIN.exists():
        sys.exit(f"{BIN} is missing: cargo build --release --bin sandgate (or set SANDGATE_BIN)")
    port = free_port()
    server = subprocess.Popen([str(BIN), "emulator", "--specs", str(SERVED), "--listen", f"127.0.0.1:{port}",
                               "--token", TOKEN, "--scrub-at", "never"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            results = {}
            for name, run in (("sandgate contract", run_ours), ("schemathesis", run_theirs)):
                runs = [run(base, Path(tmp) / f"{name.split()[0]}-{i}") for i in range(RUNS)]
                results[name] = (statistics.median(r[0] for r in runs), runs[-1][1], runs[-1][2])
    finally:
        server.terminate()
        server.wait()
    print(f"same spec ({SPEC.relative_to(ROOT)}), same server (sandgate emulator on "
          f"{SERVED.relative_to(ROOT)}), {EXAMPLES} examples per operation, median of {RUNS} runs\n")
    print(f"{'tool':18} {'wall s':>7} {'requests':>9} {'ms/request':>11} {'drifts found':>13}  other findings")
    for name, (wall, requests, found) in results.items():
        drifts = sum(1 for d in DRIFTS if d in found)
        other = sorted(f"{op} {kind}" for op, kind in found - DRIFTS.keys())
        per_request = 1000 * wall / max(requests, 1)
        print(f"{name:18} {wall:7.2f} {requests:9} {per_request:11.2f} {drifts:>9}/{len(DRIFTS)}  {', '.join(other) or '-'}")
    ours, theirs = results["sandgate contract"], results["schemathesis"]
    print(f"\nsandgate contract / schemathesis wall time: {ours[0] / theirs[0]:.3f} "
          f"({theirs[0] / ours[0]:.1f}x faster)")
    for name, (_, _, found) in results.items():
        missed = [f"{op} {kind} ({why})" for (op, kind), why in DRIFTS.items() if (op, kind) not in found]
        print(f"{name} missed: {', '.join(missed) or 'nothing'}")


if __name__ == "__main__":
    main()
