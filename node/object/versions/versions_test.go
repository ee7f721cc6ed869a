package versions

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

const emptyETag = "d41d8cd98f00b204e9800998ecf8427e"

// fv builds a version of a 4-drive 2+2 set; opts adjust it.
func fv(id string, mod int64, opts ...func(*storage.FileVersion)) storage.FileVersion {
	v := storage.FileVersion{
		VersionID: id,
		ModTime:   time.Unix(0, mod).UTC(),
		ETag:      emptyETag,
		Erasure: storage.ErasureInfo{
			DataBlocks: 2, ParityBlocks: 2, BlockSize: 1 << 20, Distribution: []int{1, 2, 3, 4},
		},
	}
	for _, o := range opts {
		o(&v)
	}
	return v
}

func key(id string, mod int64, opts ...func(*storage.FileVersion)) Key {
	v := fv(id, mod, opts...)
	return KeyOf(&v)
}

func withDataDir(d string) func(*storage.FileVersion) {
	return func(v *storage.FileVersion) { v.DataDir = d }
}
func withSize(n int64) func(*storage.FileVersion) {
	return func(v *storage.FileVersion) { v.Size = n }
}
func withETag(e string) func(*storage.FileVersion) {
	return func(v *storage.FileVersion) { v.ETag = e }
}
func withShards(data, parity int) func(*storage.FileVersion) {
	return func(v *storage.FileVersion) { v.Erasure.DataBlocks, v.Erasure.ParityBlocks = data, parity }
}
func withBlockSize(n int64) func(*storage.FileVersion) {
	return func(v *storage.FileVersion) { v.Erasure.BlockSize = n }
}
func withDist(d ...int) func(*storage.FileVersion) {
	return func(v *storage.FileVersion) { v.Erasure.Distribution = d }
}
func deleted(v *storage.FileVersion) { v.Deleted = true }

// TestCompareOrder pins the order between versions: newest first by
// (mod time, version ID), then the documented tie-breakers, never the
// ETag before them.
func TestCompareOrder(t *testing.T) {
	const sec = int64(time.Second)
	cases := []struct {
		name          string
		newer, older  Key
		newerID, olID string
	}{
		{name: "newer mod time wins",
			newer: key("a", 2*sec), older: key("b", 1*sec)},
		{name: "newer mod time wins by a nanosecond",
			newer: key("a", sec+1), older: key("z", sec)},
		{name: "newer mod time wins over every tie-breaker",
			newer: key("a", 2*sec),
			older: key("z", sec, withDataDir("zz"), withSize(9), withETag("zz"), withShards(3, 1), withBlockSize(1<<21), withDist(4, 3, 2, 1), deleted)},
		{name: "empty objects, equal ETags: mod time decides",
			newer: key("a", 2*sec, withETag(emptyETag)), older: key("b", sec, withETag(emptyETag))},
		{name: "empty objects, equal ETags, the same ID: mod time decides",
			newer: key("null", 2*sec), older: key("null", sec)},
		{name: "ETag never beats mod time",
			newer: key("a", 2*sec, withETag("0")), older: key("b", sec, withETag("f"))},
		{name: "times beyond UnixNano's range keep their order",
			newer: KeyOf(&storage.FileVersion{ModTime: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}),
			older: KeyOf(&storage.FileVersion{ModTime: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)})},
		{name: "times before UnixNano's range keep their order",
			newer: KeyOf(&storage.FileVersion{ModTime: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}),
			older: KeyOf(&storage.FileVersion{ModTime: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)})},
		{name: "equal mod time: greater version ID",
			newer: key("b", sec), older: key("a", sec)},
		{name: "equal mod time: version ID before every tie-breaker",
			newer: key("b", sec),
			older: key("a", sec, withDataDir("zz"), withSize(9), withETag("zz"), withShards(3, 1), withBlockSize(1<<21), withDist(4, 3, 2, 1), deleted)},
		// The same time and ID: records that should not exist, ordered
		// by data dir, size, ETag, data count, block size, distribution,
		// delete marker, parity; each outranks those after it.
		{name: "tie: greater data dir",
			newer: key("a", sec, withDataDir("y"), withSize(1)), older: key("a", sec, withDataDir("x"), withSize(2))},
		{name: "tie: greater size",
			newer: key("a", sec, withSize(2), withETag("a")), older: key("a", sec, withSize(1), withETag("b"))},
		{name: "tie: greater ETag, late",
			newer: key("a", sec, withETag("b"), withShards(2, 2)), older: key("a", sec, withETag("a"), withShards(3, 1))},
		{name: "tie: more data shards",
			newer: key("a", sec, withShards(3, 1), withBlockSize(1)), older: key("a", sec, withShards(2, 2), withBlockSize(2))},
		{name: "tie: greater block size",
			newer: key("a", sec, withBlockSize(2), withDist(1, 2, 3, 4)), older: key("a", sec, withBlockSize(1), withDist(2, 1, 3, 4))},
		{name: "tie: greater distribution",
			newer: key("a", sec, withDist(2, 1, 3, 4)), older: key("a", sec, withDist(1, 2, 3, 4), deleted)},
		{name: "tie: longer distribution",
			newer: key("a", sec, withDist(1, 2, 3, 4)), older: key("a", sec, withDist(1, 2, 3))},
		{name: "tie: delete marker first",
			newer: key("a", sec, deleted, withShards(2, 1)), older: key("a", sec, withShards(2, 2))},
		{name: "tie: more parity last",
			newer: key("a", sec, deleted, withShards(2, 2)), older: key("a", sec, deleted, withShards(2, 1))},
	}
	for _, c := range cases {
		if got := Compare(c.newer, c.older); got >= 0 {
			t.Errorf("%s: Compare(newer, older) = %d, want < 0", c.name, got)
		}
		if got := Compare(c.older, c.newer); got <= 0 {
			t.Errorf("%s: Compare(older, newer) = %d, want > 0", c.name, got)
		}
	}
}

