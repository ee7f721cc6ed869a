#!/usr/bin/env bash
# Shows that remote range reads (storage/remote's read endpoint) go from the
# file to the socket with sendfile(2), for exactly the range asked.
#
# It runs TestReadSendfile under `strace -f -e trace=sendfile`, once per case:
#   FileRange  a drive stream that implements FileRange (the zero-copy path)
#   Local      the real local drive (storage/local)
#   Plain      a stream that is only an io.Reader: the fallback, no sendfile
# and checks that the first two send the whole 3 MiB range with sendfile
# calls whose first asks for exactly the range, and that Plain makes none.
#
# Usage: scripts/sendfile-strace.sh   (Linux; skipped when strace is missing:
# apt-get install strace)
set -euo pipefail
GO=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v strace >/dev/null 2>&1; then
	echo "sendfile-strace: strace is not installed (apt-get install strace); skipping"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridstore-sendfile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$GO" test -c -o "$tmp/remote.test" ./storage/remote

# The range TestReadSendfile reads.
want=$((3 << 20))
fail=0
for c in FileRange Local Plain; do
	trace="$tmp/trace.$c"
	if ! strace -f -e trace=sendfile -o "$trace" "$tmp/remote.test" \
		-test.run "^TestReadSendfile\$/^$c\$" -test.count=1 -test.v >"$tmp/out.$c" 2>&1; then
		echo "sendfile-strace: the test failed under strace ($c):"
		cat "$tmp/out.$c"
		exit 1
	fi
	# Calls, bytes returned (complete lines and "resumed" ones alike) and
	# the count the first call asked for.
	read -r calls sent first < <(awk '
		/sendfile\(/ { calls++; if (first == "" && match($0, /NULL, [0-9]+/)) first = substr($0, RSTART + 6, RLENGTH - 6) }
		/sendfile/ && match($0, /= [0-9]+$/) { sent += substr($0, RSTART + 2) }
		END { print calls + 0, sent + 0, (first == "" ? "none" : first) }' "$trace")
	echo "== $c: $calls sendfile call(s), $sent bytes sent, first call asked for $first"
	awk '/sendfile/ && n++ < 8 { print "   " $0 }' "$trace"
	case $c in
	Plain)
		if ((calls != 0)); then
			echo "   unexpected: the plain fallback used sendfile"
			fail=1
		fi
		;;
	*)
		if ((sent != want)) || [[ $first != "$want" ]]; then
			echo "   FAIL: want the $want-byte range sent by sendfile, starting with one call for all of it"
			fail=1
		fi
		;;
	esac
done
if ((fail)); then
	exit 1
fi
echo "sendfile-strace: ok: ranges go file-to-socket in sendfile calls of the exact range"
