package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// decodeFixture is a 4+2 object of 5 blocks and a short tail.
type decodeFixture struct {
	c      *Coder
	object []byte
	files  [][]byte
	size   int64
}

func newDecodeFixture(t *testing.T) decodeFixture {
	c := mustCoder(t, 4, 2, 1000)
	object := randomBytes(20, 5*1000+321)
	return decodeFixture{c: c, object: object, files: encodeFiles(t, c, object), size: int64(len(object))}
}

// recordOffset returns where block's record starts in a shard file.
func (f decodeFixture) recordOffset(block int64) int64 {
	return block * (f.c.ShardSize() + BitrotHashSize)
}

func TestDecodeMissingShards(t *testing.T) {
	f := newDecodeFixture(t)
	total := f.c.TotalShards()
	// Every combination of up to parity missing shards.
	for mask := 0; mask < 1<<total; mask++ {
		missing := 0
		files := make([][]byte, total)
		for i := range files {
			if mask&(1<<i) != 0 {
				missing++
			} else {
				files[i] = f.files[i]
			}
		}
		if missing > f.c.ParityShards() {
			continue
		}
		t.Run(fmt.Sprintf("missing%06b", mask), func(t *testing.T) {
			for _, r := range [][2]int64{{0, f.size}, {999, 1002}, {f.size - 1, 1}} {
				got, errs, err := decodeRange(t, f.c, rangeReaders(t, f.c, files, r[0], r[1], f.size), r[0], r[1], f.size)
				if err != nil || !bytes.Equal(got, f.object[r[0]:r[0]+r[1]]) {
					t.Fatalf("range %v: %d bytes, err %v", r, len(got), err)
				}
				for i := range files {
					if (files[i] == nil) != errors.Is(errs[i], ErrShardMissing) {
						t.Fatalf("shard %d: reported %v", i, errs[i])
					}
				}
			}
		})
	}
}

func TestDecodeReadsNoParityWhenDataIsHealthy(t *testing.T) {
	f := newDecodeFixture(t)
	lazy := newLazyShards(f.files)
	readers := lazy.readers(t, f.c, 1500, 2000, f.size)
	got, errs, err := decodeRange(t, f.c, readers, 1500, 2000, f.size)
	if err != nil || !bytes.Equal(got, f.object[1500:3500]) {
		t.Fatalf("decode: %v", err)
	}
	for i := range f.c.TotalShards() {
		if errs[i] != nil {
			t.Errorf("shard %d reported %v", i, errs[i])
		}
		opened := len(lazy.opened(i)) > 0
		if isData := i < f.c.DataShards(); opened != isData {
			t.Errorf("shard %d: opened=%v", i, opened)
		}
	}

	// Plain readers in the parity slots are not even read.
	plain := rangeReaders(t, f.c, f.files, 0, f.size, f.size)
	untouched := []*untouchedReader{{}, {}}
	plain[4], plain[5] = untouched[0], untouched[1]
	if got, _, err := decodeRange(t, f.c, plain, 0, f.size, f.size); err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v", err)
	}
	if untouched[0].read.Load() || untouched[1].read.Load() {
		t.Fatal("a parity reader was read although every data shard was healthy")
	}
}

func TestDecodeBitrotSwitchesToParity(t *testing.T) {
	f := newDecodeFixture(t)
	files := append([][]byte(nil), f.files...)
	// Corrupt shard 1 in block 2 (a data byte) and shard 3 in block 4 (a
	// hash byte).
	files[1] = corrupt(files[1], f.recordOffset(2)+BitrotHashSize+7)
	files[3] = corrupt(files[3], f.recordOffset(4)+3)
	lazy := newLazyShards(files)
	readers := lazy.readers(t, f.c, 0, f.size, f.size)
	got, errs, err := decodeRange(t, f.c, readers, 0, f.size, f.size)
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %d bytes, %v", len(got), err)
	}
	for i, wantBlock := range map[int]int64{1: 2, 3: 4} {
		var be *BitrotError
		if !errors.Is(errs[i], ErrBitrot) || !errors.As(errs[i], &be) {
			t.Fatalf("shard %d: reported %v, want bitrot", i, errs[i])
		}
		if be.Offset != wantBlock*f.c.ShardSize() {
			t.Errorf("shard %d: bitrot at shard offset %d, want block %d", i, be.Offset, wantBlock)
		}
	}
	for _, i := range []int{0, 2, 4, 5} {
		if errs[i] != nil {
			t.Errorf("shard %d: reported %v", i, errs[i])
		}
	}
	// The parity readers joined where they were first needed, opening
	// their streams there rather than reading the blocks before.
	if o := lazy.opened(4); len(o) != 1 || o[0] != f.recordOffset(2) {
		t.Errorf("shard 4 opened at %v, want [%d]", o, f.recordOffset(2))
	}
	if o := lazy.opened(5); len(o) != 1 || o[0] != f.recordOffset(4) {
		t.Errorf("shard 5 opened at %v, want [%d]", o, f.recordOffset(4))
	}
	// A corrupt shard is not read again after its bad chunk: the failed
	// record was the last thing read from it.
	if o := lazy.opened(1); len(o) != 1 {
		t.Errorf("shard 1 opened %d times", len(o))
	}
}