// oldQuorumCompare and oldListingCompare are the two orders this package
// replaced (node/object's compareKeys, node/object/listing's
// compareVersions), frozen here to show the order did not change.
func oldQuorumCompare(a, b *storage.FileVersion) int {
	dist := func(v *storage.FileVersion) string {
		var s []string
		for _, d := range v.Erasure.Distribution {
			s = append(s, strconv.Itoa(d))
		}
		return strings.Join(s, ",")
	}
	if c := cmp.Compare(b.ModTime.UnixNano(), a.ModTime.UnixNano()); c != 0 {
		return c
	}
	if c := strings.Compare(b.VersionID, a.VersionID); c != 0 {
		return c
	}
	return cmp.Or(
		strings.Compare(b.DataDir, a.DataDir),
		cmp.Compare(b.Size, a.Size),
		strings.Compare(b.ETag, a.ETag),
		cmp.Compare(b.Erasure.DataBlocks, a.Erasure.DataBlocks),
		cmp.Compare(b.Erasure.BlockSize, a.Erasure.BlockSize),
		strings.Compare(dist(b), dist(a)),
		boolCompare(b.Deleted, a.Deleted),
	)
}

func oldListingCompare(a, b *storage.FileVersion) int {
	if c := b.ModTime.Compare(a.ModTime); c != 0 {
		return c
	}
	if c := strings.Compare(b.VersionID, a.VersionID); c != 0 {
		return c
	}
	return cmp.Or(
		strings.Compare(b.DataDir, a.DataDir),
		cmp.Compare(b.Size, a.Size),
		strings.Compare(b.ETag, a.ETag),
		cmp.Compare(b.Erasure.DataBlocks, a.Erasure.DataBlocks),
		cmp.Compare(b.Erasure.BlockSize, a.Erasure.BlockSize),
		slices.Compare(b.Erasure.Distribution, a.Erasure.Distribution),
		boolCompare(b.Deleted, a.Deleted),
	)
}

// randomVersion draws a version from a small domain, so that pairs often
// tie on the leading fields and the later tie-breakers get exercised.
func randomVersion(r *rand.Rand) storage.FileVersion {
	pick := func(n int) int { return r.IntN(n) }
	dists := [][]int{nil, {1, 2, 3, 4}, {2, 1, 3, 4}, {1, 2, 3}}
	data := 2 + pick(2)
	return storage.FileVersion{
		ModTime:   time.Unix(int64(pick(2)), int64(pick(2))).UTC(),
		VersionID: []string{"a", "b"}[pick(2)],
		DataDir:   []string{"", "d"}[pick(2)],
		Size:      int64(pick(2)),
		ETag:      []string{emptyETag, "x"}[pick(2)],
		Deleted:   pick(2) == 0,
		Erasure: storage.ErasureInfo{
			DataBlocks: data, ParityBlocks: 4 - data - pick(2),
			BlockSize: int64(1 << (10 + 10*pick(2))), Distribution: dists[pick(len(dists))],
		},
	}
}

