package ringbuf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// streamByte is byte off of a deterministic pseudo-random stream. Deriving it
// from the absolute offset makes the stream independent of how writes and
// reads chop it up, so the reader can check every byte without shared state.
func streamByte(seed, off uint64) byte {
	z := seed + (off/8)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return byte(z >> (8 * (off % 8)))
}

func fillStream(p []byte, seed, off uint64) {
	for i := range p {
		p[i] = streamByte(seed, off+uint64(i))
	}
}

// checkStream reports the first offset where p differs from the stream.
func checkStream(p []byte, seed, off uint64) error {
	for i := range p {
		if want := streamByte(seed, off+uint64(i)); p[i] != want {
			return fmt.Errorf("byte at offset %d: got %#x, want %#x", off+uint64(i), p[i], want)
		}
	}
	return nil
}

// maxRandomSize bounds randomSize.
func maxRandomSize(capacity int) int { return 3*capacity + 64 }

// randomSize favours edge sizes around the capacity over a uniform spread.
func randomSize(rng *rand.Rand, capacity int) int {
	switch rng.IntN(6) {
	case 0:
		return 0
	case 1:
		return 1 + rng.IntN(64)
	case 2:
		return max(0, capacity+rng.IntN(5)-2)
	case 3:
		return rng.IntN(3 * capacity)
	default:
		return rng.IntN(capacity + 1)
	}
}

// produce writes total bytes of the stream in random-size writes and closes.
func produce(w *Writer, seed uint64, total int, capacity int, rng *rand.Rand) error {
	buf := make([]byte, maxRandomSize(capacity))
	off := 0
	for off < total {
		k := min(randomSize(rng, capacity), total-off)
		p := buf[:k]
		fillStream(p, seed, uint64(off))
		n, err := w.Write(p)
		if err != nil {
			return fmt.Errorf("write at %d: %w", off, err)
		}
		if n != k {
			return fmt.Errorf("write at %d: n=%d, want %d", off, n, k)
		}
		off += k
	}
	return w.Close()
}

type stressCase struct {
	name     string
	capacity int
	total    int
	drain    string // "read", "writeto"
	fill     string // "write", "readfrom"
}

func TestStressRandomSizes(t *testing.T) {
	cases := []stressCase{
		{"tiny-odd-read", 7, 64 << 10, "read", "write"},
		{"small-odd-read", 4099, 4 << 20, "read", "write"},
		{"small-odd-writeto", 4099, 4 << 20, "writeto", "write"},
		{"small-readfrom-read", 4096, 2 << 20, "read", "readfrom"},
		{"small-readfrom-writeto", 5000, 2 << 20, "writeto", "readfrom"},
		{"default-read", DefaultSize, 16 << 20, "read", "write"},
		{"default-writeto", DefaultSize, 16 << 20, "writeto", "write"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := uint64(i)*1000 + 17
			r, w := New(tc.capacity)
			errc := make(chan error, 1)
			go func() {
				rng := rand.New(rand.NewPCG(seed, 1))
				switch tc.fill {
				case "readfrom":
					src := &streamReader{seed: seed, total: tc.total, rng: rng, max: 2 * tc.capacity}
					n, err := w.ReadFrom(src)
					if err == nil && n != int64(tc.total) {
						err = fmt.Errorf("ReadFrom n=%d, want %d", n, tc.total)
					}
					if err == nil {
						err = w.Close()
					}
					errc <- err
				default:
					errc <- produce(w, seed, tc.total, tc.capacity, rng)
				}
			}()

			rng := rand.New(rand.NewPCG(seed, 2))
			var got int
			switch tc.drain {
			case "writeto":
				cw := &checkingWriter{seed: seed}
				n, err := r.WriteTo(cw)
				if err != nil {
					t.Fatalf("WriteTo: %v", err)
				}
				if cw.err != nil {
					t.Fatal(cw.err)
				}
				got = int(n)
			default:
				buf := make([]byte, maxRandomSize(tc.capacity))
				for {
					k := randomSize(rng, tc.capacity)
					n, err := r.Read(buf[:k])
					if n > k {
						t.Fatalf("read n=%d > len %d", n, k)
					}
					if cerr := checkStream(buf[:n], seed, uint64(got)); cerr != nil {
						t.Fatal(cerr)
					}
					got += n
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("read at %d: %v", got, err)
					}
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got != tc.total {
				t.Fatalf("read %d bytes, want %d", got, tc.total)
			}
		})
	}
}

// streamReader serves the stream in random-size pieces, for ReadFrom.
type streamReader struct {
	seed  uint64
	off   int
	total int
	max   int
	rng   *rand.Rand
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.off == s.total {
		return 0, io.EOF
	}
	k := min(len(p), s.total-s.off, s.rng.IntN(s.max+1))
	fillStream(p[:k], s.seed, uint64(s.off))
	s.off += k
	return k, nil
}

