#!/usr/bin/env bash
# Reconnect storm (docs/BENCHMARKS.md): 10,000 viewers on one server pinned
# to CPU 0, the load generator pinned to CPU 1; once every viewer is on,
# the server is restarted (SIGTERM: every WebSocket closed with 1001, then
# the process starts again on the same port and ledger), and every viewer
# reconnects with the SDK's backoff. The report times the wave from the
# first disconnect to the last viewer subscribed again.
#
# Usage: scripts/storm-bench.sh            (from anywhere in the repo)
# Knobs (environment): VIEWERS RAMP SOURCE_IPS PORT OUT SERVER_BIN
# SETTLE (seconds between the last viewer joining and the restart).
# Exit status: the load test's (0 every viewer back, no failed handshake).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

VIEWERS=${VIEWERS:-10000}
RAMP=${RAMP:-2000}
SOURCE_IPS=${SOURCE_IPS:-4}
PORT=${PORT:-18081}
SETTLE=${SETTLE:-3}
OUT=${OUT:-$(mktemp -d -t givelive-storm.XXXXXX)}
mkdir -p "$OUT"

ulimit -n "$(ulimit -Hn)"
echo "== building into $OUT"
go build -o "$OUT/givelive" ./cmd/givelive
SERVER_BIN=${SERVER_BIN:-$OUT/givelive}
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "git:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"

token="gla_storm_$(date +%s%N)"
server=""
start_server() {
	env $(env | grep -o '^GIVELIVE_[A-Z_]*' | sed 's/^/-u /') \
		GIVELIVE_HTTP_ADDR="127.0.0.1:$PORT" \
		GIVELIVE_RTMP_ADDR="127.0.0.1:0" \
		GIVELIVE_DATA_DIR="$OUT/data" \
		GIVELIVE_ADMIN_TOKEN="$token" \
		GIVELIVE_API_RATE=-1 \
		GIVELIVE_WS_PER_ADDRESS=-1 \
		GIVELIVE_LOG_LEVEL=warn \
		taskset -c 0 "$SERVER_BIN" serve >>"$OUT/server.log" 2>&1 &
	server=$!
	for _ in $(seq 600); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
			return 0
		fi
		kill -0 "$server" 2>/dev/null || { echo "storm-bench: the server exited:" >&2; cat "$OUT/server.log" >&2; exit 1; }
		sleep 0.01
	done
	echo "storm-bench: the server was not ready after 6 s" >&2
	exit 1
}
stop_server() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server"
		wait "$server" 2>/dev/null || true
	fi
}
trap stop_server EXIT
now() { date +%s.%N; }

start_server
args=(-target "http://127.0.0.1:$PORT" -admin-token "$token" -viewers "$VIEWERS" -ramp "$RAMP"
	-reconnect -waves 1 -duration 120s -source-ips "$SOURCE_IPS" -json "$OUT/report.json")
echo "== taskset -c 1 givelive loadtest ${args[*]/$token/\$TOKEN}"
taskset -c 1 "$OUT/givelive" loadtest "${args[@]}" >"$OUT/loadtest.txt" 2>&1 &
loadtest=$!

# Wait for every viewer, then restart the server.
for _ in $(seq 1200); do
	n=$(curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null | awk '$1 == "givelive_hub_connections" { print int($2) }')
	[ "${n:-0}" -ge "$VIEWERS" ] && break
	kill -0 "$loadtest" 2>/dev/null || break
	sleep 0.1
done
sleep "$SETTLE"
t0=$(now)
kill -TERM "$server"
wait "$server" 2>/dev/null || true
t1=$(now)
start_server
t2=$(now)
echo "restart: SIGTERM to exit $(echo "$t1 - $t0" | bc) s (drain of every WebSocket), start to /readyz $(echo "$t2 - $t1" | bc) s"

set +e
wait "$loadtest"
rc=$?
set -e
grep -v '^\[' "$OUT/loadtest.txt" || true
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
exit "$rc"
