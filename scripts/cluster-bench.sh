#!/usr/bin/env bash
# Cross-node delivery measurement (docs/BENCHMARKS.md): the same load test
# three ways, each against fresh servers on loopback:
#
#   single   one node, in-memory hub (the default)
#   redis    one node on Redis: viewers and chatters on the same node
#   cross    two nodes on one Redis and one PostgreSQL: the chatters (and
#            donations) on node A, every viewer on node B
#
# The difference between the latencies is what Redis, and then the hop
# between nodes, add. Redis and PostgreSQL are started in a temporary
# directory (PostgreSQL as the postgres user when run as root).
#
# Usage: scripts/cluster-bench.sh
# Knobs (environment): VIEWERS (1000) ROOMS (2) CHAT_RATE (10)
# DONATION_RATE (1) DURATION (20s) OUT (a directory; default a new one).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

VIEWERS=${VIEWERS:-1000}
ROOMS=${ROOMS:-2}
CHAT_RATE=${CHAT_RATE:-10}
DONATION_RATE=${DONATION_RATE:-1}
DURATION=${DURATION:-20s}
OUT=${OUT:-$(mktemp -d -t givelive-cluster.XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
pgbin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
for tool in redis-server "$pgbin/initdb" "$pgbin/pg_ctl" curl; do
	command -v "$tool" >/dev/null || { echo "cluster-bench: needs $tool" >&2; exit 2; }
done
as_pg=()
if ((EUID == 0)); then as_pg=(runuser -u postgres --); fi

echo "== building into $OUT"
go build -o "$OUT/givelive" ./cmd/givelive

echo "== machine"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc --all) CPUs)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "git:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"

pids=()
pgdata="$OUT/pg"
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[[ -d $pgdata ]] && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" stop -m immediate >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== redis and postgresql in $OUT"
redis-server --port 0 --unixsocket "$OUT/redis.sock" --save '' --appendonly no --daemonize no \
	>"$OUT/redis.log" 2>&1 &
pids+=($!)
mkdir -p "$pgdata" "$OUT/pglog"
if ((EUID == 0)); then chown postgres "$pgdata" "$OUT/pglog"; fi
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres -A trust >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$OUT/pglog/pg.log" -w start \
	-o "-c listen_addresses='' -k $OUT/pglog -c fsync=off -c max_connections=200" >/dev/null
redis_url="unix://$OUT/redis.sock"
db_url="postgres:///postgres?host=$OUT/pglog&user=postgres"

token="gla_bench_$(date +%s%N)"
# start NAME PORT [ENV...]: a node with a fresh data dir, logging to OUT.
start() {
	local name=$1 port=$2
	shift 2
	env $(env | grep -o '^GIVELIVE_[A-Z_]*' | sed 's/^/-u /') \
		GIVELIVE_HTTP_ADDR="127.0.0.1:$port" \
		GIVELIVE_RTMP_ADDR="127.0.0.1:0" \
		GIVELIVE_DATA_DIR="$OUT/data-$name" \
		GIVELIVE_ADMIN_TOKEN="$token" \
		GIVELIVE_API_RATE=-1 \
		GIVELIVE_WS_PER_ADDRESS=-1 \
		GIVELIVE_LOG_LEVEL=warn \
		"$@" "$OUT/givelive" serve >"$OUT/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return 0
		sleep 0.1
	done
	echo "cluster-bench: node $name did not start; log:" >&2
	cat "$OUT/$name.log" >&2
	exit 1
}
stop_all_nodes() {
	for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]:1}"; do wait "$p" 2>/dev/null || true; done
	pids=("${pids[@]:0:1}")
}
loadtest() {
	local name=$1
	shift
	echo "== $name"
	"$OUT/givelive" loadtest -admin-token "$token" -viewers "$VIEWERS" -rooms "$ROOMS" \
		-chat-rate "$CHAT_RATE" -donation-rate "$DONATION_RATE" -duration "$DURATION" \
		-json "$OUT/$name.json" "$@" | tail -n 20
}

start single 18201
loadtest single -target http://127.0.0.1:18201
stop_all_nodes

start redis 18211 env GIVELIVE_REDIS_URL="$redis_url" GIVELIVE_DATABASE_URL="$db_url"
loadtest redis -target http://127.0.0.1:18211
stop_all_nodes

start a 18221 env GIVELIVE_REDIS_URL="$redis_url" GIVELIVE_DATABASE_URL="$db_url"
start b 18222 env GIVELIVE_REDIS_URL="$redis_url" GIVELIVE_DATABASE_URL="$db_url"
loadtest cross -target http://127.0.0.1:18221 -viewer-target http://127.0.0.1:18222
stop_all_nodes

echo "== reports in $OUT/{single,redis,cross}.json"
