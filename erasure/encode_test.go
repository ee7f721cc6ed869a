package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// TestRoundTrip encodes objects of edge sizes into bitrot shard files and
// decodes them whole and in random ranges, byte for byte.
func TestRoundTrip(t *testing.T) {
	layouts := []struct {
		data, parity, block int
		sequential          bool
	}{
		{2, 1, 1000, false},
		{2, 2, 1000, false}, // data == parity
		{4, 2, 4096, false},
		{5, 3, 1000, false}, // block not a multiple of data
		{8, 4, 4096, false},
		{12, 4, 1000, false},
		{4, 2, 1000, true},
		{4, 2, 0, false}, // the default 1 MiB
	}
	for _, l := range layouts {
		c := mustCoder(t, l.data, l.parity, l.block)
		c.sequentialIO = l.sequential
		b := int(c.BlockSize())
		for _, size := range []int{0, 1, b - 1, b, b + 1, 3*b + 17} {
			name := fmt.Sprintf("%d+%d/block%d/sequential=%v/size%d", l.data, l.parity, b, l.sequential, size)
			t.Run(name, func(t *testing.T) {
				object := randomBytes(uint64(size)+uint64(l.data), size)
				files := encodeFiles(t, c, object)
				got, _, err := decodeRange(t, c, rangeReaders(t, c, files, 0, int64(size), int64(size)), 0, int64(size), int64(size))
				if err != nil || !bytes.Equal(got, object) {
					t.Fatalf("whole object: %d bytes back, err %v", len(got), err)
				}
				rng := rand.New(rand.NewPCG(uint64(size), 7))
				ranges := 8
				if b >= DefaultBlockSize {
					ranges = 2 // keep the race detector run short
				}
				for range ranges {
					off := rng.Int64N(int64(size) + 1)
					length := rng.Int64N(int64(size) - off + 1)
					got, _, err := decodeRange(t, c, rangeReaders(t, c, files, off, length, int64(size)), off, length, int64(size))
					if err != nil || !bytes.Equal(got, object[off:off+length]) {
						t.Fatalf("range [%d, +%d): %d bytes back, err %v", off, length, len(got), err)
					}
				}
			})
		}
	}
}

func TestEncodeUnknownSize(t *testing.T) {
	c := mustCoder(t, 4, 2, 1000)
	for _, size := range []int{0, 1, 999, 1000, 1001, 4321} {
		object := randomBytes(uint64(size), size)
		want := encodeFiles(t, c, object)
		bufs := make([]bytes.Buffer, c.TotalShards())
		writers := make([]io.Writer, c.TotalShards())
		for i := range writers {
			writers[i], _ = NewBitrotWriter(&bufs[i], testKey, c.ShardSize())
		}
		// A reader that returns one byte at a time stresses the block
		// assembly; the result must equal the known-size encoding.
		n, _, err := c.Encode(context.Background(), writers, iotest.OneByteReader(bytes.NewReader(object)), -1, c.WriteQuorum())
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: Encode = %d, %v", size, n, err)
		}
		for i := range bufs {
			if !bytes.Equal(bufs[i].Bytes(), want[i]) {
				t.Fatalf("size %d: shard %d differs from the known-size encoding", size, i)
			}
		}
	}
}

func TestEncodeWriterFailures(t *testing.T) {
	const block = 1000
	c := mustCoder(t, 4, 2, block)
	shard := int(c.ShardSize()) // 250
	object := randomBytes(10, 5*block+123)
	tests := []struct {
		name      string
		failAfter map[int]int // shard -> bytes accepted before failing
		nilShards []int
		quorum    int
		wantErr   error
		wantN     int64
	}{
		{"no failures", nil, nil, 4, nil, int64(len(object))},
		{"one data writer fails at once", map[int]int{1: 0}, nil, 4, nil, int64(len(object))},
		{"parity writers fail mid block 3", map[int]int{4: 3*shard + 10, 5: 2 * shard}, nil, 4, nil, int64(len(object))},
		{"two nil writers", nil, []int{0, 5}, 4, nil, int64(len(object))},
		{"third failure loses quorum", map[int]int{0: 0, 2: shard, 3: 3 * shard}, nil, 4, ErrWriteQuorum, 3 * block},
		{"quorum 5 with one failure at block 2", map[int]int{2: 2*shard + 1}, nil, 5, nil, int64(len(object))},
		{"quorum 5 with two failures", map[int]int{2: 2 * shard, 4: 4 * shard}, nil, 5, ErrWriteQuorum, 4 * block},
		{"three nil writers", nil, []int{0, 1, 2}, 4, ErrWriteQuorum, 0},
		{"short last block write fails", map[int]int{0: 5 * shard, 1: 5 * shard, 2: 5 * shard}, nil, 4, ErrWriteQuorum, 5 * block},
	}
	for _, sequential := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/sequential=%v", tt.name, sequential), func(t *testing.T) {
				c.sequentialIO = sequential
				defer func() { c.sequentialIO = false }()
				bufs := make([]bytes.Buffer, c.TotalShards())
				writers := make([]io.Writer, c.TotalShards())
				for i := range writers {
					writers[i] = &bufs[i]
					if limit, ok := tt.failAfter[i]; ok {
						writers[i] = &failingWriter{w: &bufs[i], limit: limit}
					}
				}
				for _, i := range tt.nilShards {
					writers[i] = nil
				}
				n, errs, err := c.Encode(context.Background(), writers, bytes.NewReader(object), int64(len(object)), tt.quorum)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				if n != tt.wantN {
					t.Fatalf("n = %d, want %d", n, tt.wantN)
				}
				for i := range writers {
					_, failing := tt.failAfter[i]
					missing := writers[i] == nil
					switch {
					case missing && !errors.Is(errs[i], ErrShardMissing):
						t.Errorf("writer %d: err %v, want ErrShardMissing", i, errs[i])
					case failing && !errors.Is(errs[i], errInjected) && tt.wantErr == nil:
						t.Errorf("writer %d: err %v, want the injected failure", i, errs[i])
					case !missing && !failing && errs[i] != nil:
						t.Errorf("healthy writer %d reported %v", i, errs[i])
					}
				}
				if tt.wantErr != nil {
					return
				}
				// What the healthy writers got must decode to the object.
				files := make([][]byte, c.TotalShards())
				readers := make([]io.Reader, c.TotalShards())
				for i := range files {
					if errs[i] == nil {
						files[i] = bufs[i].Bytes()
						readers[i] = bytes.NewReader(files[i])
					}
				}
				got, _, err := decodeRange(t, c, readers, 0, int64(len(object)), int64(len(object)))
				if err != nil || !bytes.Equal(got, object) {
					t.Fatalf("decode after failures: %v", err)
				}
			})
		}
	}
}

