#!/usr/bin/env bash
# Many Low-Latency HLS players on one stream (docs/BENCHMARKS.md): a
# publisher sends a pre-encoded 720p30 3 Mbit/s stream (x264, keyframe
# every 2 s, AAC) in real time to node A; PLAYERS players (tools/hlsload)
# hold blocking playlist reloads on it and fetch each part, as hls.js does
# at the live edge. Reports the time from a part's completion to its
# delivery (p50, p90, p99) and the server's CPU per player, two ways:
#
#   single  the players on node A, which ingests the stream
#   cross   the players on node B, which proxies every request to A (a
#           second node of a cluster on one Redis; blocking requests pass
#           along as they are, held by A, never polled)
#
# The servers run on CPU 0, the publisher and the players on CPU 1.
#
# Usage: scripts/llhls-bench.sh       (from anywhere in the repo)
# Knobs (environment): PLAYERS (2000) DURATION (seconds, 30) MODES
# ("single cross") PARTS (true: each player fetches every part too; false:
# playlists only) PART (200ms) PORT (18110, and PORT+1 for node B)
# RTMP_PORT (19352) OUT (a directory; default a new temporary one).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

PLAYERS=${PLAYERS:-2000}
DURATION=${DURATION:-30}
MODES=${MODES:-single cross}
PART=${PART:-200ms}
PARTS=${PARTS:-true}
PORT=${PORT:-18110}
RTMP_PORT=${RTMP_PORT:-19352}
OUT=${OUT:-$(mktemp -d -t givelive-llhls.XXXXXX)}
mkdir -p "$OUT"
for tool in ffmpeg curl jq taskset redis-server; do
	command -v "$tool" >/dev/null || { echo "llhls-bench: needs $tool" >&2; exit 2; }
done

echo "== building into $OUT"
go build -o "$OUT/givelive" ./cmd/givelive
go build -o "$OUT/hlsload" ./tools/hlsload

media="$OUT/3mbps.flv"
if [ ! -s "$media" ]; then
	echo "== encoding 30 s of 720p30 at 3 Mbit/s (once)"
	ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 \
		-f lavfi -i sine=frequency=440:sample_rate=48000 -t 30 -c:v libx264 -preset veryfast -tune zerolatency \
		-b:v 3M -maxrate 3M -bufsize 3M -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k -f flv "$media"
fi

echo "== machine"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc --all) CPUs)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "git:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
echo "files:   $(ulimit -n) open files allowed per process"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$OUT/redis.sock" --save '' --appendonly no --daemonize no >"$OUT/redis.log" 2>&1 &
pids+=($!)
token="gla_bench_$(date +%s%N)"
# node NAME PORT RTMP: a node on Redis and the shared SQLite ledger, on CPU 0.
node() {
	env $(env | grep -o '^GIVELIVE_[A-Z_]*' | sed 's/^/-u /') \
		GIVELIVE_HTTP_ADDR="127.0.0.1:$2" \
		GIVELIVE_RTMP_ADDR="127.0.0.1:$3" \
		GIVELIVE_DATA_DIR="$OUT/data" \
		GIVELIVE_ADMIN_TOKEN="$token" \
		GIVELIVE_REDIS_URL="unix://$OUT/redis.sock" \
		GIVELIVE_HLS_PART="$PART" \
		GIVELIVE_API_RATE=-1 \
		GIVELIVE_LOG_LEVEL=warn \
		taskset -c 0 "$OUT/givelive" serve >"$OUT/$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$2/healthz" >/dev/null && return 0; sleep 0.1; done
	echo "llhls-bench: node $1 did not start" >&2
	exit 1
}
node a "$PORT" "$RTMP_PORT"
pid_a=${pids[-1]}
node b "$((PORT + 1))" "$((RTMP_PORT + 1))"
pid_b=${pids[-1]}

api="http://127.0.0.1:$PORT/api/v1"
np=$(curl -fs -X POST "$api/nonprofits" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name":"Bench","registration_id":"1","country":"GB"}' | jq -r .id)
curl -fs -X POST "$api/nonprofits/$np/verify" -H "Authorization: Bearer $token" >/dev/null
btok=$(curl -fs -X POST "$api/broadcasters" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name":"Bench"}' | jq -r .token)
created=$(curl -fs -X POST "$api/fundraisers" -H "Authorization: Bearer $btok" -H 'Content-Type: application/json' \
	-d "{\"title\":\"players\",\"nonprofit_id\":\"$np\",\"goal\":{\"amount\":100000,\"currency\":\"USD\"}}")
id=$(echo "$created" | jq -r .id)
key=$(echo "$created" | jq -r .stream_key)
taskset -c 1 ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$media" -c copy \
	-f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key" 2>>"$OUT/ffmpeg.log" &
pids+=($!)
# Live once the tracks are read (2 s); the playlist answers once a segment exists.
for p in "$PORT" "$((PORT + 1))"; do
	for _ in $(seq 100); do curl -fs -m 20 "http://127.0.0.1:$p/hls/$id/index.m3u8" >/dev/null && break; sleep 0.2; done
done

for mode in $MODES; do
	case $mode in
	single) base="http://127.0.0.1:$PORT" ;;
	cross) base="http://127.0.0.1:$((PORT + 1))" ;;
	*) echo "llhls-bench: unknown mode $mode" >&2; exit 2 ;;
	esac
	echo "== $mode: $PLAYERS players on $base, part $PART, parts fetched: $PARTS, $DURATION s measured (node A pid $pid_a, node B pid $pid_b)"
	taskset -c 1 "$OUT/hlsload" -url "$base/hls/$id/video1_stream.m3u8" -players "$PLAYERS" \
		-duration "${DURATION}s" -parts="$PARTS" -pids "$pid_a,$pid_b"
done
echo "logs: $OUT/{a,b,ffmpeg}.log"
