#!/usr/bin/env bash
# `make bench-cluster`: the standard benchmark suite of issue 14 on a
# process cluster on loopback (scripts/cluster.sh), measured with
# `gridstore bench`, written as a markdown table with the machine, the
# commit and the date.
#
# Usage:
#   scripts/bench-cluster.sh [--nodes 4|1] [--write]
#     --nodes 4   4 nodes x 2 drives, one set of 8 drives, EC 4+4 (default)
#     --nodes 1   1 node with 4 drives, EC 2+2
#     --write     append the section to docs/benchmarks.md (else print it only)
#
# Environment:
#   BENCH_DURATION   length of each row (default 20s; e.g. 5s for a quick look)
#   BENCH_BASE_PORT  node I listens on BENCH_BASE_PORT+I-1 (default 9200), its
#                    gossip on that port + 10000
#   BENCH_DIR        drives, logs and raw results (default ./tmp/bench-cluster;
#                    its drives are wiped at the start)
#   BENCH_FLAGS      more flags for every `gridstore bench` (e.g. --unsigned-payload)
#   BENCH_CEILING    how long each of the two disk-ceiling runs takes (default
#                    10s; 0 skips them): before the suite, the PUT rows' shard
#                    writes and commits alone on the same file system
#                    (storage/local BenchmarkWriteCeiling), the most those
#                    rows can reach on this disk, written under the table
#   GO               the go command for `make build`
# Every row: a fresh bucket, the objects a GET needs put first (not
# measured). Nothing is deleted until the suite is over: the drives are
# removed at the end, and a run waits up to a minute after a removal
# before it measures (scripts/wipe.sh says why). RSS of every node is
# sampled once a second while the suite runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

nodes=4 write=0
while (($#)); do
	case $1 in
	--nodes)
		nodes=${2:-}
		shift
		;;
	--nodes=*) nodes=${1#--nodes=} ;;
	--write) write=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "!! bench-cluster: unknown argument $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
[[ $nodes == 1 || $nodes == 4 ]] || {
	echo "!! bench-cluster: --nodes is 4 or 1" >&2
	exit 2
}

DURATION=${BENCH_DURATION:-20s}
export CLUSTER_DIR=${BENCH_DIR:-$root/tmp/bench-cluster}
export BASE_PORT=${BENCH_BASE_PORT:-9200}
export GRIDSTORE_ROOT_USER=${GRIDSTORE_ROOT_USER:-gridstore}
export GRIDSTORE_ROOT_PASSWORD=${GRIDSTORE_ROOT_PASSWORD:-gridstore-dev-password}
if ((nodes == 1)); then export DRIVES=4; else export DRIVES=2; fi
BIN=$root/bin/gridstore
export GRIDSTORE_BIN=$BIN
read -r -a extra <<<"${BENCH_FLAGS:-}"

say() { printf '>> bench-cluster: %s\n' "$*" >&2; }

say "make build"
make -s build GO="${GO:-go}" >&2

# A cluster left by an earlier run that was killed would hold the ports.
scripts/cluster.sh stop >/dev/null 2>&1 || true
# shellcheck source=scripts/wipe.sh
. scripts/wipe.sh
wipe "$CLUSTER_DIR"