func TestDecodeShardFailures(t *testing.T) {
	f := newDecodeFixture(t)
	shardLen := int64(len(f.files[0]))
	tests := []struct {
		name    string
		reader  func(file []byte) io.Reader // for shard 2
		wantErr error
	}{
		{"reader error at start", func(file []byte) io.Reader { return &failingReader{r: bytes.NewReader(file), limit: 0} }, errInjected},
		{"reader error in block 3", func(file []byte) io.Reader {
			return &failingReader{r: bytes.NewReader(file), limit: int(f.recordOffset(3)) + 40}
		}, errInjected},
		{"truncated at a record boundary", func(file []byte) io.Reader { return bytes.NewReader(file[:f.recordOffset(2)]) }, io.ErrUnexpectedEOF},
		{"truncated inside the last chunk", func(file []byte) io.Reader { return bytes.NewReader(file[:shardLen-1]) }, io.ErrUnexpectedEOF},
		{"empty shard", func([]byte) io.Reader { return bytes.NewReader(nil) }, io.ErrUnexpectedEOF},
		{"corrupt last chunk", func(file []byte) io.Reader { return bytes.NewReader(corrupt(file, shardLen-1)) }, ErrBitrot},
	}
	for _, sequential := range []bool{false, true} {
		f.c.sequentialIO = sequential
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/sequential=%v", tt.name, sequential), func(t *testing.T) {
				readers := rangeReaders(t, f.c, f.files, 0, f.size, f.size)
				r, err := NewBitrotReader(tt.reader(f.files[2]), testKey, f.c.ShardSize(), 0, f.c.ShardFileSize(f.size))
				if err != nil {
					t.Fatal(err)
				}
				readers[2] = r
				got, errs, err := decodeRange(t, f.c, readers, 0, f.size, f.size)
				if err != nil || !bytes.Equal(got, f.object) {
					t.Fatalf("decode: %d bytes, %v", len(got), err)
				}
				if !errors.Is(errs[2], tt.wantErr) {
					t.Fatalf("shard 2 reported %v, want %v", errs[2], tt.wantErr)
				}
			})
		}
	}
	f.c.sequentialIO = false
}

func TestDecodeReadQuorum(t *testing.T) {
	f := newDecodeFixture(t)
	t.Run("too few readers", func(t *testing.T) {
		files := append([][]byte(nil), f.files...)
		files[0], files[3], files[5] = nil, nil, nil
		var out bytes.Buffer
		n, _, err := f.c.Decode(context.Background(), &out, rangeReaders(t, f.c, files, 0, f.size, f.size), 0, f.size, f.size)
		if !errors.Is(err, ErrReadQuorum) || n != 0 || out.Len() != 0 {
			t.Fatalf("n=%d, %d bytes out, err %v; want ErrReadQuorum and nothing written", n, out.Len(), err)
		}
	})
	t.Run("quorum lost in block 3", func(t *testing.T) {
		files := append([][]byte(nil), f.files...)
		files[5] = nil
		files[0] = corrupt(files[0], f.recordOffset(1)+40)
		files[2] = corrupt(files[2], f.recordOffset(3)+40)
		// Range starts inside block 0 and would end inside block 4.
		got, errs, err := decodeRange(t, f.c, rangeReaders(t, f.c, files, 500, 4000, f.size), 500, 4000, f.size)
		if !errors.Is(err, ErrReadQuorum) {
			t.Fatalf("err %v, want ErrReadQuorum", err)
		}
		// Exactly blocks 0 to 2 of the range came out, and they are right.
		if !bytes.Equal(got, f.object[500:3000]) {
			t.Fatalf("got %d bytes, want the 2500 of blocks 0-2", len(got))
		}
		if !errors.Is(errs[0], ErrBitrot) || !errors.Is(errs[2], ErrBitrot) || !errors.Is(errs[5], ErrShardMissing) {
			t.Fatalf("shard errors %v", errs)
		}
	})
}