// checkingWriter verifies what WriteTo hands it against the stream.
type checkingWriter struct {
	seed uint64
	off  uint64
	err  error
}

func (c *checkingWriter) Write(p []byte) (int, error) {
	if c.err == nil {
		c.err = checkStream(p, c.seed, c.off)
	}
	c.off += uint64(len(p))
	return len(p), nil
}

var (
	errWriterSide = errors.New("producer failed")
	errReaderSide = errors.New("consumer failed")
)

func TestCloseSemantics(t *testing.T) {
	payload := []byte("hash+shard")
	tests := []struct {
		name      string
		act       func(r *Reader, w *Writer)
		wantRead  []byte // bytes the reader drains first
		readErr   error  // error after draining
		writeErr  error  // error from a following Write
		writeName string
	}{
		{
			name:     "writer Close drains then EOF",
			act:      func(r *Reader, w *Writer) { w.Close() },
			wantRead: payload, readErr: io.EOF, writeErr: io.ErrClosedPipe,
		},
		{
			name:     "writer CloseWithError drains then error",
			act:      func(r *Reader, w *Writer) { w.CloseWithError(errWriterSide) },
			wantRead: payload, readErr: errWriterSide, writeErr: io.ErrClosedPipe,
		},
		{
			name:     "writer CloseWithError(nil) is Close",
			act:      func(r *Reader, w *Writer) { w.CloseWithError(nil) },
			wantRead: payload, readErr: io.EOF, writeErr: io.ErrClosedPipe,
		},
		{
			name:     "writer first close error sticks",
			act:      func(r *Reader, w *Writer) { w.CloseWithError(errWriterSide); w.Close() },
			wantRead: payload, readErr: errWriterSide, writeErr: io.ErrClosedPipe,
		},
		{
			name:    "reader Close drops data",
			act:     func(r *Reader, w *Writer) { r.Close() },
			readErr: io.ErrClosedPipe, writeErr: io.ErrClosedPipe,
		},
		{
			name:    "reader CloseWithError reaches writer",
			act:     func(r *Reader, w *Writer) { r.CloseWithError(errReaderSide) },
			readErr: io.ErrClosedPipe, writeErr: errReaderSide,
		},
		{
			name:    "reader first close error sticks",
			act:     func(r *Reader, w *Writer) { r.CloseWithError(errReaderSide); r.CloseWithError(errWriterSide) },
			readErr: io.ErrClosedPipe, writeErr: errReaderSide,
		},
		{
			name:    "both closed, writer first",
			act:     func(r *Reader, w *Writer) { w.CloseWithError(errWriterSide); r.Close() },
			readErr: io.ErrClosedPipe, writeErr: io.ErrClosedPipe,
		},
		{
			name:    "both closed, reader first",
			act:     func(r *Reader, w *Writer) { r.CloseWithError(errReaderSide); w.Close() },
			readErr: io.ErrClosedPipe, writeErr: io.ErrClosedPipe,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w := New(64)
			if n, err := w.Write(payload); n != len(payload) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			tc.act(r, w)

			got, err := io.ReadAll(onlyReader{r})
			if !bytes.Equal(got, tc.wantRead) {
				t.Errorf("drained %q, want %q", got, tc.wantRead)
			}
			wantAll := tc.readErr
			if wantAll == io.EOF {
				wantAll = nil // ReadAll swallows EOF
			}
			if !errors.Is(err, wantAll) {
				t.Errorf("ReadAll error %v, want %v", err, wantAll)
			}
			// The error stays put on every later read, including empty ones.
			for _, p := range [][]byte{make([]byte, 8), nil} {
				if n, err := r.Read(p); n != 0 || !errors.Is(err, tc.readErr) {
					t.Errorf("Read(len %d) = %d, %v; want 0, %v", len(p), n, err, tc.readErr)
				}
			}
			if n, err := r.WriteTo(io.Discard); n != 0 || !errors.Is(err, nilIfEOF(tc.readErr)) {
				t.Errorf("WriteTo = %d, %v; want 0, %v", n, err, nilIfEOF(tc.readErr))
			}
			for _, p := range [][]byte{payload, nil} {
				if n, err := w.Write(p); n != 0 || !errors.Is(err, tc.writeErr) {
					t.Errorf("Write(len %d) = %d, %v; want 0, %v", len(p), n, err, tc.writeErr)
				}
			}
			if n, err := w.ReadFrom(bytes.NewReader(payload)); n != 0 || !errors.Is(err, tc.writeErr) {
				t.Errorf("ReadFrom = %d, %v; want 0, %v", n, err, tc.writeErr)
			}
		})
	}
}

func nilIfEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// onlyReader hides WriteTo so io.ReadAll exercises Read.
type onlyReader struct{ io.Reader }

func TestZeroLength(t *testing.T) {
	r, w := New(8)
	if n, err := w.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v", n, err)
	}
	if n, err := w.Write([]byte{}); n != 0 || err != nil {
		t.Fatalf("Write(empty) = %d, %v", n, err)
	}
	// A zero-length read on an empty, open ring must not block.
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	if got := r.Buffered(); got != 0 {
		t.Fatalf("Buffered = %d after empty writes", got)
	}
	// Zero-length writes still succeed when the ring is full.
	w.Write([]byte("12345678"))
	if n, err := w.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) on full ring = %d, %v", n, err)
	}
	w.Close()
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) with data buffered = %d, %v", n, err)
	}
	got, err := io.ReadAll(onlyReader{r})
	if err != nil || string(got) != "12345678" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
}

func TestWrapAround(t *testing.T) {
	r, w := New(8)
	rb := r.r
	mustWrite(t, w, "abcdef")
	buf := make([]byte, 4)
	if n, _ := r.Read(buf); string(buf[:n]) != "abcd" {
		t.Fatalf("first read %q", buf[:n])
	}
	// Free space is [6,8) and [0,4): this write must wrap.
	mustWrite(t, w, "ghijkl")
	if rb.r != 4 || rb.n != 8 {
		t.Fatalf("r=%d n=%d, want r=4 n=8", rb.r, rb.n)
	}
	// One Read returns both the tail and the wrapped front.
	big := make([]byte, 16)
	n, err := r.Read(big)
	if err != nil || string(big[:n]) != "efghijkl" {
		t.Fatalf("wrapped read = %q, %v", big[:n], err)
	}

	// WriteTo splits at the wrap but delivers everything in order.
	mustWrite(t, w, "mnopqr")
	r.Read(buf[:3])
	mustWrite(t, w, "stuvw")
	w.Close()
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil || out.String() != "pqrstuvw" {
		t.Fatalf("WriteTo = %q, %v", out.String(), err)
	}
}

func mustWrite(t *testing.T, w *Writer, s string) {
	t.Helper()
	if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

// waitFor spins until cond holds, yielding instead of sleeping so the test
// orders events deterministically without timing.
func waitFor(rb *ring, cond func(*ring) bool) {
	for {
		rb.mu.Lock()
		ok := cond(rb)
		rb.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

func TestWriteLargerThanCapacity(t *testing.T) {
	r, w := New(16)
	data := make([]byte, 1000)
	fillStream(data, 3, 0)
	done := make(chan error, 1)
	go func() {
		n, err := w.Write(data)
		if err == nil && n != len(data) {
			err = fmt.Errorf("n=%d", n)
		}
		w.Close()
		done <- err
	}()
	got, err := io.ReadAll(iotest.OneByteReader(r))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("content mismatch")
	}
}

func TestBlockedWriterWokenByReaderClose(t *testing.T) {
	for _, viaReadFrom := range []bool{false, true} {
		t.Run(fmt.Sprintf("readfrom=%v", viaReadFrom), func(t *testing.T) {
			r, w := New(8)
			mustWrite(t, w, "12345")
			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				if viaReadFrom {
					n, err := w.ReadFrom(bytes.NewReader(make([]byte, 100)))
					done <- result{n, err}
					return
				}
				n, err := w.Write(make([]byte, 100))
				done <- result{int64(n), err}
			}()
			waitFor(r.r, func(rb *ring) bool { return rb.writerWaiting })
			r.CloseWithError(errReaderSide)
			res := <-done
			if !errors.Is(res.err, errReaderSide) {
				t.Fatalf("blocked write got %v, want %v", res.err, errReaderSide)
			}
			if res.n != 3 {
				t.Fatalf("blocked write n=%d, want the 3 bytes that fit", res.n)
			}
		})
	}
}

func TestBlockedWriterWokenByWriterClose(t *testing.T) {
	// Another goroutine may close the write side to abort a producer stuck
	// on a full ring (e.g. the request was cancelled).
	r, w := New(4)
	mustWrite(t, w, "1234")
	done := make(chan error, 1)
	go func() {
		_, err := w.Write([]byte("5"))
		done <- err
	}()
	waitFor(r.r, func(rb *ring) bool { return rb.writerWaiting })
	w.CloseWithError(errWriterSide)
	if err := <-done; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("got %v, want io.ErrClosedPipe", err)
	}
	got, err := io.ReadAll(onlyReader{r})
	if string(got) != "1234" || !errors.Is(err, errWriterSide) {
		t.Fatalf("reader got %q, %v", got, err)
	}
}