func TestEncodeSourceErrors(t *testing.T) {
	c := mustCoder(t, 4, 2, 1000)
	object := randomBytes(11, 3500)
	tests := []struct {
		name    string
		src     io.Reader
		size    int64
		wantErr error
		wantN   int64
	}{
		{"source fails in block 2", &failingReader{r: bytes.NewReader(object), limit: 2500}, 3500, errInjected, 2000},
		{"source fails, unknown size", &failingReader{r: bytes.NewReader(object), limit: 1000}, -1, errInjected, 1000},
		{"source shorter than size", bytes.NewReader(object[:3200]), 3500, io.ErrUnexpectedEOF, 3000},
		{"source ends on a block boundary before size", bytes.NewReader(object[:3000]), 3500, io.ErrUnexpectedEOF, 3000},
		{"empty source, size 1", bytes.NewReader(nil), 1, io.ErrUnexpectedEOF, 0},
		{"source longer than size", bytes.NewReader(object), 2100, nil, 2100},
		// A truncated request body says io.ErrUnexpectedEOF itself: with an
		// unknown size that must not pass for the end of the object.
		{"source truncated, unknown size", io.MultiReader(bytes.NewReader(object[:1500]), iotest.ErrReader(io.ErrUnexpectedEOF)), -1, io.ErrUnexpectedEOF, 1000},
		{"source ends with data and EOF together", iotest.DataErrReader(bytes.NewReader(object)), -1, nil, 3500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writers := make([]io.Writer, c.TotalShards())
			for i := range writers {
				writers[i] = io.Discard
			}
			n, _, err := c.Encode(context.Background(), writers, tt.src, tt.size, c.WriteQuorum())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if n != tt.wantN {
				t.Fatalf("n = %d, want %d", n, tt.wantN)
			}
		})
	}
}

func TestEncodeInvalidArguments(t *testing.T) {
	c := mustCoder(t, 4, 2, 1000)
	six := make([]io.Writer, 6)
	for i := range six {
		six[i] = io.Discard
	}
	src := bytes.NewReader(nil)
	tests := []struct {
		name    string
		writers []io.Writer
		src     io.Reader
		size    int64
		quorum  int
	}{
		{"too few writers", six[:5], src, 0, 4},
		{"too many writers", append(six, io.Discard), src, 0, 4},
		{"quorum below data", six, src, 0, 3},
		{"quorum above total", six, src, 0, 7},
		{"negative size", six, src, -2, 4},
		{"nil source", six, nil, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := c.Encode(context.Background(), tt.writers, tt.src, tt.size, tt.quorum); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// cancelAfterWriter cancels a context once it has been written to n times.
type cancelAfterWriter struct {
	n      int
	cancel context.CancelFunc
}

func (w *cancelAfterWriter) Write(p []byte) (int, error) {
	if w.n--; w.n == 0 {
		w.cancel()
	}
	return len(p), nil
}

func TestEncodeContextCanceled(t *testing.T) {
	c := mustCoder(t, 4, 2, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writers := make([]io.Writer, c.TotalShards())
	for i := range writers {
		writers[i] = io.Discard
	}
	writers[0] = &cancelAfterWriter{n: 2, cancel: cancel}
	n, _, err := c.Encode(ctx, writers, bytes.NewReader(make([]byte, 10000)), 10000, 4)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n >= 10000 {
		t.Fatalf("n = %d after cancel", n)
	}
}
