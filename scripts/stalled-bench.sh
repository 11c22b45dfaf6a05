#!/usr/bin/env bash
# What stalled viewers cost the others (docs/BENCHMARKS.md): paired runs of
# scripts/fanout-bench.sh, the same healthy load with and without viewers
# that stop reading, in alternating order so that a machine getting busier
# or quieter during the runs does not favour one side. Prints each pair's
# healthy p99 and their ratio, then the median ratio.
#
# Usage: scripts/stalled-bench.sh          (from anywhere in the repo)
# Knobs (environment): PAIRS (default 4) VIEWERS (2000) STALLED (500)
# CHAT_RATE (50) DURATION (30s) OUT (a directory for every run's output).
# Exit status: 0, or 1 when a run lost or duplicated an event.
set -euo pipefail

cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-4}
VIEWERS=${VIEWERS:-2000}
STALLED=${STALLED:-500}
CHAT_RATE=${CHAT_RATE:-50}
DURATION=${DURATION:-30s}
OUT=${OUT:-$(mktemp -d -t givelive-stalled.XXXXXX)}
mkdir -p "$OUT"
command -v jq >/dev/null || {
	echo "stalled-bench: needs jq" >&2
	exit 2
}

# run NAME STALLED: one fan-out run into $OUT/NAME.
run() {
	local name=$1 stalled=$2 args=""
	if [ "$stalled" -gt 0 ]; then
		args="-stalled $stalled"
	fi
	OUT="$OUT/$name" VIEWERS="$VIEWERS" CHAT_RATE="$CHAT_RATE" DURATION="$DURATION" RAMP=1000 \
		LOADTEST_ARGS="$args" scripts/fanout-bench.sh >"$OUT/$name.txt" 2>&1 || true
	local r="$OUT/$name/report.json"
	if [ ! -f "$r" ]; then
		echo "stalled-bench: run $name wrote no report; see $OUT/$name.txt" >&2
		exit 1
	fi
	if [ "$(jq '.lost + .duplicated' "$r")" != 0 ]; then
		echo "stalled-bench: run $name lost or duplicated events; see $OUT/$name.txt" >&2
		exit 1
	fi
}

p99() { jq '.latency_ms.p99' "$OUT/$1/report.json"; }

ratios=()
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) = 1 ]; then
		run "pair$i-without" 0
		run "pair$i-with" "$STALLED"
	else
		run "pair$i-with" "$STALLED"
		run "pair$i-without" 0
	fi
	without=$(p99 "pair$i-without")
	with=$(p99 "pair$i-with")
	r="$OUT/pair$i-with/report.json"
	ratio=$(jq -n "$with / $without")
	ratios+=("$ratio")
	printf 'pair %d: healthy p99 %.1f ms without, %.1f ms with %d stalled (%+.0f %%); stalled closed 4000: %s (after a stuck write: %s); server RSS %s MiB with, load %s\n' \
		"$i" "$without" "$with" "$STALLED" "$(jq -n "($ratio - 1) * 100")" \
		"$(jq .server_slow_consumer_closes "$r")" "$(jq .server_write_timeouts "$r")" \
		"$(jq '.server_rss_bytes / 1048576 | floor' "$r")" "$(cut -d' ' -f1 /proc/loadavg)"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | jq -s 'if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end')
printf 'median ratio over %d pairs: %.3f (%+.1f %%); runs in %s\n' "$PAIRS" "$median" "$(jq -n "($median - 1) * 100")" "$OUT"