# The disk's ceiling for the PUT rows: their shard writes and commits with
# nothing else, on the file system the drives will be on. Both layouts
# have as many parity shards as data shards: objects are half the shards.
ceiling=
CEILING_TIME=${BENCH_CEILING:-10s}
if [[ $CEILING_TIME != 0 ]]; then
	ceiling_dir=$CLUSTER_DIR-ceiling
	mkdir -p "$ceiling_dir"
	if ((nodes == 1)); then which=1node; else which=4nodes; fi
	say "disk ceiling: go test ./storage/local -bench WriteCeiling/$which -benchtime $CEILING_TIME"
	ceiling_out=$(GRIDSTORE_BENCH_DIR=$ceiling_dir "${GO:-go}" test -run '^$' -bench "WriteCeiling/$which-" \
		-benchtime "$CEILING_TIME" -benchmem ./storage/local) || {
		echo "$ceiling_out" >&2
		say "the disk-ceiling benchmark failed"
		exit 1
	}
	echo "$ceiling_out" >&2
	ceiling=$(awk '/^BenchmarkWriteCeiling/ {
		for (i = 2; i <= NF; i++) if ($i == "shard-MiB/s") mib = $(i - 1)
		size = ($1 ~ /16MiB/) ? "16 MiB" : "1 MiB"
		printf "%sPUT %s ≤ %.0f MiB/s (%.0f MiB/s of shards)", sep, size, mib / 2, mib; sep = ", " }' <<<"$ceiling_out")
	rm -rf "$ceiling_dir"
	date +%s >"$CLUSTER_DIR.wiped" # its files' inodes age like a cluster's (scripts/wipe.sh)
