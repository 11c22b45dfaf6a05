#!/usr/bin/env bash
# Loopback fan-out measurement (docs/BENCHMARKS.md): one server pinned to
# CPU 0, the load generator pinned to CPU 1, 10,000 viewers in one room,
# 5 chat messages per second, real sockets.
#
# Usage: scripts/fanout-bench.sh            (from anywhere in the repo)
# Knobs (environment): VIEWERS ROOMS RAMP CHAT_RATE DONATION_RATE DURATION SOURCE_IPS
# PORT OUT (a directory for the binary, logs and report.json; default a
# new temporary one) MAX_P99 (e.g. 250ms; empty: no threshold) SERVER_BIN
# (another givelive binary to serve, e.g. an older build for a paired
# comparison; the load generator is always this tree's) SERVER_ENV (extra
# VAR=value settings for the server) LOADTEST_ARGS (extra loadtest flags).
# Exit status: the load test's (0 pass, 1 a check failed, 2 bad flags).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

VIEWERS=${VIEWERS:-10000}
ROOMS=${ROOMS:-1}
RAMP=${RAMP:-1000}
CHAT_RATE=${CHAT_RATE:-5}
DONATION_RATE=${DONATION_RATE:-0}
DURATION=${DURATION:-60s}
SOURCE_IPS=${SOURCE_IPS:-4}
PORT=${PORT:-18080}
MAX_P99=${MAX_P99:-}
OUT=${OUT:-$(mktemp -d -t givelive-bench.XXXXXX)}
mkdir -p "$OUT"

if [ "$(nproc --all)" -lt 2 ]; then
	echo "fanout-bench: needs two CPUs (server on 0, generator on 1)" >&2
	exit 2
fi

# 10,000 sockets need 10,000 files in each process: raise the soft limit to
# the hard one (about 20,000 here; it cannot be raised further).
ulimit -n "$(ulimit -Hn)"

echo "== building into $OUT"
go build -o "$OUT/givelive" ./cmd/givelive
SERVER_BIN=${SERVER_BIN:-$OUT/givelive}

echo "== machine"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc --all) CPUs)"
echo "kernel:  $(uname -sr)"
echo "files:   $(ulimit -n) per process"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "git:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"

token="gla_bench_$(date +%s%N)"
# The API limit is turned off: only the set-up uses the API.
env $(env | grep -o '^GIVELIVE_[A-Z_]*' | sed 's/^/-u /') \
	GIVELIVE_HTTP_ADDR="127.0.0.1:$PORT" \
	GIVELIVE_RTMP_ADDR="127.0.0.1:0" \
	GIVELIVE_DATA_DIR="$OUT/data" \
	GIVELIVE_ADMIN_TOKEN="$token" \
	GIVELIVE_API_RATE=-1 \
	GIVELIVE_WS_PER_ADDRESS=-1 \
	GIVELIVE_LOG_LEVEL=warn \
	${SERVER_ENV:-} \
	taskset -c 0 "$SERVER_BIN" serve >"$OUT/server.log" 2>&1 &
server=$!
stop_server() {
	if kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server"
		for _ in $(seq 300); do
			kill -0 "$server" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server" 2>/dev/null || true
	fi
	wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

for i in $(seq 300); do
	if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$server" 2>/dev/null; then
		echo "fanout-bench: the server exited:" >&2
		cat "$OUT/server.log" >&2
		exit 1
	fi
	sleep 0.1
	if [ "$i" = 300 ]; then
		echo "fanout-bench: the server was not ready after 30 s" >&2
		exit 1
	fi
done

# Pinned to one CPU, the Go runtime must have chosen GOMAXPROCS=1.
procs=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '$1 == "go_sched_gomaxprocs_threads" { print $2 }')
echo "server:  pid $server, $(taskset -cp "$server" | sed 's/.*: /CPUs /'), GOMAXPROCS ${procs:-unknown}"
if [ "${procs:-}" != 1 ]; then
	echo "fanout-bench: expected the pinned server to run with GOMAXPROCS=1, got '${procs:-unknown}'" >&2
	exit 1
fi

args=(-target "http://127.0.0.1:$PORT" -admin-token "$token"
	-viewers "$VIEWERS" -rooms "$ROOMS" -ramp "$RAMP" -chat-rate "$CHAT_RATE" -donation-rate "$DONATION_RATE"
	-duration "$DURATION" -source-ips "$SOURCE_IPS" -json "$OUT/report.json" ${LOADTEST_ARGS:-})
if [ -n "$MAX_P99" ]; then
	args+=(-max-p99 "$MAX_P99")
fi
echo "== taskset -c 1 givelive loadtest ${args[*]/$token/\$TOKEN}"
set +e
taskset -c 1 "$OUT/givelive" loadtest "${args[@]}" 2>&1 | tee "$OUT/loadtest.txt"
rc=${PIPESTATUS[0]}
set -e

echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
stop_server
trap - EXIT
echo "== server log: $(grep -c 'level=WARN' "$OUT/server.log" || true) warnings, $(grep -c 'level=ERROR' "$OUT/server.log" || true) errors"
grep -E 'level=(WARN|ERROR)' "$OUT/server.log" | sed 's/^time=[^ ]* //' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 || true
if [ -f "$OUT/report.json" ]; then
	echo "== $OUT/report.json"
	if command -v jq >/dev/null; then jq . "$OUT/report.json"; else cat "$OUT/report.json"; fi
fi
exit "$rc"
