#!/usr/bin/env bash
# `make cluster-up`: start the four-node cluster of docker-compose.yml and
# wait until every node's healthcheck passes, then say where to connect.
# The image is built by docker-compose from bin/ (make image-context puts the
# static binary and the drive mount points there); nothing is pulled.
#
# Environment:
#   COMPOSE            the docker-compose command (default docker-compose)
#   COMPOSE_PROJECT    project name (default: docker-compose's, this directory's name)
#   CLUSTER_WAIT       seconds to wait for every node to be healthy (default 180)
#   GRIDSTORE_S3_PORT, GRIDSTORE_S3_BIND, GRIDSTORE_IMAGE,
#   GRIDSTORE_ROOT_USER, GRIDSTORE_ROOT_PASSWORD: see docker-compose.yml
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

read -r -a compose <<<"${COMPOSE:-docker-compose}"
if [[ -n ${COMPOSE_PROJECT:-} ]]; then
	compose+=(-p "$COMPOSE_PROJECT")
fi
wait_s=${CLUSTER_WAIT:-180}

die() {
	printf '!! cluster-up: %s\n' "$*" >&2
	exit 1
}

command -v "${compose[0]}" >/dev/null 2>&1 ||
	die "${compose[0]} is not installed (docker-compose 1.29 reads docker-compose.yml)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
[[ -x bin/gridstore && -d bin/mountpoints/data1 ]] || die "bin/ lacks the binary or the mount points: run make cluster-up, not this script"

echo ">> cluster-up: ${compose[*]} up -d --build"
"${compose[@]}" up -d --build

services=(node1 node2 node3 node4)
deadline=$((SECONDS + wait_s))
while :; do
	unhealthy=()
	for s in "${services[@]}"; do
		id=$("${compose[@]}" ps -q "$s")
		status=$([[ -n $id ]] && docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)
		[[ $status == healthy ]] || unhealthy+=("$s:$status")
	done
	((${#unhealthy[@]} == 0)) && break
	if ((SECONDS >= deadline)); then
		"${compose[@]}" ps >&2 || true
		"${compose[@]}" logs --tail 20 >&2 || true
		die "not healthy after ${wait_s}s: ${unhealthy[*]}"
	fi
	sleep 2
done

bind=${GRIDSTORE_S3_BIND:-127.0.0.1}
[[ $bind == 0.0.0.0 ]] && bind=127.0.0.1
echo ">> cluster-up: 4 nodes healthy (EC 4+4 over 8 drives)"
echo ">>   S3 endpoint: http://$bind:${GRIDSTORE_S3_PORT:-9000}  (node1; every node serves the whole namespace)"
if [[ -n ${GRIDSTORE_ROOT_USER:-} ]]; then
	echo ">>   Access key:  $GRIDSTORE_ROOT_USER   [GRIDSTORE_ROOT_USER]"
else
	echo ">>   Access key:  gridstore   [development default]"
fi
if [[ -n ${GRIDSTORE_ROOT_PASSWORD:-} ]]; then
	echo ">>   Secret key:  (the value of GRIDSTORE_ROOT_PASSWORD)"
else
	echo ">>   Secret key:  gridstore-dev-password   [development default]"
fi
echo ">>   Status: ${compose[*]} ps; stop: make cluster-down (keeps the drives); wipe: make cluster-clean"
