#!/usr/bin/env bash
# Media path measurement (docs/BENCHMARKS.md): STREAMS publishers send a
# pre-encoded 3 Mbit/s 720p30 stream (x264, keyframe every 2 s, AAC) in real
# time to one server pinned to CPU 0 (ffmpeg copies, it does not encode, on
# CPU 1). Reports the server's CPU per stream, the ingest bitrate, and the
# delay from a keyframe's arrival to its segment appearing in the playlist,
# read from the server's /metrics.
#
# Usage: scripts/ingest-bench.sh       (from anywhere in the repo)
# Knobs (environment): STREAMS (10) DURATION (seconds, 60) WARMUP (seconds, 10)
# PORT RTMP_PORT OUT (a directory for the binary, logs and media; default a
# new temporary one).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

STREAMS=${STREAMS:-10}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-10}
PORT=${PORT:-18081}
RTMP_PORT=${RTMP_PORT:-11935}
OUT=${OUT:-$(mktemp -d -t givelive-ingest.XXXXXX)}
mkdir -p "$OUT"
for tool in ffmpeg curl taskset; do
	command -v "$tool" >/dev/null || { echo "ingest-bench: needs $tool" >&2; exit 2; }
done

echo "== building into $OUT"
go build -o "$OUT/givelive" ./cmd/givelive

media="$OUT/3mbps.flv"
if [ ! -s "$media" ]; then
	echo "== encoding 30 s of 720p30 at 3 Mbit/s (once)"
	ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 \
		-f lavfi -i sine=frequency=440:sample_rate=48000 -t 30 -c:v libx264 -preset veryfast \
		-b:v 3M -maxrate 3M -bufsize 3M -g 60 -bf 2 -pix_fmt yuv420p -c:a aac -b:a 128k -f flv "$media"
fi

echo "== machine"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc --all) CPUs)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "git:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"

token="gla_bench_$(date +%s%N)"
env $(env | grep -o '^GIVELIVE_[A-Z_]*' | sed 's/^/-u /') \
	GIVELIVE_HTTP_ADDR="127.0.0.1:$PORT" \
	GIVELIVE_RTMP_ADDR="127.0.0.1:$RTMP_PORT" \
	GIVELIVE_DATA_DIR="$OUT/data" \
	GIVELIVE_ADMIN_TOKEN="$token" \
	GIVELIVE_API_RATE=-1 \
	GIVELIVE_LOG_LEVEL=warn \
	taskset -c 0 "$OUT/givelive" serve >"$OUT/server.log" 2>&1 &
server=$!
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	kill -TERM "$server" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT

api="http://127.0.0.1:$PORT/api/v1"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
json() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }
np=$(curl -fs -X POST "$api/nonprofits" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name":"Bench","registration_id":"1","country":"GB"}' | json id)
curl -fs -X POST "$api/nonprofits/$np/verify" -H "Authorization: Bearer $token" >/dev/null
btok=$(curl -fs -X POST "$api/broadcasters" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name":"Bench"}' | json token)

echo "== $STREAMS publishers for $((WARMUP + DURATION)) s"
for i in $(seq "$STREAMS"); do
	key=$(curl -fs -X POST "$api/fundraisers" -H "Authorization: Bearer $btok" -H 'Content-Type: application/json' \
		-d "{\"title\":\"bench $i\",\"nonprofit_id\":\"$np\",\"goal\":{\"amount\":100000,\"currency\":\"USD\"}}" | json stream_key)
	taskset -c 1 ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$media" -c copy \
		-t $((WARMUP + DURATION + 5)) -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key" 2>>"$OUT/ffmpeg.log" &
	pids+=($!)
done

ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
metric() { curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
sleep "$WARMUP"
t0=$(ticks); b0=$(metric givelive_ingest_received_bytes_total)
sleep "$DURATION"
t1=$(ticks); b1=$(metric givelive_ingest_received_bytes_total)
hz=$(getconf CLK_TCK)
publishers=$(metric givelive_ingest_publishers)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")

echo "== results (measured over $DURATION s after $WARMUP s of warm-up)"
awk -v t0="$t0" -v t1="$t1" -v hz="$hz" -v d="$DURATION" -v n="$STREAMS" -v b0="$b0" -v b1="$b1" \
	-v pub="$publishers" -v rss="$rss" 'BEGIN {
	cpu = (t1 - t0) / hz / d
	printf "publishers:            %d (of %d)\n", pub, n
	printf "ingest bitrate:        %.2f Mbit/s in all, %.2f per stream\n", (b1 - b0) * 8 / d / 1e6, (b1 - b0) * 8 / d / 1e6 / n
	printf "server CPU:            %.1f %% of a core in all, %.2f %% per stream\n", cpu * 100, cpu * 100 / n
	printf "server RSS:            %.1f MiB\n", rss / 1024
}'
echo "logs: $OUT/server.log $OUT/ffmpeg.log"
