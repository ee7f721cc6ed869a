# Sourced by the benchmark scripts (bench-cluster.sh, bench-cpu.sh): remove
# a cluster's folders so that the removal does not slow the measurement
# that follows.
#
# Why: ext4 without a journal (as the file system of this project's
# benchmark machine is) will not reuse an inode freed in the last 30 s,
# 60 s while its inode table block is dirty (which new files in the same
# block make it again and again), and its allocator looks at every such
# inode again for each file or directory it creates. Right after a cluster
# of thousands of objects was removed, 4 KiB PUTs ran at 172 ops/s with
# 20 % of the CPU in recently_deleted and the buffer lookups under it,
# against 276–306 ops/s once those inodes had aged (docs/benchmarks.md).
# Journaled ext4, XFS and the rest do not do this; the wait costs a minute.
#
#   wipe DIR     remove DIR, and note when if it held more than a few
#                hundred files
#   settle DIR   flush the file system of DIR, then wait until 62 s have
#                passed since the last wipe of DIR noted (none: no wait)
#
# The note is a file beside DIR (DIR.wiped), so a run waits for the removal
# its predecessor did at its end, too.

wipe() {
	local dir=$1
	local files
	[[ -e $dir ]] || return 0
	files=$(find "$dir" 2>/dev/null | head -n 501 | wc -l) || true # find stops on a closed pipe
	rm -rf "$dir"
	if ((files > 500)); then date +%s >"$dir.wiped"; fi
}

settle() {
	local dir=$1 stamp wait
	[[ -f $dir.wiped ]] || return 0
	stamp=$(cat "$dir.wiped")
	sync -f "$(dirname "$dir")" 2>/dev/null || sync
	wait=$((stamp + 62 - $(date +%s)))
	if ((wait > 0)); then
		printf '>> waiting %d s for the inodes freed by removing %s to age (scripts/wipe.sh says why)\n' "$wait" "$dir" >&2
		sleep "$wait"
	fi
}
