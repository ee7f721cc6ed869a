package erasure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/internal/iobuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

var testKey = bytes.Repeat([]byte{0x5a}, BitrotKeySize)

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func mustCoder(t testing.TB, data, parity, blockSize int) *Coder {
	t.Helper()
	c, err := NewCoder(Config{DataShards: data, ParityShards: parity, BlockSize: blockSize})
	if err != nil {
		t.Fatalf("NewCoder(%d+%d, %d): %v", data, parity, blockSize, err)
	}
	return c
}

// encodeFiles encodes object through BitrotWriters and returns the shard
// files, checking that Encode reports success and their sizes.
func encodeFiles(t testing.TB, c *Coder, object []byte) [][]byte {
	t.Helper()
	bufs := make([]*bytes.Buffer, c.TotalShards())
	writers := make([]io.Writer, c.TotalShards())
	for i := range writers {
		bufs[i] = new(bytes.Buffer)
		bw, err := NewBitrotWriter(bufs[i], testKey, c.ShardSize())
		if err != nil {
			t.Fatal(err)
		}
		writers[i] = bw
	}
	n, werrs, err := c.Encode(context.Background(), writers, bytes.NewReader(object), int64(len(object)), c.WriteQuorum())
	if err != nil || n != int64(len(object)) {
		t.Fatalf("Encode: n=%d err=%v, want %d", n, err, len(object))
	}
	for i, e := range werrs {
		if e != nil {
			t.Fatalf("Encode: writer %d: %v", i, e)
		}
	}
	files := make([][]byte, len(bufs))
	for i, b := range bufs {
		files[i] = b.Bytes()
		if want := c.ShardDiskSize(int64(len(object))); int64(len(files[i])) != want {
			t.Fatalf("shard %d file is %d bytes, ShardDiskSize says %d", i, len(files[i]), want)
		}
	}
	return files
}

// rangeReaders returns bitrot readers over files for the object range
// [offset, offset+length); nil files give nil readers.
func rangeReaders(t testing.TB, c *Coder, files [][]byte, offset, length, size int64) []io.Reader {
	t.Helper()
	so, sl, err := c.ShardRange(offset, length, size)
	if err != nil {
		t.Fatal(err)
	}
	diskOffset, err := BitrotDiskOffset(so, c.ShardSize())
	if err != nil {
		t.Fatal(err)
	}
	readers := make([]io.Reader, len(files))
	for i, f := range files {
		if f == nil {
			continue
		}
		start := min(diskOffset, int64(len(f)))
		r, err := NewBitrotReader(bytes.NewReader(f[start:]), testKey, c.ShardSize(), so, sl)
		if err != nil {
			t.Fatal(err)
		}
		readers[i] = r
	}
	return readers
}

// lazyShards opens shard files lazily and records what was opened where.
type lazyShards struct {
	files [][]byte
	mu    sync.Mutex
	opens map[int][]int64 // shard -> disk offsets opened at
	reads []atomic.Int64  // shard -> Read calls on the opened stream
}

func newLazyShards(files [][]byte) *lazyShards {
	return &lazyShards{files: files, opens: map[int][]int64{}, reads: make([]atomic.Int64, len(files))}
}

func (l *lazyShards) readers(t testing.TB, c *Coder, offset, length, size int64) []io.Reader {
	t.Helper()
	so, sl, err := c.ShardRange(offset, length, size)
	if err != nil {
		t.Fatal(err)
	}
	readers := make([]io.Reader, len(l.files))
	for i, f := range l.files {
		if f == nil {
			continue
		}
		open := func(diskOffset, diskLength int64) (io.ReadCloser, error) {
			l.mu.Lock()
			l.opens[i] = append(l.opens[i], diskOffset)
			l.mu.Unlock()
			if diskOffset+diskLength > int64(len(f)) {
				diskLength = int64(len(f)) - diskOffset
			}
			return io.NopCloser(&countingReader{r: bytes.NewReader(f[diskOffset : diskOffset+diskLength]), n: &l.reads[i]}), nil
		}
		r, err := NewLazyBitrotReader(open, testKey, c.ShardSize(), so, sl)
		if err != nil {
			t.Fatal(err)
		}
		readers[i] = r
	}
	return readers
}

func (l *lazyShards) opened(i int) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.opens[i]...)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n.Add(1)
	return c.r.Read(p)
}

// failingWriter accepts limit bytes, then fails every Write.
type failingWriter struct {
	w     io.Writer
	limit int
}

var errInjected = errors.New("injected failure")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n, _ := f.w.Write(p[:f.limit])
		f.limit = 0
		return n, errInjected
	}
	f.limit -= len(p)
	return f.w.Write(p)
}

// failingReader returns limit bytes of r, then an error.
type failingReader struct {
	r     io.Reader
	limit int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.limit == 0 {
		return 0, errInjected
	}
	if len(p) > f.limit {
		p = p[:f.limit]
	}
	n, err := f.r.Read(p)
	f.limit -= n
	return n, err
}

// untouchedReader fails the test if it is ever read.
type untouchedReader struct {
	read atomic.Bool
}

func (u *untouchedReader) Read(p []byte) (int, error) {
	u.read.Store(true)
	return 0, errInjected
}

// nonSeeker hides an io.Seeker, so Decode has to skip by reading.
type nonSeeker struct{ r io.Reader }

func (n nonSeeker) Read(p []byte) (int, error) { return n.r.Read(p) }

func corrupt(file []byte, at int64) []byte {
	out := bytes.Clone(file)
	out[at] ^= 0x01
	return out
}

func decodeRange(t testing.TB, c *Coder, readers []io.Reader, offset, length, size int64) ([]byte, []error, error) {
	t.Helper()
	var out bytes.Buffer
	n, errs, err := c.Decode(context.Background(), &out, readers, offset, length, size)
	if n != int64(out.Len()) {
		t.Fatalf("Decode returned n=%d but wrote %d bytes", n, out.Len())
	}
	return out.Bytes(), errs, err
}