func TestDecodePlainReadersSkip(t *testing.T) {
	// Shard data without bitrot, once through an io.Seeker and once
	// through a reader that can only be read: a parity shard that joins
	// at block 3 must first pass over blocks 0-2 either way.
	c := mustCoder(t, 3, 2, 900)
	object := randomBytes(30, 5*900+50)
	size := int64(len(object))
	raw := make([]bytes.Buffer, c.TotalShards())
	writers := make([]io.Writer, c.TotalShards())
	for i := range writers {
		writers[i] = &raw[i]
	}
	if _, _, err := c.Encode(context.Background(), writers, bytes.NewReader(object), size, c.WriteQuorum()); err != nil {
		t.Fatal(err)
	}
	for _, seekable := range []bool{true, false} {
		t.Run(fmt.Sprintf("seekable=%v", seekable), func(t *testing.T) {
			readers := make([]io.Reader, c.TotalShards())
			for i := range readers {
				data := raw[i].Bytes()
				if i == 1 {
					data = data[:3*c.ShardSize()] // ends after block 2
				}
				readers[i] = bytes.NewReader(data)
				if !seekable {
					readers[i] = nonSeeker{readers[i]}
				}
			}
			got, errs, err := decodeRange(t, c, readers, 0, size, size)
			if err != nil || !bytes.Equal(got, object) {
				t.Fatalf("decode: %d bytes, %v", len(got), err)
			}
			if !errors.Is(errs[1], io.ErrUnexpectedEOF) {
				t.Fatalf("shard 1 reported %v", errs[1])
			}
		})
	}
}

type errWriter struct{ after int }

func (w *errWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errInjected
	}
	w.after--
	return len(p), nil
}

func TestDecodeDestinationFails(t *testing.T) {
	f := newDecodeFixture(t)
	for _, sequential := range []bool{false, true} {
		f.c.sequentialIO = sequential
		n, _, err := f.c.Decode(context.Background(), &errWriter{after: 2}, rangeReaders(t, f.c, f.files, 0, f.size, f.size), 0, f.size, f.size)
		if !errors.Is(err, errInjected) || n != 2000 {
			t.Fatalf("sequential=%v: n=%d, err %v", sequential, n, err)
		}
	}
	f.c.sequentialIO = false
}

func TestDecodeContextCanceled(t *testing.T) {
	f := newDecodeFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if _, _, err := f.c.Decode(ctx, &out, rangeReaders(t, f.c, f.files, 0, f.size, f.size), 0, f.size, f.size); !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Fatalf("err %v, %d bytes out", err, out.Len())
	}
}

func TestDecodeInvalidArguments(t *testing.T) {
	f := newDecodeFixture(t)
	readers := rangeReaders(t, f.c, f.files, 0, f.size, f.size)
	tests := []struct {
		name                 string
		dst                  io.Writer
		readers              []io.Reader
		offset, length, size int64
	}{
		{"too few readers", io.Discard, readers[:5], 0, 1, f.size},
		{"nil destination", nil, readers, 0, 1, f.size},
		{"negative offset", io.Discard, readers, -1, 1, f.size},
		{"range past end", io.Discard, readers, f.size - 1, 2, f.size},
		{"negative size", io.Discard, readers, 0, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := f.c.Decode(context.Background(), tt.dst, tt.readers, tt.offset, tt.length, tt.size); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want ErrInvalidArgument", err)
			}
		})
	}
	// An empty range reads nothing and needs no quorum.
	none := make([]io.Reader, f.c.TotalShards())
	if n, _, err := f.c.Decode(context.Background(), io.Discard, none, 10, 0, f.size); n != 0 || err != nil {
		t.Fatalf("empty range: %d, %v", n, err)
	}
}