// TestCompareMatchesOldOrders: wherever either old order decided, Compare
// decides the same way. (They disagreed with each other only on
// distributions with two-digit entries, which these do not have; where
// both tied, only parity was left, which Compare now orders.)
func TestCompareMatchesOldOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a, b := randomVersion(r), randomVersion(r)
		got := Compare(KeyOf(&a), KeyOf(&b))
		for name, old := range map[string]func(a, b *storage.FileVersion) int{
			"object layer": oldQuorumCompare, "listing": oldListingCompare,
		} {
			if want := old(&a, &b); want != 0 && got != want {
				t.Fatalf("Compare = %d, the %s's order said %d\n a %+v\n b %+v", got, name, want, a, b)
			}
		}
		if (got == 0) != (KeyOf(&a) == KeyOf(&b)) {
			t.Fatalf("Compare = %d for keys equal: %v\n a %+v\n b %+v", got, KeyOf(&a) == KeyOf(&b), a, b)
		}
	}
}

// TestCompareTotal: Compare is a total order consistent with ==: zero
// exactly for equal keys, antisymmetric, transitive (moved from
// node/object's TestCompareKeysTotal).
func TestCompareTotal(t *testing.T) {
	keys := []Key{
		key("a", 1), key("b", 1), key("a", 2),
		key("a", 1, withDataDir("x")), key("a", 1, withETag("e")),
		key("a", 1, withShards(2, 1)), key("a", 1, deleted), key("a", 1, withDist()),
		key("a", 1, withDist(256, 2, 3, 4)), // does not fit a key
	}
	for i, a := range keys {
		for j, b := range keys {
			c := Compare(a, b)
			if (c == 0) != (i == j) || c != -Compare(b, a) {
				t.Errorf("Compare(%d, %d) = %d, Compare(%d, %d) = %d", i, j, c, j, i, Compare(b, a))
			}
		}
	}
	if Compare(keys[2], keys[0]) >= 0 || Compare(keys[1], keys[0]) >= 0 {
		t.Error("newer must sort first")
	}
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, Compare)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if Compare(sorted[i], sorted[j]) >= 0 {
				t.Errorf("sorted keys %d and %d out of order: not transitive", i, j)
			}
		}
	}
}

// TestKeyOf: a key holds what makes a version, and nothing per drive.
func TestKeyOf(t *testing.T) {
	base := fv("v1", 1e9, withDataDir("dd"), withSize(5), withETag("e"))
	k := KeyOf(&base)
	if k.ModTime() != base.ModTime || k.VersionID() != "v1" || k.DataDir() != "dd" || k.ETag() != "e" ||
		k.Size() != 5 || k.Deleted() || k.DataBlocks() != 2 || k.ParityBlocks() != 2 || k.BlockSize() != 1<<20 {
		t.Errorf("accessors of %+v do not give back %+v", k, base)
	}
	perDrive := base
	perDrive.Erasure.Index = 3
	perDrive.InlineData = []byte("shard")
	perDrive.Parts = []storage.PartInfo{{Number: 1, Size: 5}}
	perDrive.ContentType = "text/plain"
	perDrive.UserMetadata = map[string]string{"a": "b"}
	perDrive.SysMetadata = map[string]string{"c": "d"}
	perDrive.ModTime = base.ModTime.In(time.FixedZone("elsewhere", 3600))
	if KeyOf(&perDrive) != k {
		t.Error("per-drive and display fields change the key")
	}
	nilDist, emptyDist := base, base
	nilDist.Erasure.Distribution, emptyDist.Erasure.Distribution = nil, []int{}
	if KeyOf(&nilDist) != KeyOf(&emptyDist) {
		t.Error("nil and empty distributions differ")
	}
	for name, change := range map[string]func(*storage.FileVersion){
		"mod time":     func(v *storage.FileVersion) { v.ModTime = v.ModTime.Add(1) },
		"version ID":   func(v *storage.FileVersion) { v.VersionID = "v2" },
		"data dir":     withDataDir("other"),
		"ETag":         withETag("f"),
		"size":         withSize(6),
		"deleted":      deleted,
		"data":         withShards(3, 2),
		"parity":       withShards(2, 1),
		"block size":   withBlockSize(1 << 10),
		"distribution": withDist(4, 3, 2, 1),
		"too long":     withDist(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17),
		"out of range": withDist(1, 2, 3, 1000),
		"negative":     withDist(1, 2, 3, -1),
	} {
		v := base
		change(&v)
		if KeyOf(&v) == k {
			t.Errorf("%s: the key does not change", name)
		}
	}
	// Distributions that do not fit a key (only a delete marker can carry
	// one past CheckErasure) are all one.
	a, b := fv("x", 1, deleted, withDist(1000)), fv("x", 1, deleted, withDist(make([]int, 40)...))
	if KeyOf(&a) != KeyOf(&b) {
		t.Error("distributions that do not fit a key differ")
	}
}

