package erasure

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/minio/highwayhash"
)

// fuzzChunkSize maps a fuzz byte to a small chunk size, so that inputs of a
// few hundred bytes span several records.
func fuzzChunkSize(b uint8) int64 { return int64(b%64) + 1 }

// FuzzBitrotReader feeds arbitrary bytes to a BitrotReader and checks it
// against a plain model of the format: the reader must return exactly the
// chunks whose hashes match, in order, up to the first that does not (or is
// cut short), and then the matching error. It must never panic.
func FuzzBitrotReader(f *testing.F) {
	valid := bitrotFile(f, randomBytes(50, 100), 16, 100)
	f.Add(valid, uint8(15), uint16(100), uint8(7))
	f.Add(valid[:70], uint8(15), uint16(100), uint8(100))
	f.Add([]byte{}, uint8(0), uint16(0), uint8(1))
	f.Add([]byte("not a bitrot stream at all"), uint8(3), uint16(20), uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, chunkByte uint8, length uint16, readSize uint8) {
		chunk := fuzzChunkSize(chunkByte)
		r, err := NewBitrotReader(bytes.NewReader(stream), testKey, chunk, 0, int64(length))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(readerOfSize{r, int(readSize)%100 + 1})

		var want []byte
		var wantErr error
		rest := stream
		for off := int64(0); off < int64(length); off += chunk {
			n := min(chunk, int64(length)-off)
			if int64(len(rest)) < BitrotHashSize+n {
				wantErr = io.ErrUnexpectedEOF
				break
			}
			sum, data := rest[:BitrotHashSize], rest[BitrotHashSize:BitrotHashSize+n]
			if h := highwayhash.Sum(data, testKey); !bytes.Equal(h[:], sum) {
				wantErr = ErrBitrot
				break
			}
			want = append(want, data...)
			rest = rest[BitrotHashSize+n:]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("returned %d bytes, the model verifies %d", len(got), len(want))
		}
		if (wantErr == nil) != (err == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Fatalf("err %v, the model says %v", err, wantErr)
		}
	})
}

// FuzzBitrotCorruption damages a valid shard file (one flipped byte and/or a
// cut) and reads it from a chunk boundary: the damage must be reported and
// only the chunks before the damaged record may come out.
func FuzzBitrotCorruption(f *testing.F) {
	f.Add(randomBytes(51, 100), uint8(9), uint8(0), uint32(5), uint8(1), uint32(1000))
	f.Add(randomBytes(52, 100), uint8(9), uint8(2), uint32(0), uint8(0), uint32(100))
	f.Add(randomBytes(53, 64), uint8(15), uint8(1), uint32(47), uint8(0x80), uint32(47))
	f.Add([]byte{1}, uint8(0), uint8(0), uint32(32), uint8(0xff), uint32(1000))
	f.Add([]byte{}, uint8(0), uint8(0), uint32(0), uint8(0), uint32(0))
	f.Fuzz(func(t *testing.T, payload []byte, chunkByte, startByte uint8, flipAt uint32, flipMask uint8, cut uint32) {
		chunk := fuzzChunkSize(chunkByte)
		file := bitrotFile(t, payload, chunk, len(payload)+1)
		records := ceilDiv(int64(len(payload)), chunk)
		start := int64(startByte) % max(records, 1) // a record index
		diskStart := start * (chunk + BitrotHashSize)
		startOffset := start * chunk

		// damaged is the first damaged record the reader gets to, records
		// if none: damage before start is never read.
		damaged := records
		damage := func(record int64) {
			if record >= start {
				damaged = min(damaged, record)
			}
		}
		bad := bytes.Clone(file)
		if flipMask != 0 && len(bad) > 0 {
			at := int64(flipAt) % int64(len(bad))
			bad[at] ^= flipMask
			damage(at / (chunk + BitrotHashSize))
		}
		if int64(cut) < int64(len(bad)) {
			bad = bad[:cut]
			// A cut loses every record from the one it falls in on.
			damage(max(start, int64(cut)/(chunk+BitrotHashSize)))
		}

		r, err := NewBitrotReader(bytes.NewReader(bad[min(diskStart, int64(len(bad))):]), testKey, chunk, startOffset, int64(len(payload))-startOffset)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if damaged == records {
			if err != nil || !bytes.Equal(got, payload[startOffset:]) {
				t.Fatalf("undamaged range: %d bytes, err %v", len(got), err)
			}
			return
		}
		if !errors.Is(err, ErrBitrot) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("damage in record %d not reported: err %v", damaged, err)
		}
		if !bytes.Equal(got, payload[startOffset:damaged*chunk]) {
			t.Fatalf("returned %d bytes, only the %d before record %d are intact", len(got), (damaged-start)*chunk, damaged)
		}
	})
}
