package object

import (
	"context"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// version builds a drive's answer for a version of a 4-drive 2+2 set.
func version(id string, mod int64, etag string) storage.FileInfo {
	return storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: id,
		ModTime:   time.Unix(0, mod).UTC(),
		ETag:      etag,
		Erasure: storage.ErasureInfo{
			DataBlocks: 2, ParityBlocks: 2, BlockSize: 1 << 20, Distribution: []int{1, 2, 3, 4},
		},
	}}
}

func found(fi storage.FileInfo) metaAnswer { return metaAnswer{fi: fi} }
func missing() metaAnswer                  { return metaAnswer{err: storage.ErrFileNotFound} }
func offline() metaAnswer                  { return metaAnswer{err: storage.ErrDriveOffline} }

const emptyETag = "d41d8cd98f00b204e9800998ecf8427e"

func TestDecide(t *testing.T) {
	old := version("a", 100, emptyETag)
	newer := version("b", 200, emptyETag) // same ETag: must not matter
	tieLow := version("c", 300, "x")
	tieHigh := version("d", 300, "x")
	raised := version("e", 400, "y")
	raised.Erasure.DataBlocks, raised.Erasure.ParityBlocks = 2, 2
	bad := version("f", 999, "z")
	bad.Erasure.Distribution = []int{1, 1, 2, 3}

	cases := []struct {
		name    string
		answers []metaAnswer
		want    verdict
		id      string
	}{
		{"all agree", []metaAnswer{found(old), found(old), found(old), found(old)}, verdictFound, "a"},
		{"newer with quorum wins over older with quorum", []metaAnswer{found(old), found(old), found(newer), found(newer)}, verdictFound, "b"},
		{"same ETag, newer wins regardless of order", []metaAnswer{found(newer), found(newer), found(old), found(old)}, verdictFound, "b"},
		{"newer without quorum loses", []metaAnswer{found(old), found(old), found(newer), missing()}, verdictFound, "a"},
		{"equal mod time: higher version ID", []metaAnswer{found(tieLow), found(tieHigh), found(tieLow), found(tieHigh)}, verdictFound, "d"},
		{"equal mod time, reversed order", []metaAnswer{found(tieHigh), found(tieLow), found(tieHigh), found(tieLow)}, verdictFound, "d"},
		{"absent with read quorum", []metaAnswer{missing(), missing(), offline(), found(old)}, verdictNotFound, ""},
		{"bucket absent", []metaAnswer{{err: storage.ErrVolumeNotFound}, {err: storage.ErrVolumeNotFound}, offline(), offline()}, verdictBucketNotFound, ""},
		{"too few either way", []metaAnswer{missing(), offline(), offline(), found(old)}, verdictUndecided, ""},
		{"corrupt records do not vote", []metaAnswer{found(bad), found(bad), found(old), offline()}, verdictUndecided, ""},
		{"corrupt record errors do not vote", []metaAnswer{{err: storage.ErrFileCorrupt}, {err: storage.ErrFileCorrupt}, found(old), missing()}, verdictUndecided, ""},
		{"version with its own data count", []metaAnswer{found(raised), found(raised), missing(), missing()}, verdictFound, "e"},
	}
	for _, c := range cases {
		d, settled := decide(c.answers, allTrue(len(c.answers)), 2)
		if !settled {
			t.Errorf("%s: not settled with every answer in", c.name)
		}
		if d.verdict != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, d.verdict, c.want)
			continue
		}
		if c.want == verdictFound && c.answers[d.chosen].fi.VersionID != c.id {
			t.Errorf("%s: chose %s, want %s", c.name, c.answers[d.chosen].fi.VersionID, c.id)
		}
	}
}

// TestDecideSettled: an outcome is settled early only when no pending
// answer could change it.
func TestDecideSettled(t *testing.T) {
	v := func(id string, mod int64, data int) storage.FileInfo {
		fi := version(id, mod, "e")
		fi.Erasure = storage.ErasureInfo{DataBlocks: data, ParityBlocks: 6 - data, BlockSize: 1 << 20, Distribution: []int{1, 2, 3, 4, 5, 6}}
		return fi
	}
	old, newer := v("a", 1, 4), v("b", 2, 4)
	old3, newer3 := v("c", 1, 3), v("d", 2, 3)
	T, F := true, false
	cases := []struct {
		name     string
		answers  []metaAnswer
		answered []bool
		settled  bool
		want     verdict
	}{
		{"quorum, one pending", []metaAnswer{found(old), found(old), found(old), found(old), found(old), {}},
			[]bool{T, T, T, T, T, F}, true, verdictFound},
		{"quorum, 2 pending cannot form another", []metaAnswer{found(old), found(old), found(old), found(old), {}, {}},
			[]bool{T, T, T, T, F, F}, true, verdictFound},
		{"newer seen once, 1 pending: cannot reach 4", []metaAnswer{found(old), found(old), found(old), found(old), found(newer), {}},
			[]bool{T, T, T, T, T, F}, true, verdictFound},
		{"3 pending could hold an unseen newer version", []metaAnswer{found(old3), found(old3), found(old3), {}, {}, {}},
			[]bool{T, T, T, F, F, F}, false, verdictFound},
		{"newer on 2 + 1 pending could reach 3", []metaAnswer{found(old3), found(old3), found(old3), found(newer3), found(newer3), {}},
			[]bool{T, T, T, T, T, F}, false, verdictFound},
		{"newer on 2, all in: old wins", []metaAnswer{found(old3), found(old3), found(old3), found(newer3), found(newer3), missing()},
			[]bool{T, T, T, T, T, T}, true, verdictFound},
		{"absent, one pending", []metaAnswer{missing(), missing(), missing(), missing(), missing(), {}},
			[]bool{T, T, T, T, T, F}, true, verdictNotFound},
		{"absent but 3 pending", []metaAnswer{missing(), missing(), missing(), missing(), {}, {}},
			[]bool{T, T, T, T, F, F}, true, verdictNotFound},
		{"absent, a version on 2 + 2 pending could reach 4", []metaAnswer{missing(), missing(), missing(), missing(), found(old), found(old)},
			[]bool{T, T, T, T, T, T}, true, verdictNotFound},
		{"nothing yet", []metaAnswer{missing(), missing(), {}, {}, {}, {}},
			[]bool{T, T, F, F, F, F}, false, verdictUndecided},
	}
	for _, c := range cases {
		d, settled := decide(c.answers, c.answered, 4)
		if settled != c.settled || (settled && d.verdict != c.want) {
			t.Errorf("%s: settled %v verdict %d, want %v %d", c.name, settled, d.verdict, c.settled, c.want)
		}
	}
}

// TestStragglerDoesNotStall: a drive that never answers costs a HEAD only
// the straggler wait once the others agree, not the drive timeout.
func TestStragglerDoesNotStall(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, func(c *Config) {
		c.DriveTimeout = 5 * time.Second
		c.StragglerWait = 10 * time.Millisecond
	})
	ts.put(t, "k", []byte("x"))
	ts.drives[4].set(faultHang, "ReadVersion")
	start := time.Now()
	for range 5 {
		if _, err := ts.GetObjectInfo(context.Background(), testBucket, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("5 HEADs with a hung drive took %v", d)
	}
	ts.drives[4].clear()
}
