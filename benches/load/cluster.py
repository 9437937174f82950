#!/usr/bin/env python3
"""Cluster benchmark (issue 13), every figure from one run:

  revocation   three `sandgate gateway` nodes on one PostgreSQL store (a fresh database on
               POSTGRES_URL's server, each node with a data directory of its own holding a copy of
               node 1's secrets/; STORE=sqlite: one shared data directory) and one Redis: a credential is
               issued through node 1, a token minted on node 2, then the credential is revoked
               through node 3 and nodes 1 and 2 are polled until both refuse it. Reports p50, p99
               and max of the time from the revocation's acknowledgement to the refusal on both,
               over REVOCATIONS (1000) revocations.
  rate-limit   one node answering TRAINING GET …/i18n under wrk, with rate_limits.backend local
               and redis in rotated rounds: req/s and p99 of each, and the ratio redis/local.

  benches/load/cluster.py                      # release build (target/release/sandgate)
  SANDGATE_BIN=target/debug/sandgate REVOCATIONS=100 ROUNDS=1 benches/load/cluster.py

Env: SANDGATE_BIN, REVOCATIONS (1000), ROUNDS (3), DURATION (5s), CONNECTIONS (32), REDIS_URL
(default redis://127.0.0.1:6379), STORE (postgres | sqlite), POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/postgres; needs psql). Needs wrk for the rate-limit part (skipped without it).
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("SANDGATE_BIN", os.path.join(REPO, "target/release/sandgate")))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
STORE = os.environ.get("STORE", "postgres")
POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REFERENCE = "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11"
API = "/pos-api/v2.5"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, token: str = "", body=None, form=None) -> tuple:
    headers = {"x-reference-id": REFERENCE}
    data = None
    if token:
        headers["authorization"] = f"Bearer {token}"
    if body is not None:
        data, headers["content-type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


class Node:
    def __init__(self, data_dir: str, config: str, command: str = "gateway"):
        self.ports = [free_port() for _ in range(4)]
        self.process = subprocess.Popen(
            [BIN, command, "--config", config, "--data-dir", data_dir, "--specs-dir", os.path.join(REPO, "specs"),
             "--training-listen", f"127.0.0.1:{self.ports[0]}", "--production-listen", f"127.0.0.1:{self.ports[1]}",
             "--admin-listen", f"127.0.0.1:{self.ports[2]}", "--portal-listen", f"127.0.0.1:{self.ports[3]}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "error"})
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.ports[2]), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    sys.exit(f"node on {self.ports} did not start")
                time.sleep(0.05)
        self.training = f"http://127.0.0.1:{self.ports[0]}"
        self.admin = f"http://127.0.0.1:{self.ports[2]}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # SIGTERM would drain for shutdown.drain_secs
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def operator_call(node: Node, operator: str, method: str, path: str, body=None, expected=(200, 201)) -> dict:
    request = urllib.request.Request(f"{node.admin}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"authorization": f"Bearer {operator}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in expected, response.status
        return json.loads(response.read())


def write_config(directory: str, backend: str, store_url: str = "") -> str:
    path = os.path.join(directory, f"sandgate-{backend}.yaml")
    with open(path, "w") as f:
        f.write(f"sandgate:\n  redis: {{url: '{REDIS_URL}', key_prefix: 'sandgate-bench-{uuid.uuid4().hex}'}}\n"
                f"  rate_limits:\n    backend: {backend}\n    default_plan: standard\n"
                f"    plans: {{standard: {{per_second: 1000000, burst: 1000000}}}}\n")
        if store_url:
            f.write(f"  store: {{url: '{store_url}'}}\n")
    return path


def psql(statement: str) -> None:
    subprocess.run(["psql", POSTGRES_URL, "-qc", statement], check=True, stdout=subprocess.DEVNULL)


def application(node: Node, operator: str, name: str) -> str:
    partners = operator_call(node, operator, "GET", "/v1/partners")["partners"]
    partner = next((p["id"] for p in partners if p["name"] == "Bench Partner"), None)
    if partner is None:
        partner = operator_call(node, operator, "POST", "/v1/partners", {
            "name": "Bench Partner", "contact": {"name": "b", "email": "b@bench.example"},
            "owner": {"name": "o", "email": "o@bench.example"}})["partner"]["id"]
    created = operator_call(node, operator, "POST", f"/v1/partners/{partner}/applications", {
        "name": name, "type": "generic", "permission": "read_write", "scopes": ["merchant", "customer"],
        "trust_list": ["127.0.0.0/8"]})
    return created["application"]["id"]


def credential(node: Node, operator: str, app: str) -> tuple:
    issued = operator_call(node, operator, "POST", f"/v1/applications/{app}/credentials", {"environment": "training"})
    return issued["credential"]["client_id"], issued["client_secret"]


def mint(node: Node, client_id: str, secret: str) -> str:
    """A token from `node`, retried while the application created elsewhere has not reached it."""
    deadline = time.time() + 2
    while True:
        status, body = call("POST", f"{node.training}{API}/oauth/token", form={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "merchant"})
        if status == 200:
            return body["access_token"]
        if status != 403 or time.time() > deadline:
            sys.exit(f"token request on {node.training}: {status}")
        time.sleep(0.005)


def i18n(node: Node, client_id: str) -> str:
    return f"{node.training}{API}/client-id/{client_id}/i18n"


def revocation(work: str, count: int) -> dict:
    data = os.path.join(work, "cluster")
    database = f"sandgate_bench_{uuid.uuid4().hex}"
    store_url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}" if STORE == "postgres" else ""
    if store_url:
        psql(f"CREATE DATABASE {database}")
    config = write_config(work, "redis", store_url)
    nodes = [Node(data, config)]
    for k in (2, 3):
        node_dir = data
        if store_url:  # as on separate hosts: a data directory each, node 1's keys copied
            node_dir = os.path.join(work, f"node-{k}")
            os.makedirs(node_dir)
            shutil.copytree(os.path.join(data, "secrets"), os.path.join(node_dir, "secrets"))
        nodes.append(Node(node_dir, config))
    operator = open(os.path.join(data, "secrets/operator.token")).read().strip()
    app = application(nodes[0], operator, "bench-revocation")
    lags = []
    try:
        for _ in range(count):
            client_id, secret = credential(nodes[0], operator, app)
            token = mint(nodes[1], client_id, secret)
            for node in nodes[:2]:
                assert call("GET", i18n(node, client_id), token)[0] == 200
            operator_call(nodes[2], operator, "POST", f"/v1/credentials/{client_id}/revoke")
            acknowledged = time.perf_counter()
            pending = list(nodes[:2])
            while pending:
                pending = [n for n in pending if call("GET", i18n(n, client_id), token)[0] != 401]
                if time.perf_counter() - acknowledged > 5:
                    sys.exit("a revocation did not reach every node within 5 s")
            lags.append((time.perf_counter() - acknowledged) * 1000)
    finally:
        for node in nodes:
            node.stop()
        if store_url:
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    lags.sort()
    return {"store": STORE, "revocations": count, "p50_ms": statistics.median(lags), "p99_ms": lags[int(len(lags) * 0.99) - 1],
            "max_ms": lags[-1]}


def wrk(url: str, token: str, duration: str, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}", "--latency",
                          "-H", f"authorization: Bearer {token}", "-H", f"x-reference-id: {REFERENCE}", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    p99 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("99%"))
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    unit = next(u for u in ("us", "ms", "s") if p99.endswith(u))
    non_2xx = sum(int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line)
    return {"rps": rps, "p99_ms": float(p99[: -len(unit)]) * scale[unit], "non_2xx": non_2xx}


def rate_limit(work: str, rounds: int, duration: str, connections: int) -> dict:
    runs = {"local": [], "redis": []}
    for round_index in range(rounds):
        order = ["local", "redis"] if round_index % 2 == 0 else ["redis", "local"]
        for backend in order:
            data = os.path.join(work, f"rl-{backend}-{round_index}")
            node = Node(data, write_config(work, backend), command="gateway")
            try:
                operator = open(os.path.join(data, "secrets/operator.token")).read().strip()
                app = application(node, operator, f"bench-{backend}")
                client_id, secret = credential(node, operator, app)
                token = mint(node, client_id, secret)
                url = i18n(node, client_id)
                wrk(url, token, "2s", connections)  # warm-up
                result = wrk(url, token, duration, connections)
                if result["non_2xx"]:
                    sys.exit(f"{backend}: {result['non_2xx']} answers were not 2xx")
                runs[backend].append(result)
            finally:
                node.stop()
    median = {b: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p99_ms")} for b, rs in runs.items()}
    return {"local": median["local"], "redis": median["redis"],
            "redis/local req/s": median["redis"]["rps"] / median["local"]["rps"],
            "redis/local p99": median["redis"]["p99_ms"] / median["local"]["p99_ms"], "rounds": rounds}


def main() -> None:
    if not os.access(BIN, os.X_OK):
        sys.exit(f"{BIN} is missing: cargo build --release --bin sandgate (or set SANDGATE_BIN)")
    work = tempfile.mkdtemp(prefix="sandgate-cluster-bench.")
    try:
        report = {"binary": BIN, "revocation": revocation(work, int(os.environ.get("REVOCATIONS", "1000")))}
        if shutil.which("wrk"):
            report["rate_limit"] = rate_limit(work, int(os.environ.get("ROUNDS", "3")),
                                              os.environ.get("DURATION", "5s"), int(os.environ.get("CONNECTIONS", "32")))
        else:
            report["rate_limit"] = "skipped: wrk is not installed (apt-get install wrk)"
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
