package remote

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

// FuzzParseReadQuery: the read endpoint's query parser never panics, accepts
// only valid ranges, and what it accepts survives a round trip through the
// client's encoding.
func FuzzParseReadQuery(f *testing.F) {
	f.Add(readQuery{drive: "/data1", volume: "bucket", path: "obj/part.1", offset: 0, length: -1}.encode())
	f.Add(readQuery{drive: "http://n1:9000/d", volume: storage.TmpVolume, path: "a b/\x00\xff", offset: 1 << 40, length: 5}.encode())
	f.Add("drive=x&volume=&path=&offset=0&length=0")
	f.Add("drive=x&drive=y&volume=v&path=p&offset=0&length=0")
	f.Add("drive=%zz&volume=v&path=p&offset=0&length=0")
	f.Add("drive=x;volume=v&path=p&offset=-0&length=+1")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseReadQuery(raw)
		if err != nil {
			return
		}
		if q.drive == "" || q.offset < 0 || q.length < -1 {
			t.Fatalf("accepted %+v from %q", q, raw)
		}
		q2, err := parseReadQuery(q.encode())
		if err != nil || q2 != q {
			t.Fatalf("round trip of %+v: %+v, %v", q, q2, err)
		}
	})
}

// seedWalkBatches returns WalkDir messages as a peer sends them, and broken
// ones: the seeds of FuzzWalkBatch (testdata/fuzz/FuzzWalkBatch).
func seedWalkBatches() [][]byte {
	good, _ := (&walkBatch{Entries: []storage.MetaEntry{
		{Name: "a", Metadata: []byte("record")}, {Name: "b/", Dir: true}, {Name: "c/", Metadata: []byte{}},
	}}).MarshalMsg(nil)
	empty, _ := (&walkBatch{}).MarshalMsg(nil)
	return [][]byte{
		good,
		empty,
		good[:len(good)-3], // truncated
		{0xc1},             // a reserved byte
		{0x81, 0xa1, 'e', 0xdd, 0xff, 0xff, 0xff, 0xff},                        // {"e": array of 2^32-1}
		{0x81, 0xa1, 'e', 0x91, 0x81, 0xa1, 'm', 0xc6, 0xff, 0xff, 0xff, 0xff}, // a 4 GiB record
		{0x81, 0xa1, 'e', 0x91, 0x81, 0xa1, 'n', 0x2a},                         // a name that is a number
		{0x82, 0xa1, 'x', 0xc0, 0xa1, 'e', 0x90},                               // an unknown field, then no entries
	}
}

// FuzzWalkBatch: a WalkDir message from the network, whatever it holds,
// decodes into entries or fails, never panics; decoding into a reused batch
// leaves nothing of the previous one in it; what decodes survives a round
// trip; and a directory's record reaches fn as nil.
func FuzzWalkBatch(f *testing.F) {
	for _, s := range seedWalkBatches() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		old := []byte("previous record")
		b := &walkBatch{Entries: []storage.MetaEntry{{Name: "previous", Metadata: old, Dir: true}}}
		b.Reset()
		if _, err := b.UnmarshalMsg(msg); err != nil {
			return
		}
		for _, e := range b.Entries {
			if len(e.Metadata) > 0 && &e.Metadata[0] == &old[0] {
				t.Fatal("an entry decoded into the previous batch's record")
			}
		}
		enc, err := b.MarshalMsg(nil)
		if err != nil {
			t.Fatalf("re-encoding a decoded batch: %v", err)
		}
		var b2 walkBatch
		if _, err := b2.UnmarshalMsg(enc); err != nil || !slices.EqualFunc(b.Entries, b2.Entries, sameEntry) {
			t.Fatalf("round trip: %+v, then %+v, %v", b.Entries, b2.Entries, err)
		}
		_ = visitBatch(context.Background(), b, func(e storage.MetaEntry) error {
			if e.Metadata != nil && len(e.Metadata) == 0 {
				t.Fatal("empty record not normalised to nil")
			}
			return nil
		})
	})
}

func sameEntry(a, b storage.MetaEntry) bool {
	return a.Name == b.Name && bytes.Equal(a.Metadata, b.Metadata) && a.Dir == b.Dir
}

// TestWriteFuzzCorpus regenerates the committed seed corpus when asked:
// REMOTE_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./storage/remote/
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("REMOTE_WRITE_CORPUS") == "" {
		t.Skip("set REMOTE_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzWalkBatch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seedWalkBatches() {
		var q strings.Builder
		for _, c := range s {
			fmt.Fprintf(&q, `\x%02x`, c)
		}
		body := "go test fuzz v1\n[]byte(\"" + q.String() + "\")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed"+string(rune('a'+i))), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
