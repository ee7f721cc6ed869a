#!/usr/bin/env bash
# Fails if `go generate ./...` would change or add a generated file
# (*_gen.go, *_gen_test.go). Generation runs on a copy of the source tree in a
# temporary directory, so uncommitted work in the tree is never touched.
#
# The copy holds what git would commit: tracked and untracked files, minus
# ignored ones (outside git: everything but .git, bin, data and tmp).
set -euo pipefail
GO=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridstore-gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked files deleted in the tree are skipped.
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$tmp"
else
	tar --exclude=./.git --exclude=./bin --exclude=./data --exclude=./tmp -cf - . | tar -xf - -C "$tmp"
fi

if ! (cd "$tmp" && "$GO" generate ./...); then
	echo "check-generated: go generate failed" >&2
	exit 1
fi

stale=0
while IFS= read -r -d '' f; do
	f=${f#./}
	if [[ ! -e $root/$f ]]; then
		echo "check-generated: $f is generated but missing from the tree (run make generate)"
		stale=1
	elif ! cmp -s "$root/$f" "$tmp/$f"; then
		echo "check-generated: $f is stale (run make generate):"
		diff -u "$root/$f" "$tmp/$f" | head -40 || true
		stale=1
	fi
done < <(cd "$tmp" && find . \( -name '*_gen.go' -o -name '*_gen_test.go' \) -print0)

if ((stale)); then
	exit 1
fi
echo "check-generated: generated files are up to date"
