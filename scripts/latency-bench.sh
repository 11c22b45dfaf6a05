#!/usr/bin/env bash
# Glass-to-glass latency (docs/BENCHMARKS.md): one server, one publisher
# (ffmpeg encoding time-coded frames with x264 -tune zerolatency, a 2 s
# keyframe interval, AAC), one viewer page in headless Chromium reading the
# time code of every frame it shows (tools/latency). Reports the median,
# p90 and p99 of how late frames are shown, and how soon a freshly opened
# page shows its first frame.
#
# Usage: scripts/latency-bench.sh       (from anywhere in the repo)
# Knobs (environment): DURATION (seconds, 30) WARMUP (seconds, 10) RUNS (1)
# PART (GIVELIVE_HLS_PART, 200ms) GOP (frames, 60) ZEROLATENCY (true:
# x264 -tune zerolatency; false: x264's lookahead and B-frames) CODEC (h264;
# av1: SVT-AV1 low-delay, published over Enhanced RTMP) PORT (18100)
# RTMP_PORT (19351) OUT (a directory for the binary and logs; default a new
# temporary one) SERVER (a givelive binary to measure instead of this
# tree's, such as an older build). The web app must be built (make web).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

DURATION=${DURATION:-30}
WARMUP=${WARMUP:-10}
RUNS=${RUNS:-1}
PART=${PART:-200ms}
GOP=${GOP:-60}
ZEROLATENCY=${ZEROLATENCY:-true}
CODEC=${CODEC:-h264}
PORT=${PORT:-18100}
RTMP_PORT=${RTMP_PORT:-19351}
OUT=${OUT:-$(mktemp -d -t givelive-latency.XXXXXX)}
mkdir -p "$OUT"
for tool in ffmpeg curl jq chromium; do
	command -v "$tool" >/dev/null || { echo "latency-bench: needs $tool" >&2; exit 2; }
done

echo "== building into $OUT"
if [ -n "${SERVER:-}" ]; then cp "$SERVER" "$OUT/givelive"; else go build -o "$OUT/givelive" ./cmd/givelive; fi
go build -o "$OUT/latency" ./tools/latency

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
	GIVELIVE_HLS_PART="$PART" \
	GIVELIVE_API_RATE=-1 \
	GIVELIVE_LOG_LEVEL=warn \
	"$OUT/givelive" serve >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait 2>/dev/null || true' EXIT

api="http://127.0.0.1:$PORT/api/v1"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
json() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }
np=$(curl -fs -X POST "$api/nonprofits" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name":"Bench","registration_id":"1","country":"GB"}' | json id)
curl -fs -X POST "$api/nonprofits/$np/verify" -H "Authorization: Bearer $token" >/dev/null
btok=$(curl -fs -X POST "$api/broadcasters" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name":"Bench"}' | json token)

for run in $(seq "$RUNS"); do
	created=$(curl -fs -X POST "$api/fundraisers" -H "Authorization: Bearer $btok" -H 'Content-Type: application/json' \
		-d "{\"title\":\"latency $run\",\"nonprofit_id\":\"$np\",\"goal\":{\"amount\":100000,\"currency\":\"USD\"}}")
	id=$(echo "$created" | jq -r .id)
	key=$(echo "$created" | jq -r .stream_key)
	echo "== run $run: $CODEC, part $PART, keyframe every $GOP frames, zerolatency $ZEROLATENCY, $WARMUP s warm-up, $DURATION s measured"
	"$OUT/latency" -page "http://127.0.0.1:$PORT/f/$id" -rtmp "rtmp://127.0.0.1:$RTMP_PORT/live/$key" \
		-warmup "${WARMUP}s" -duration "${DURATION}s" -g "$GOP" -zerolatency="$ZEROLATENCY" -codec "$CODEC"
done
echo "logs: $OUT/server.log"
