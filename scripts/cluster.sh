#!/usr/bin/env bash
# A multi-process gridstore cluster on loopback, without Docker: N server
# processes of bin/gridstore (`make build`), each with its own drive folders,
# all given the same endpoint list. For trying a cluster on one machine and
# for scripts that need one; Go tests use the package node/clusterproc.
#
# Usage:
#   scripts/cluster.sh start [N]   start N nodes (default 4) and wait until each is ready
#   scripts/cluster.sh stop        stop them (SIGTERM, then SIGKILL after 30 s)
#   scripts/cluster.sh status      one line per node: pid, port, health
#   scripts/cluster.sh kill I      SIGKILL node I (1-based), to try a failure
#   scripts/cluster.sh restart I   start node I again on its port and folders
#
# Environment:
#   CLUSTER_DIR   where drives, logs and pid files go (default ./tmp/cluster)
#   BASE_PORT     node I listens on 127.0.0.1:BASE_PORT+I-1 (default 9100);
#                 its gossip on that port + 10000, so both must be free
#   DRIVES        drives per node (default 2; 4 nodes x 2 drives is one set
#                 of 8 drives, EC 4+4)
#   GRIDSTORE_ROOT_USER, GRIDSTORE_ROOT_PASSWORD
#                 the S3 credentials (defaults: gridstore / gridstore-dev-password)
#   GRIDSTORE_BIN the binary (default bin/gridstore)
#   PPROF_BASE_PORT  if set, node I serves Go's profiles at
#                 http://127.0.0.1:PPROF_BASE_PORT+I-1/debug/pprof/ (--pprof-address)
# Every other GRIDSTORE_* variable set reaches the servers as it is (see
# docs/configuration.md).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BIN=${GRIDSTORE_BIN:-$root/bin/gridstore}
DIR=${CLUSTER_DIR:-$root/tmp/cluster}
BASE_PORT=${BASE_PORT:-9100}
DRIVES=${DRIVES:-2}
[[ $DIR != *" "* ]] || { echo "!! cluster: CLUSTER_DIR must not contain spaces (it goes into the endpoint URLs)" >&2; exit 1; }
export GRIDSTORE_ROOT_USER=${GRIDSTORE_ROOT_USER:-gridstore}
export GRIDSTORE_ROOT_PASSWORD=${GRIDSTORE_ROOT_PASSWORD:-gridstore-dev-password}

say() { printf '>> cluster: %s\n' "$*"; }
die() {
	printf '!! cluster: %s\n' "$*" >&2
	exit 1
}

# The node count of a running cluster is remembered in $DIR/nodes, so that
# stop, status, kill and restart need no N.
nodes() { cat "$DIR/nodes" 2>/dev/null || echo 0; }
port() { echo $((BASE_PORT + $1 - 1)); }
pid_of() { cat "$DIR/node$1.pid" 2>/dev/null || true; }
# alive: the node's process exists and is not a zombie (a killed node whose
# parent has not reaped it yet is dead for our purposes).
alive() {
	local pid state
	pid=$(pid_of "$1")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
	[[ $state != Z* ]]
}

endpoints() {
	local n=$1 i j
	for ((i = 1; i <= n; i++)); do
		for ((j = 1; j <= DRIVES; j++)); do
			printf 'http://127.0.0.1:%d%s/node%d/d%d ' "$(port "$i")" "$DIR" "$i" "$j"
		done
	done
}

spawn() {
	local i=$1 addr pprof=()
	addr=127.0.0.1:$(port "$i")
	[[ -z ${PPROF_BASE_PORT:-} ]] || pprof=(--pprof-address "127.0.0.1:$((PPROF_BASE_PORT + i - 1))")
	printf '=== cluster.sh: start node %d at %s\n' "$i" "$(date -u +%FT%TZ)" >>"$DIR/node$i.log"
	# shellcheck disable=SC2046 # the endpoint list is split on purpose
	nohup "$BIN" server --address "$addr" --self "$addr" "${pprof[@]}" $(cat "$DIR/endpoints") \
		>>"$DIR/node$i.log" 2>&1 </dev/null &
	echo $! >"$DIR/node$i.pid"
}

