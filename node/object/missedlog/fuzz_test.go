package missedlog

import (
	"bytes"
	"testing"
	"time"
)

func timeNowPlus() time.Time { return time.Now().Add(time.Second) }

// FuzzDecode: no input makes the decoder panic or loop, what it accepts
// encodes back to the same bytes, and a valid prefix is never lost to what
// follows it.
func FuzzDecode(f *testing.F) {
	var seed []byte
	seed = appendRecord(seed, record{kind: kindMissed, entry: Entry{ID: 1, Time: time.Unix(1, 2), Bucket: "bucket", Object: "a/b", VersionID: "v", Drives: []int{0, 3}}})
	seed = appendRecord(seed, record{kind: kindDone, entry: Entry{ID: 1}})
	seed = appendRecord(seed, record{kind: kindLost, entry: Entry{ID: 99}})
	f.Add(seed)
	f.Add(seed[:len(seed)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, off, err := decodeAll(b)
		if off > len(b) || (err == nil && off != len(b)) {
			t.Fatalf("offset %d of %d, err %v", off, len(b), err)
		}
		var again []byte
		for _, r := range recs {
			again = appendRecord(again, r)
		}
		if !bytes.Equal(again, b[:off]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b[:off])
		}
		recs2, off2, _ := decodeAll(append(b[:off:off], 0xff, 0xff))
		if off2 != off || len(recs2) != len(recs) {
			t.Fatalf("a valid prefix of %d records lost to what follows: %d", len(recs), len(recs2))
		}
	})
}
