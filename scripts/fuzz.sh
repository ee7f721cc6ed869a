#!/usr/bin/env bash
# Runs every fuzz target (func Fuzz...) of every package for $FUZZTIME each.
# Targets are found with `go test -list`; a package that does not build fails
# the run.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
cd "$(dirname "$0")/.."

ran=0
for pkg in $("$GO" list ./...); do
	if ! list=$("$GO" test -run '^$' -list '^Fuzz' "$pkg" 2>&1); then
		echo "fuzz: listing fuzz targets of $pkg failed:" >&2
		echo "$list" >&2
		exit 1
	fi
	for target in $(grep -E '^Fuzz' <<<"$list" || true); do
		echo ">> fuzz $pkg $target for $FUZZTIME"
		"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
		ran=$((ran + 1))
	done
done
echo "fuzz: $ran targets ran for $FUZZTIME each"
