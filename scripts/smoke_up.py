#!/usr/bin/env python3
"""README check: run `./sandgate up` as a newcomer would and execute the curls it prints, then
run `sandgate contract` against it through the gateway (POS specs, control-plane spec).

Starts ./sandgate up on free loopback ports with a fresh data directory, reads the banner, runs
the printed token curl and the printed POS API call with bash, and checks that the answers are
a bearer token and a JSON list of customers. Then stops Sandgate with Ctrl-C (SIGINT) and
checks that it exits cleanly. Exits non-zero on any failure.
"""
import json
import urllib.request
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(message: str, banner: str = "") -> None:
    print(f"smoke_up: FAIL: {message}\n{banner}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    # The data directory goes away however the run ends (fail() exits through here too).
    with tempfile.TemporaryDirectory(prefix="sandgate-smoke-") as data_dir:
        run(data_dir)


def run(data_dir: str) -> None:
    ports = [free_port() for _ in range(4)]
    cmd = [
        str(ROOT / "sandgate"), "up", "--data-dir", data_dir,
        "--training-listen", f"127.0.0.1:{ports[0]}",
        "--production-listen", f"127.0.0.1:{ports[1]}",
        "--admin-listen", f"127.0.0.1:{ports[2]}",
        "--portal-listen", f"127.0.0.1:{ports[3]}",
    ]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "RUST_LOG": "warn"})
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            break
    banner = "\n".join(lines)
    if not lines or not lines[-1].startswith("Press Ctrl-C"):
        fail("sandgate up did not print its banner", banner)
    print(f"smoke_up: banner after {time.monotonic() - started:.1f}s (build included)")

    commands = [l.strip() for l in lines if l.strip().startswith(("curl ", "TOKEN="))]
    if len(commands) != 3:
        fail(f"expected 3 copy-paste commands (token curl, TOKEN=…, API curl), found {len(commands)}", banner)
    token = subprocess.run(["bash", "-c", commands[0]], capture_output=True, text=True, timeout=30)
    try:
        body = json.loads(token.stdout)
        assert body["token_type"] == "bearer" and body["access_token"]
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        fail(f"the printed token curl did not return a token ({exc}): {token.stdout}{token.stderr}", banner)
    call = subprocess.run(["bash", "-c", "\n".join(commands[1:])], capture_output=True, text=True, timeout=30)
    try:
        customers = json.loads(call.stdout)
        assert isinstance(customers, list) and customers and all("account_number" in c for c in customers)
    except Exception as exc:  # noqa: BLE001
        fail(f"the printed API curl did not return customers ({exc}): {call.stdout}{call.stderr}", banner)
    print(f"smoke_up: printed curls work ({len(customers)} customers)")
    contract(banner, ports, data_dir)

    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("sandgate up did not stop within 15 s of Ctrl-C")
    if code != 0:
        fail(f"sandgate up exited with {code} after Ctrl-C")
    print("smoke_up: ok (Ctrl-C stopped it cleanly)")


def admin_call(port: int, operator: str, method: str, path: str, body=None) -> dict:
    """One control-plane call with the operator token; the answer's JSON."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"authorization": f"Bearer {operator}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def provision(ports: list, operator: str, kind: str, scopes: list) -> dict:
    """An application of `kind` (a type another spec declares) for the demo partner, through the
    control plane as an operator would, and its TRAINING credential."""
    partners = admin_call(ports[2], operator, "GET", "/v1/partners")["partners"]
    partner = next(p["id"] for p in partners if p["name"] == "Demo Partner")
    created = admin_call(ports[2], operator, "POST", f"/v1/partners/{partner}/applications",
                         {"name": f"smoke-{kind.replace('_', '-')}", "type": kind, "permission": "read_write",
                          "scopes": scopes, "trust_list": ["127.0.0.0/8", "::1/128"]})
    issued = admin_call(ports[2], operator, "POST", f"/v1/applications/{created['application']['id']}/credentials",
                        {"environment": "training"})
    return {"client_id": issued["credential"]["client_id"], "client_secret": issued["client_secret"]}


def contract(banner: str, ports: list, data_dir: str) -> None:
    """Runs `sandgate contract` through the gateway on the POS specs (the banner's TRAINING
    credentials), on the onboarding API (an application provisioned through the control plane:
    a second API served from its spec alone) and on the control plane's spec (the operator
    token); JUnit and JSON reports go to target/contract-reports/."""
    reports = ROOT / "target" / "contract-reports"
    reports.mkdir(parents=True, exist_ok=True)
    credentials = dict(
        line.split()[:2] for line in banner.splitlines() if line.strip().startswith(("client_id ", "client_secret "))
    )
    if set(credentials) != {"client_id", "client_secret"}:
        fail("the banner does not show client_id and client_secret", banner)
    operator = (Path(data_dir) / "secrets" / "operator.token").read_text().strip()
    onboarding = provision(ports, operator, "onboarding_partner", ["onboarding:read", "onboarding:write"])
    runs = {
        # The demo plan admits 50 requests a second: stay under it, or 429s answer the cases.
        # The token endpoint answers a made-up client 400 invalid_client (RFC 6749 5.2), which is
        # what positive_data_acceptance is about everywhere else.
        "pos": ["--spec", "specs/pos-api", "--base-url", f"http://127.0.0.1:{ports[0]}", "--rate-limit", "45",
                "--client-id", credentials["client_id"], "--skip-check", "positive_data_acceptance:createToken"],
        "onboarding": ["--spec", "specs/onboarding", "--base-url", f"http://127.0.0.1:{ports[0]}", "--rate-limit", "45",
                       "--client-id", onboarding["client_id"], "--skip-check", "positive_data_acceptance:logIn"],
        # The spec the admin listener serves, by URL: it names the configured environments, plans
        # and application types. Two rules no spec can state stay unchecked for valid data, as in
        # scripts/schemathesis-control-plane.toml (webhook URLs on the same body's trust list; 410
        # for a revoked invitation).
        "control-plane": ["--spec", f"http://127.0.0.1:{ports[2]}/v1/openapi.yaml",
                          "--base-url", f"http://127.0.0.1:{ports[2]}",
                          "--skip-check", "positive_data_acceptance:createApplication",
                          "--skip-check", "positive_data_acceptance:verifyInvitation"],
    }
    secrets = {"pos": {"SANDGATE_CLIENT_SECRET": credentials["client_secret"]},
               "onboarding": {"SANDGATE_CLIENT_SECRET": onboarding["client_secret"]},
               "control-plane": {"SANDGATE_BEARER": operator}}
    for name, args in runs.items():
        cmd = [str(ROOT / "sandgate"), "contract", *args, "--examples", "8",
               "--junit", str(reports / f"{name}.xml"), "--json", str(reports / f"{name}.json")]
        started = time.monotonic()
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT,
                                env={**os.environ, "CI": "true", **secrets[name]})
        summary = result.stdout.splitlines()[:1] + result.stdout.splitlines()[-1:]
        if result.returncode != 0:
            fail(f"sandgate contract on {name} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        print(f"smoke_up: sandgate contract {name}: {' / '.join(summary)} ({time.monotonic() - started:.1f}s)")


if __name__ == "__main__":
    main()
