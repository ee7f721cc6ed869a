package storage

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// FuzzDecodeObjectMeta feeds arbitrary bytes to the record decoder, as is
// and framed with a valid header (so that the body decoder is reached past
// the checksum). It must never panic and must classify every failure; what
// it accepts must be a valid record that re-encodes stably.
func FuzzDecodeObjectMeta(f *testing.F) {
	if b, err := sampleMeta().Encode(); err == nil {
		f.Add(b)
		f.Add(b[metaHeaderSize:])
	}
	f.Add([]byte{})
	f.Add([]byte("GSMT\x00\x01"))
	f.Add([]byte{0x81, 0xa1, 'v', 0xdd, 0xff, 0xff, 0xff, 0xff}) // {"v": array of 2^32-1}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, record := range [][]byte{data, withHeader(data)} {
			m, err := DecodeObjectMeta(record)
			if err != nil {
				if !errors.Is(err, ErrFileCorrupt) && !errors.Is(err, ErrUnknownFormat) {
					t.Fatalf("unclassified error: %v", err)
				}
				continue
			}
			again, err := m.Encode()
			if err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
			m2, err := DecodeObjectMeta(again)
			if err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
			again2, _ := m2.Encode()
			if !bytes.Equal(again, again2) {
				t.Fatal("encoding is not stable")
			}
		}
	})
}

// TestDecodeAllocationBounded decodes bodies whose headers promise huge
// arrays, maps and byte strings that are not there. The decoder may
// allocate for what the limits allow before it finds out (a few MiB at
// most), never for what the header claims.
func TestDecodeAllocationBounded(t *testing.T) {
	versions := func(n uint32) []byte {
		return msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "v"), n)
	}
	oneVersionWith := func(field string) []byte {
		return msgp.AppendString(msgp.AppendMapHeader(versions(1), 1), field)
	}
	bodies := map[string][]byte{
		"2^32-1 versions":  versions(1<<32 - 1),
		"MaxVersions":      versions(MaxVersions),
		"2^32-1 parts":     msgp.AppendArrayHeader(oneVersionWith("parts"), 1<<32-1),
		"MaxParts parts":   msgp.AppendArrayHeader(oneVersionWith("parts"), MaxParts),
		"2^32-1 metadata":  msgp.AppendMapHeader(oneVersionWith("um"), 1<<32-1),
		"4 GiB inline":     append(oneVersionWith("inl"), 0xc6, 0xff, 0xff, 0xff, 0xff),
		"2^32-1 dist":      msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(oneVersionWith("ec"), 1), "dist"), 1<<32-1),
		"4 GiB version ID": append(oneVersionWith("id"), 0xdb, 0xff, 0xff, 0xff, 0xff),
	}
	for name, body := range bodies {
		record := withHeader(body)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeObjectMeta(record)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrFileCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
			t.Errorf("%s: decoding %d bytes allocated %d bytes", name, len(record), n)
		}
	}
}
