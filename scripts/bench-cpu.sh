#!/usr/bin/env bash
# The servers' CPU time per operation: a fresh 4-node cluster on loopback
# (scripts/cluster.sh) of the given binary, a fixed count of operations from
# `gridstore bench`, and the four servers' user+system CPU time
# (/proc/PID/stat) over that run. On a shared machine whose throughput swings
# from run to run, CPU per operation is the steadier figure: compare two
# binaries by running this for each, interleaved, several times.
#
# Usage:
#   scripts/bench-cpu.sh BINARY OP SIZE CLIENTS COUNT
#   e.g. scripts/bench-cpu.sh bin/gridstore get 4KiB 32 20000
#        scripts/bench-cpu.sh /tmp/gridstore-before put 1MiB 8 1500
#
# A GET, stat or delete run puts 32 objects first (not measured); objects
# are kept (--keep), not deleted afterwards, so that their removal is not
# counted; the cluster's folders are wiped at the next run, which then
# waits up to a minute for the file system to be ready (scripts/wipe.sh).
#
# Environment: BENCH_DIR (default ./tmp/bench-cpu), BENCH_BASE_PORT (default
# 9300; its gossip on that port + 10000).
set -euo pipefail

(($# == 5)) || {
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
}
bin=$(realpath "$1")
op=$2 size=$3 clients=$4 count=$5
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CLUSTER_DIR=${BENCH_DIR:-$root/tmp/bench-cpu}
export BASE_PORT=${BENCH_BASE_PORT:-9300}
export GRIDSTORE_BIN=$bin
export GRIDSTORE_ROOT_USER=${GRIDSTORE_ROOT_USER:-gridstore}
export GRIDSTORE_ROOT_PASSWORD=${GRIDSTORE_ROOT_PASSWORD:-gridstore-dev-password}

# shellcheck source=scripts/wipe.sh
. scripts/wipe.sh
scripts/cluster.sh stop >/dev/null 2>&1 || true
wipe "$CLUSTER_DIR"
settle "$CLUSTER_DIR"
trap 'scripts/cluster.sh stop >/dev/null 2>&1 || true' EXIT
scripts/cluster.sh start 4 >/dev/null

pids=()
for f in "$CLUSTER_DIR"/node*.pid; do
	[[ -f $f ]] && pids+=("$(cat "$f")")
done
((${#pids[@]} == 4)) || {
	echo "!! bench-cpu: found ${#pids[@]} server pids in $CLUSTER_DIR, want 4" >&2
	exit 1
}
# Fields 14 and 15 of /proc/PID/stat: user and system time, in clock ticks.
ticks() {
	local sum=0 p f
	for p in "${pids[@]}"; do
		read -r -a f <"/proc/$p/stat"
		sum=$((sum + f[13] + f[14]))
	done
	echo "$sum"
}
endpoints=$(seq -s, -f "http://127.0.0.1:%g" "$BASE_PORT" "$((BASE_PORT + 3))")
before=$(ticks)
summary=$("$bin" bench --endpoint "$endpoints" --op "$op" --size "$size" --clients "$clients" \
	--count "$count" --objects 32 --keep 2>&1 | grep '^\[done')
after=$(ticks)
awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$count" -v s="$summary" \
	'BEGIN { gsub(/ +/, " ", s); printf "%s | servers CPU %.3f s per 1000 ops\n", s, t / hz / n * 1000 }'