func TestBlockedReaderWokenByWriterClose(t *testing.T) {
	for _, mode := range []string{"read", "writeto"} {
		for _, closeErr := range []error{nil, errWriterSide} {
			t.Run(fmt.Sprintf("%s/%v", mode, closeErr), func(t *testing.T) {
				r, w := New(8)
				done := make(chan error, 1)
				go func() {
					if mode == "writeto" {
						_, err := r.WriteTo(io.Discard)
						done <- err
						return
					}
					_, err := r.Read(make([]byte, 4))
					done <- err
				}()
				waitFor(r.r, func(rb *ring) bool { return rb.readerWaiting })
				w.CloseWithError(closeErr)
				want := closeErr
				if want == nil && mode == "read" {
					want = io.EOF
				}
				if err := <-done; !errors.Is(err, want) {
					t.Fatalf("got %v, want %v", err, want)
				}
			})
		}
	}
}

func TestBlockedReaderWokenByReaderClose(t *testing.T) {
	r, w := New(8)
	defer w.Close()
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 4))
		done <- err
	}()
	waitFor(r.r, func(rb *ring) bool { return rb.readerWaiting })
	r.Close()
	if err := <-done; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("got %v, want io.ErrClosedPipe", err)
	}
}

func TestReaderWokenByWrite(t *testing.T) {
	r, w := New(8)
	done := make(chan string, 1)
	go func() {
		buf := make([]byte, 8)
		n, _ := r.Read(buf)
		done <- string(buf[:n])
	}()
	waitFor(r.r, func(rb *ring) bool { return rb.readerWaiting })
	mustWrite(t, w, "hi")
	if got := <-done; got != "hi" {
		t.Fatalf("got %q", got)
	}
	w.Close()
}

// failingWriter claims n bytes written whatever it is given, even impossible
// counts, and returns err.
type failingWriter struct {
	n   int
	err error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	return f.n, f.err
}

func TestWriteToDestinationErrors(t *testing.T) {
	errDst := errors.New("socket gone")
	tests := []struct {
		name string
		dst  io.Writer
		want error
		n    int64
	}{
		{"error", &failingWriter{n: 2, err: errDst}, errDst, 2},
		{"short write", &failingWriter{n: 3}, io.ErrShortWrite, 3},
		{"impossible count", &failingWriter{n: 1 << 30}, errInvalidWrite, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w := New(16)
			mustWrite(t, w, "0123456789")
			w.Close()
			n, err := r.WriteTo(tc.dst)
			if !errors.Is(err, tc.want) || n != tc.n {
				t.Fatalf("WriteTo = %d, %v; want %d, %v", n, err, tc.n, tc.want)
			}
			// Unsent bytes stay readable.
			rest, _ := io.ReadAll(onlyReader{r})
			if want := "0123456789"[tc.n:]; string(rest) != want {
				t.Fatalf("left %q, want %q", rest, want)
			}
		})
	}
}

type badReader struct{}

func (badReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestReadFromSourceErrors(t *testing.T) {
	errSrc := errors.New("body truncated")
	r, w := New(16)
	n, err := w.ReadFrom(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(errSrc)))
	if n != 3 || !errors.Is(err, errSrc) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	if _, err := w.ReadFrom(badReader{}); !errors.Is(err, errInvalidRead) {
		t.Fatalf("ReadFrom(bad) err = %v", err)
	}
	w.Close()
	got, _ := io.ReadAll(onlyReader{r})
	if string(got) != "abc" {
		t.Fatalf("got %q", got)
	}
}

func TestNewDefaults(t *testing.T) {
	for _, size := range []int{0, -5} {
		r, w := New(size)
		if r.Size() != DefaultSize {
			t.Errorf("New(%d).Size() = %d", size, r.Size())
		}
		w.Close()
	}
	r, _ := NewBuffer(nil)
	if r.Size() != DefaultSize {
		t.Errorf("NewBuffer(nil).Size() = %d", r.Size())
	}
	buf := make([]byte, 100)
	r, w := NewBuffer(buf)
	mustWrite(t, w, "pooled")
	if r.Size() != 100 || w.Buffered() != 6 || string(buf[:6]) != "pooled" {
		t.Errorf("NewBuffer does not use the given memory")
	}
}

func TestNoAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are meaningful without -short only")
	}
	r, w := New(4096)
	hash := make([]byte, 32)
	chunk := make([]byte, 2000)
	out := make([]byte, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		w.Write(hash)
		w.Write(chunk)
		r.Read(out)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Write+Write+Read, want 0", allocs)
	}
	w.Close()
}
