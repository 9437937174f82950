# Sourced, not run: `up_on_free_ports BIN DATA_DIR` starts `BIN up` on four free loopback ports
# with its data in DATA_DIR, waits until its admin listener answers and the operator token is
# written, and sets `up` (the process), `admin` (the admin listener's URL) and `operator` (the
# operator token). It returns 1, with the server's log on stderr, if the server exits first.
up_on_free_ports() {
  local bin=$1 data=$2 ports
  ports=($(python3 -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
  mkdir -p "$data"
  "$bin" up --data-dir "$data" --training-listen "127.0.0.1:${ports[0]}" --production-listen "127.0.0.1:${ports[1]}" \
    --admin-listen "127.0.0.1:${ports[2]}" --portal-listen "127.0.0.1:${ports[3]}" >"$data/up.log" 2>&1 &
  up=$!
  for _ in $(seq 300); do
    [ -s "$data/secrets/operator.token" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', ${ports[2]}), 0.2)" 2>/dev/null && break
    kill -0 "$up" 2>/dev/null || { cat "$data/up.log" >&2; return 1; }
    sleep 0.1
  done
  admin="http://127.0.0.1:${ports[2]}"
  operator=$(cat "$data/secrets/operator.token")
}