wait_ready() {
	local i=$1 deadline=$((SECONDS + 90))
	until "$BIN" healthcheck --url "http://127.0.0.1:$(port "$i")/health/ready" --timeout 2s >/dev/null 2>&1; do
		alive "$i" || die "node $i exited; see $DIR/node$i.log:
$(tail -n 20 "$DIR/node$i.log")"
		((SECONDS < deadline)) || die "node $i not ready after 90 s; see $DIR/node$i.log"
		sleep 0.2
	done
}

cmd_start() {
	local n=${1:-4} i
	[[ -x $BIN ]] || die "$BIN not found: run make build (or set GRIDSTORE_BIN)"
	((n >= 1)) || die "N must be at least 1"
	for ((i = 1; i <= $(nodes); i++)); do
		alive "$i" && die "node $i is running (pid $(pid_of "$i")): run $0 stop first"
	done
	mkdir -p "$DIR"
	echo "$n" >"$DIR/nodes"
	endpoints "$n" >"$DIR/endpoints"
	for ((i = 1; i <= n; i++)); do
		spawn "$i"
	done
	for ((i = 1; i <= n; i++)); do
		wait_ready "$i"
	done
	say "$n nodes of $DRIVES drives ready; drives and logs in $DIR"
	for ((i = 1; i <= n; i++)); do
		say "  node $i: http://127.0.0.1:$(port "$i")  (pid $(pid_of "$i"), log $DIR/node$i.log)"
	done
	say "Access key: $GRIDSTORE_ROOT_USER   Secret key: (the value of GRIDSTORE_ROOT_PASSWORD)   Region: us-east-1"
}

cmd_stop() {
	local n i deadline
	n=$(nodes)
	for ((i = 1; i <= n; i++)); do
		alive "$i" && kill -CONT "$(pid_of "$i")" && kill -TERM "$(pid_of "$i")"
	done
	deadline=$((SECONDS + 30))
	for ((i = 1; i <= n; i++)); do
		while alive "$i" && ((SECONDS < deadline)); do sleep 0.2; done
		if alive "$i"; then
			say "node $i did not stop in 30 s: SIGKILL"
			kill -KILL "$(pid_of "$i")" || true
		fi
		rm -f "$DIR/node$i.pid"
	done
	say "stopped $n nodes (drives and logs stay in $DIR)"
}

cmd_status() {
	local n i state
	n=$(nodes)
	((n > 0)) || die "no cluster in $DIR"
	for ((i = 1; i <= n; i++)); do
		if ! alive "$i"; then
			state=down
		elif "$BIN" healthcheck --url "http://127.0.0.1:$(port "$i")/health/ready" --timeout 2s >/dev/null 2>&1; then
			state=ready
		else
			state="running, not ready"
		fi
		printf 'node %d  127.0.0.1:%d  pid %-8s %s\n' "$i" "$(port "$i")" "$(pid_of "$i")" "$state"
	done
}

node_arg() {
	[[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= $(nodes))) || die "give a node number from 1 to $(nodes)"
}

case ${1:-} in
start) cmd_start "${2:-4}" ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill)
	node_arg "${2:-}"
	alive "$2" && kill -KILL "$(pid_of "$2")"
	for ((t = 0; t < 50; t++)); do alive "$2" || break; sleep 0.2; done
	alive "$2" && die "node $2 still alive 10 s after SIGKILL"
	say "node $2 killed"
	;;
restart)
	node_arg "${2:-}"
	alive "$2" && die "node $2 is running"
	spawn "$2"
	wait_ready "$2"
	say "node $2 ready again (pid $(pid_of "$2"))"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
