package layout

import (
	"fmt"
	"hash/crc32"
)

// Distribution returns the order in which an object's shards lie on the
// drives of its set of setSize drives: element p (0-based drive position in
// the set) is the 1-based number of the shard that drive holds. It is a
// rotation of 1..setSize starting at crc32(ObjectKey) mod setSize:
//
//	distribution[p] = 1 + (start + p) mod setSize
//
// so that data and parity shards of different objects land on different
// drives and no drive serves all the first shards. Unlike SetIndex this
// is not frozen: the distribution is recorded in every object's metadata
// (storage.ErasureInfo.Distribution) and read back from there, so a new
// rule would affect new writes only.
func Distribution(bucket, object string, setSize int) ([]int, error) {
	if setSize < 1 {
		return nil, fmt.Errorf("%w: set size %d", ErrBadArgument, setSize)
	}
	start := int(crc32.ChecksumIEEE([]byte(ObjectKey(bucket, object))) % uint32(setSize))
	d := make([]int, setSize)
	for p := range d {
		d[p] = 1 + (start+p)%setSize
	}
	return d, nil
}

// ValidateDistribution checks that d is a permutation of 1..n. A
// distribution read from a drive's metadata may be damaged; nothing should
// index with it before this passes.
func ValidateDistribution(d []int, n int) error {
	if len(d) != n {
		return fmt.Errorf("%w: %d entries for %d drives", ErrBadDistribution, len(d), n)
	}
	seen := make([]bool, n)
	for p, shard := range d {
		if shard < 1 || shard > n {
			return fmt.Errorf("%w: position %d holds shard %d, want 1 to %d", ErrBadDistribution, p, shard, n)
		}
		if seen[shard-1] {
			return fmt.Errorf("%w: shard %d appears twice", ErrBadDistribution, shard)
		}
		seen[shard-1] = true
	}
	return nil
}

// ShuffleDrives puts a set's drives (in set position order) in shard order:
// the result's element i is the drive that holds shard i+1, i.e.
// out[distribution[p]-1] = drives[p]. Encoders write shard i to out[i];
// decoders read shard i from it.
func ShuffleDrives[T any](drives []T, distribution []int) ([]T, error) {
	if err := ValidateDistribution(distribution, len(drives)); err != nil {
		return nil, err
	}
	out := make([]T, len(drives))
	for p, shard := range distribution {
		out[shard-1] = drives[p]
	}
	return out, nil
}

// UnshuffleShards is the inverse of ShuffleDrives: it puts values in shard
// order (one per shard, shard 1 first) back in drive position order, i.e.
// out[p] = shards[distribution[p]-1]; for example the per-shard results of
// a write, to report them per drive.
func UnshuffleShards[T any](shards []T, distribution []int) ([]T, error) {
	if err := ValidateDistribution(distribution, len(shards)); err != nil {
		return nil, err
	}
	out := make([]T, len(shards))
	for p, shard := range distribution {
		out[p] = shards[shard-1]
	}
	return out, nil
}