fi
settle "$CLUSTER_DIR"
mkdir -p "$CLUSTER_DIR/results"
sampler=
cleanup() {
	if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; fi
	scripts/cluster.sh stop >&2 || true
	# The objects of every row, gigabytes of them; the results and logs stay.
	rm -rf "$CLUSTER_DIR"/node*/
	date +%s >"$CLUSTER_DIR.wiped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
scripts/cluster.sh start "$nodes" >&2

endpoints() { # endpoints FIRST LAST: the S3 URLs of nodes FIRST..LAST, comma-separated
	local i out=
	for ((i = $1; i <= $2; i++)); do
		out+=${out:+,}http://127.0.0.1:$((BASE_PORT + i - 1))
	done
	echo "$out"
}

# The sampler writes "row node rss_kib" lines once a second; the row is
# whatever the suite last wrote into $CLUSTER_DIR/row.
echo setup >"$CLUSTER_DIR/row"
(
	while :; do
		row=$(cat "$CLUSTER_DIR/row" 2>/dev/null || echo setup)
		for ((i = 1; i <= nodes; i++)); do
			pid=$(cat "$CLUSTER_DIR/node$i.pid" 2>/dev/null || true)
			[[ -n $pid ]] || continue
			rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
			[[ -n $rss ]] && echo "$row $i $rss"
		done
		sleep 1
	done >>"$CLUSTER_DIR/rss.txt"
) &
sampler=$!

table=$CLUSTER_DIR/results/table.md
: >"$table"
row_no=0

# row LABEL UNIT OP SIZE CLIENTS OBJECTS ENDPOINTS: run one workload and
# add its line to the table. UNIT is ops (ops/s) or MiB (MiB/s).
row() {
	local label=$1 unit=$2 op=$3 size=$4 clients=$5 objects=$6 eps=$7 csv result peak
	row_no=$((row_no + 1))
	csv=$CLUSTER_DIR/results/row$row_no.csv
	echo "row$row_no" >"$CLUSTER_DIR/row"
	say "$label: $op $size, $clients clients, $DURATION"
	local args=(bench --endpoint "$eps" --op "$op" --size "$size" --clients "$clients" --duration "$DURATION"
		--verify 10% --quiet --keep --csv "$csv" --series-csv "$CLUSTER_DIR/results/row$row_no-series.csv")
	if ((objects > 0)); then args+=(--objects "$objects"); fi
	if ! "$BIN" "${args[@]}" "${extra[@]}" >"$CLUSTER_DIR/results/row$row_no.txt" 2>&1; then
		say "$label failed: $(tail -n 5 "$CLUSTER_DIR/results/row$row_no.txt")"
	fi
	cat "$CLUSTER_DIR/results/row$row_no.txt" >&2
	echo idle >"$CLUSTER_DIR/row"
	# Peak RSS of each node during the row, as "min–max MiB" over nodes.
	peak=$(awk -v r="row$row_no" '$1 == r { if ($3 > m[$2]) m[$2] = $3 }
		END { lo = -1; hi = 0; for (n in m) { if (lo < 0 || m[n] < lo) lo = m[n]; if (m[n] > hi) hi = m[n] }
		      if (lo < 0) print "?"; else if (int(lo / 1024) == int(hi / 1024)) printf "%d MiB", hi / 1024
		      else printf "%d–%d MiB", lo / 1024, hi / 1024 }' "$CLUSTER_DIR/rss.txt")
	if [[ -s $csv ]]; then
		# op,ops,seconds,ops_per_sec,mib_per_sec,mean,p50,p90,p99,max,errors,slowdown,...
		result=$(awk -F, -v u="$unit" -v peak="$peak" -v label="$label" 'NR == 2 {
			r = (u == "ops") ? sprintf("%.0f ops/s", $4) : sprintf("%.1f MiB/s", $5)
			printf "| %s | %s | %.1f | %.1f | %.1f | %d | %d | %s |\n", label, r, $7, $9, $10, $11, $12, peak }' "$csv")
	else
		result="| $label | failed | | | | | | $peak |"
	fi
	echo "$result" >>"$table"
}

all=$(endpoints 1 "$nodes")
row "PUT 4 KiB, 32 clients" ops put 4KiB 32 0 "$all"
row "GET 4 KiB, 32 clients" ops get 4KiB 32 1000 "$all"
row "PUT 1 MiB, 8 clients" MiB put 1MiB 8 0 "$all"
row "GET 1 MiB, 8 clients" MiB get 1MiB 8 256 "$all"
row "PUT 16 MiB, 8 clients" MiB put 16MiB 8 0 "$all"
row "GET 16 MiB, 8 clients" MiB get 16MiB 8 32 "$all"
if ((nodes == 4)); then
	scripts/cluster.sh kill 4 >&2
	row "PUT 1 MiB, 8 clients, one node down" MiB put 1MiB 8 0 "$(endpoints 1 3)"
fi
kill "$sampler" 2>/dev/null || true
sampler=

rss_all=$(awk '$1 ~ /^row/ { if (lo == "" || $3 < lo) lo = $3; if ($3 > hi) hi = $3 }
	END { if (lo == "") print "?"; else printf "%d–%d MiB", lo / 1024, hi / 1024 }' "$CLUSTER_DIR/rss.txt")

if ((nodes == 1)); then
	shape="1 node, 4 drives, EC 2+2"
else
	shape="4 processes x 2 drives, one set of 8 drives, EC 4+4"
fi
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -PT "$CLUSTER_DIR" | awk 'NR == 2 {print $2 " on " $1}')
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
committed=$(git log -1 --format=%cs 2>/dev/null || echo unknown)
report=$CLUSTER_DIR/results/report.md
{
	echo
	echo "## bench-cluster: $shape, $(date -u +%F)"
	echo
	echo "\`scripts/bench-cluster.sh --nodes $nodes\`, $DURATION per row${BENCH_FLAGS:+, flags \`$BENCH_FLAGS\`};" \
		"commit \`$commit\` (of $committed), run $(date -u '+%F %H:%M UTC')."
	echo "Machine: $(nproc) CPUs ($cpu), $mem, $fs, Linux $(uname -r), $(${GO:-go} env GOVERSION 2>/dev/null || echo go)."
	echo "Load generator: \`gridstore bench\` on the same machine, clients spread over the nodes' endpoints."
	echo
	echo "| workload | result | p50 ms | p99 ms | max ms | errors | slowdown | peak RSS per node |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
	cat "$table"
	echo
	echo "RSS per node under load (every sample of every node during the rows): $rss_all."
	if [[ -n $ceiling ]]; then
		echo "Disk ceiling on the same file system, the PUT rows' shard writes and commits alone" \
			"(\`go test ./storage/local -bench WriteCeiling/$which -benchtime $CEILING_TIME\`, run before the rows): $ceiling."
	fi
} >"$report"
cat "$report"
if ((write)); then
	cat "$report" >>docs/benchmarks.md
	say "appended to docs/benchmarks.md"
fi
say "raw results in $CLUSTER_DIR/results"
