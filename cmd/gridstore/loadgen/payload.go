package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/zeebo/xxh3"
)

// Bounds of the random source buffer: twice the largest object, so that
// objects at different offsets rarely share long runs, within these.
const (
	minSourceSize = 1 << 20
	maxSourceSize = 32 << 20
)

// source is the random data every object is cut from.
type source struct{ buf []byte }

func newSource(largest int64, seed uint64) *source {
	n := min(max(2*largest, minSourceSize), maxSourceSize)
	n = (n + 7) &^ 7
	buf := make([]byte, n)
	// PCG fills at about 1 GB/s: tens of milliseconds once, where
	// crypto/rand per object would cost the client CPU the store should get.
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
	}
	return &source{buf: buf}
}

// object is one object the run put: enough to re-create and check it.
type object struct {
	name   string
	size   int64
	offset int64  // where its bytes start in the source
	sum    uint64 // xxh3 of its bytes, recorded at PUT

	// Pool bookkeeping, under the pool's lock.
	index   int // position in pool.objs
	readers int // GET/stat/list operations using it; delete waits for 0
}

// checksum is xxh3 of the object's bytes, computed from the source.
func (s *source) checksum(offset, size int64) uint64 {
	h := xxh3.New()
	s.each(offset, size, func(b []byte) { _, _ = h.Write(b) })
	return h.Sum64()
}

// each calls fn with the object's bytes in order, in at most a few slices
// of the source (it wraps around).
func (s *source) each(offset, size int64, fn func([]byte)) {
	n := int64(len(s.buf))
	offset %= n
	for size > 0 {
		k := min(size, n-offset)
		fn(s.buf[offset : offset+k])
		size -= k
		offset = 0
	}
}

// payload reads an object's bytes from the source. It implements io.Seeker
// and io.ReaderAt so that minio-go can rewind it without copying.
type payload struct {
	src          *source
	offset, size int64
	pos          int64
}

func (p *payload) reset(src *source, offset, size int64) {
	*p = payload{src: src, offset: offset, size: size}
}

func (p *payload) Read(b []byte) (int, error) {
	n, err := p.ReadAt(b, p.pos)
	p.pos += int64(n)
	return n, err
}

func (p *payload) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("payload: negative offset")
	}
	if off >= p.size {
		return 0, io.EOF
	}
	want := min(int64(len(b)), p.size-off)
	n := int64(len(p.src.buf))
	done := int64(0)
	for done < want {
		start := (p.offset + off + done) % n
		done += int64(copy(b[done:want], p.src.buf[start:]))
	}
	if off+done == p.size {
		return int(done), io.EOF
	}
	return int(done), nil
}

func (p *payload) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += p.pos
	case io.SeekEnd:
		offset += p.size
	default:
		return 0, fmt.Errorf("payload: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, errors.New("payload: seek before the start")
	}
	p.pos = offset
	return offset, nil
}

// readBufferSize is the size of the pooled buffers GETs read into: large
// enough that a read is few syscalls, small enough for many clients.
const readBufferSize = 256 << 10

var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, readBufferSize)
	return &b
}}

// ErrVerify marks a GET whose bytes differ from what was put.
var ErrVerify = errors.New("loadgen: object data differs from what was put")

// readObject reads r to its end into a pooled buffer and returns the
// number of bytes; with verify it hashes them and compares length and
// hash with o's.
func readObject(r io.Reader, o *object, verify bool) (int64, error) {
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	buf := *bp
	var h *xxh3.Hasher
	if verify {
		h = xxh3.New()
	}
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			n += int64(k)
			if h != nil {
				_, _ = h.Write(buf[:k])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("read %s after %d bytes: %w", o.name, n, err)
		}
	}
	if n != o.size {
		return n, fmt.Errorf("%w: %s: %d bytes, put %d", ErrVerify, o.name, n, o.size)
	}
	if h != nil && h.Sum64() != o.sum {
		return n, fmt.Errorf("%w: %s: xxh3 %016x, put %016x", ErrVerify, o.name, h.Sum64(), o.sum)
	}
	return n, nil
}
