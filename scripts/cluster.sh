#!/usr/bin/env bash
# A local cluster demo: three Sandgate nodes on loopback sharing one PostgreSQL store and one
# Redis (rate budgets, the change bus), as they would run behind a load balancer.
#
#   scripts/cluster.sh            # three nodes; Ctrl-C stops them all
#   NODES=2 scripts/cluster.sh
#
# Node k listens on TRAINING 127.0.0.1:81k0, PRODUCTION 81k1 and admin 81k2 (k = 1, 2, 3). Node 1
# runs `sandgate up` (it prints the demo credentials); the others run `sandgate gateway`.
# Redis: REDIS_URL, else the one on 127.0.0.1:6379, else a redis-server started here.
# Env: SANDGATE_BIN (target/debug/sandgate, built when missing), DATA_DIR (.sandgate-cluster),
# NODES (3), REDIS_URL, STORE_URL.
#
# The store (control plane and TRAINING state): STORE_URL (postgres://…), else the database
# `sandgate_cluster` on the PostgreSQL at 127.0.0.1:5432 (created when missing), else SQLite in
# DATA_DIR (one host only). Each node has a data directory of its own (DATA_DIR/node-k) whose
# secrets/ is a copy of node 1's, as on separate hosts.
set -euo pipefail
cd "$(dirname "$0")/.."

SANDGATE_BIN="${SANDGATE_BIN:-target/debug/sandgate}"
DATA_DIR="${DATA_DIR:-.sandgate-cluster}"
NODES="${NODES:-3}"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ ! -x "$SANDGATE_BIN" ]; then
  scripts/prereqs.sh
  cargo build --quiet -p sandgate-cli
fi

if [ -z "${REDIS_URL:-}" ]; then
  if answers 6379; then
    REDIS_URL="redis://127.0.0.1:6379"
  else
    command -v redis-server >/dev/null || { echo "cluster.sh: no Redis on 127.0.0.1:6379; install redis-server (apt-get install redis-server) or set REDIS_URL" >&2; exit 1; }
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
    pids+=($!)
    for _ in $(seq 50); do answers "$port" && break; sleep 0.1; done
    REDIS_URL="redis://127.0.0.1:$port"
  fi
fi

if [ -z "${STORE_URL:-}" ] && answers 5432 && command -v psql >/dev/null; then
  server="postgres://postgres@127.0.0.1:5432"
  if [ -z "$(psql "$server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'sandgate_cluster'")" ]; then
    psql "$server/postgres" -qc "CREATE DATABASE sandgate_cluster"
  fi
  STORE_URL="$server/sandgate_cluster"
fi

mkdir -p "$DATA_DIR"
config="$DATA_DIR/cluster.yaml"
cat >"$config" <<YAML
sandgate:
  redis: {url: "$REDIS_URL", key_prefix: "sandgate-cluster"}
  rate_limits: {backend: redis}
YAML
if [ -n "${STORE_URL:-}" ]; then
  echo "  store: {url: \"$STORE_URL\"}" >>"$config"
fi

for k in $(seq 1 "$NODES"); do
  command=(gateway)
  [ "$k" = 1 ] && command=(up)
  node_dir="$DATA_DIR/node-$k"
  [ -n "${STORE_URL:-}" ] || node_dir="$DATA_DIR" # SQLite: the nodes share the file
  if [ "$k" != 1 ] && [ "$node_dir" != "$DATA_DIR" ] && [ ! -d "$node_dir/secrets" ]; then
    mkdir -p "$node_dir" && cp -a "$DATA_DIR/node-1/secrets" "$node_dir/secrets"
  fi
  "$SANDGATE_BIN" "${command[@]}" --config "$config" --data-dir "$node_dir" \
    --training-listen "127.0.0.1:81${k}0" --production-listen "127.0.0.1:81${k}1" \
    --admin-listen "127.0.0.1:81${k}2" --portal-listen "127.0.0.1:81${k}3" &
  pids+=($!)
  # Node 1 creates the store and keys; the others start once it listens.
  for _ in $(seq 100); do answers "81${k}2" && break; sleep 0.1; done
  answers "81${k}2" || { echo "cluster.sh: node $k did not start" >&2; exit 1; }
done

echo
echo "$NODES nodes on one store (${STORE_URL:-SQLite in $DATA_DIR}) and one Redis ($REDIS_URL):"
for k in $(seq 1 "$NODES"); do
  echo "  node $k: TRAINING http://127.0.0.1:81${k}0  PRODUCTION http://127.0.0.1:81${k}1  admin http://127.0.0.1:81${k}2"
done
echo "A credential revoked through any node's admin API is refused by every node at once; the"
echo "rate plan is one budget across the nodes. /readyz of each node says whether it is current."
echo "Ctrl-C stops them all."
wait
