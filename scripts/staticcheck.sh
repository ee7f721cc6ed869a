#!/usr/bin/env bash
# Runs staticcheck at $STATICCHECK_VERSION, fetched through the Go module proxy
# (`go run pkg@version` does not touch go.mod). If it cannot be fetched (no
# network, proxy down), prints a notice and exits 0: lint then runs without it.
set -euo pipefail
GO=${GO:-go}
: "${STATICCHECK_VERSION:?set STATICCHECK_VERSION}"
pkg="honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"

if ! fetch_err=$("$GO" run "$pkg" -version 2>&1 >/dev/null); then
	echo "staticcheck: SKIPPED, could not fetch $pkg:"
	echo "$fetch_err" | sed -n '1,5s/^/  /p'
	exit 0
fi
exec "$GO" run "$pkg" ./...