func TestNeeded(t *testing.T) {
	if got := Needed(key("a", 1, withShards(3, 1)), 2); got != 3 {
		t.Errorf("version: Needed = %d, want its data count 3", got)
	}
	if got := Needed(key("a", 1, deleted), 2); got != 2 {
		t.Errorf("delete marker: Needed = %d, want the read quorum 2", got)
	}
}

func TestCheckErasure(t *testing.T) {
	seq := func(n int) []int {
		d := make([]int, n)
		for i := range d {
			d[i] = i + 1
		}
		return d
	}
	ec := func(data, parity int, bs int64, dist []int) func(*storage.FileVersion) {
		return func(v *storage.FileVersion) {
			v.Erasure = storage.ErasureInfo{DataBlocks: data, ParityBlocks: parity, BlockSize: bs, Distribution: dist}
		}
	}
	algo := func(a string) func(*storage.FileVersion) {
		return func(v *storage.FileVersion) { v.Erasure.ChecksumAlgo = a }
	}
	cases := []struct {
		name   string
		v      storage.FileVersion
		n      int
		ok     bool
		isDist bool
	}{
		{name: "2+2 on 4", v: fv("a", 1), n: 4, ok: true},
		{name: "explicit bitrot algorithm", v: fv("a", 1, algo(storage.BitrotHighwayHash256S)), n: 4, ok: true},
		{name: "12+4 on 16", v: fv("a", 1, ec(12, 4, 1, []int{16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})), n: 16, ok: true},
		{name: "8+8 on 16, largest block", v: fv("a", 1, ec(8, 8, erasure.MaxBlockSize, seq(16))), n: 16, ok: true},
		{name: "delete marker, no layout", v: fv("a", 1, deleted, ec(0, 0, 0, nil)), n: 4, ok: true},
		{name: "delete marker, junk layout", v: fv("a", 1, deleted, ec(-1, 99, -5, []int{0, 0, 1000})), n: 4, ok: true},

		{name: "shards do not add up", v: fv("a", 1, ec(3, 2, 1, seq(4))), n: 4},
		{name: "another set's size", v: fv("a", 1), n: 5},
		{name: "no parity", v: fv("a", 1, ec(4, 0, 1, seq(4))), n: 4},
		{name: "more parity than data", v: fv("a", 1, ec(1, 3, 1, seq(4))), n: 4},
		{name: "negative data", v: fv("a", 1, ec(-1, 5, 1, seq(4))), n: 4},
		{name: "set too small", v: fv("a", 1, ec(1, 1, 1, seq(2))), n: 2},
		{name: "set too large", v: fv("a", 1, ec(13, 4, 1, seq(17))), n: 17},
		{name: "zero block size", v: fv("a", 1, withBlockSize(0)), n: 4},
		{name: "block size too large", v: fv("a", 1, withBlockSize(erasure.MaxBlockSize+1)), n: 4},
		{name: "unknown bitrot algorithm", v: fv("a", 1, algo("sha1")), n: 4},
		{name: "no distribution", v: fv("a", 1, withDist()), n: 4, isDist: true},
		{name: "short distribution", v: fv("a", 1, withDist(1, 2, 3)), n: 4, isDist: true},
		{name: "long distribution", v: fv("a", 1, withDist(1, 2, 3, 4, 5)), n: 4, isDist: true},
		{name: "repeated shard", v: fv("a", 1, withDist(1, 1, 2, 3)), n: 4, isDist: true},
		{name: "shard 0", v: fv("a", 1, withDist(0, 1, 2, 3)), n: 4, isDist: true},
		{name: "shard beyond the set", v: fv("a", 1, withDist(1, 2, 3, 5)), n: 4, isDist: true},
		{name: "negative shard", v: fv("a", 1, withDist(1, 2, 3, -4)), n: 4, isDist: true},
	}
	for _, c := range cases {
		err := CheckErasure(&c.v, c.n)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && !errors.Is(err, storage.ErrFileCorrupt):
			t.Errorf("%s: %v, want storage.ErrFileCorrupt", c.name, err)
		case !c.ok && errors.Is(err, layout.ErrBadDistribution) != c.isDist:
			t.Errorf("%s: %v: wraps layout.ErrBadDistribution: %v, want %v", c.name, err, !c.isDist, c.isDist)
		}
	}
}

