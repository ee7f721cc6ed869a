package remote

import (
	"context"
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

// FuzzVisitBatch: a WalkDir message from the network, whatever it holds,
// yields entries or an error, never a panic.
func FuzzVisitBatch(f *testing.F) {
	var batch []byte
	for _, e := range []storage.MetaEntry{{Name: "a"}, {Name: "b/", Metadata: nil}, {Name: "c", Metadata: []byte("record")}} {
		batch, _ = e.MarshalMsg(batch)
	}
	f.Add(batch)
	f.Add(batch[:len(batch)-3])
	f.Add([]byte{0xc1})
	f.Add([]byte{0x82, 0xa1, 'm', 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, msg []byte) {
		_ = visitBatch(context.Background(), msg, func(e storage.MetaEntry) error {
			if e.Metadata != nil && len(e.Metadata) == 0 {
				t.Fatal("empty record not normalised to nil")
			}
			return nil
		})
	})
}