// TestNoAllocs: what listings run per entry per drive, and the object
// layer per answer, allocates nothing.
func TestNoAllocs(t *testing.T) {
	v := fv("a", 1, withDataDir("dd"), withSize(5))
	w := fv("b", 2)
	marker := fv("c", 3, deleted, withDist(make([]int, 40)...))
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"KeyOf", func() { keySink = KeyOf(&v) }},
		{"KeyOf of a delete marker", func() { keySink = KeyOf(&marker) }},
		{"CheckErasure", func() {
			if CheckErasure(&v, 4) != nil {
				intSink++
			}
		}},
		{"CheckErasure of a delete marker", func() {
			if CheckErasure(&marker, 4) != nil {
				intSink++
			}
		}},
		{"Compare", func() { intSink += Compare(KeyOf(&v), KeyOf(&w)) }},
		{"Needed", func() { intSink += Needed(KeyOf(&v), 2) }},
	} {
		if allocs := testing.AllocsPerRun(100, c.f); allocs != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, allocs)
		}
	}
}

// Sinks keep TestNoAllocs's results alive.
var (
	keySink Key
	intSink int
)

// FuzzCheckErasure: CheckErasure and KeyOf never panic on any record, and
// CheckErasure accepts only layouts a set of n drives can hold.
func FuzzCheckErasure(f *testing.F) {
	f.Add(4, 2, 2, int64(1<<20), []byte{1, 2, 3, 4}, false, "")
	f.Add(16, 12, 4, int64(1), []byte{16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, false, storage.BitrotHighwayHash256S)
	f.Add(6, 3, 3, int64(erasure.MaxBlockSize), []byte{6, 5, 4, 3, 2, 1}, false, "")
	f.Add(4, 3, 1, int64(0), []byte{1, 1, 2, 3}, false, "x")
	f.Add(2, 1, 1, int64(1), []byte{1, 2}, false, "")
	f.Add(4, -1, 5, int64(-1), []byte{0xff, 0, 200, 17}, true, "")
	f.Fuzz(func(t *testing.T, n, data, parity int, blockSize int64, distBytes []byte, del bool, algo string) {
		dist := make([]int, len(distBytes))
		for i, b := range distBytes {
			dist[i] = int(int8(b)) // negatives, zero and beyond any set
		}
		v := storage.FileVersion{Deleted: del, Erasure: storage.ErasureInfo{
			DataBlocks: data, ParityBlocks: parity, BlockSize: blockSize, Distribution: dist, ChecksumAlgo: algo,
		}}
		err := CheckErasure(&v, n)
		k := KeyOf(&v)
		if n >= 0 && n <= 64 {
			if isPermutation(dist, n) != (n <= MaxDrives && layout.ValidateDistribution(dist, n) == nil) {
				t.Fatalf("isPermutation(%v, %d) disagrees with layout.ValidateDistribution", dist, n)
			}
		}
		if err != nil {
			if !errors.Is(err, storage.ErrFileCorrupt) {
				t.Fatalf("%v does not wrap storage.ErrFileCorrupt", err)
			}
			return
		}
		if del {
			return
		}
		if n < layout.MinSetSize || n > layout.MaxSetSize || data+parity != n || parity < 1 || parity > data ||
			layout.ValidateParity(n, parity) != nil {
			t.Fatalf("accepted %d+%d shards on %d drives", data, parity, n)
		}
		if blockSize < 1 || blockSize > erasure.MaxBlockSize {
			t.Fatalf("accepted block size %d", blockSize)
		}
		if algo != "" && algo != storage.BitrotHighwayHash256S {
			t.Fatalf("accepted bitrot algorithm %q", algo)
		}
		if _, err := layout.ShuffleDrives(make([]int, n), dist); err != nil {
			t.Fatalf("accepted distribution %v: %v", dist, err)
		}
		if _, err := erasure.NewCoder(erasure.Config{DataShards: data, ParityShards: parity, BlockSize: int(blockSize)}); err != nil {
			t.Fatalf("accepted a layout the coder refuses: %v", err)
		}
		if int(k.distLen) != n || !slices.Equal(k.dist[:k.distLen], distBytes) {
			t.Fatalf("key of an accepted version holds distribution %v, want %v", k.dist[:min(int(k.distLen), MaxDrives)], dist)
		}
	})
}
