package doublebuf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/internal/iobuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

// memDest records what a Writer sends and checks the Destination contract:
// every write but the last is a whole, aligned buffer, and Sync comes last.
type memDest struct {
	mu        sync.Mutex
	size      int
	data      bytes.Buffer
	writes    int
	syncs     int
	sawTail   bool
	violation error
}

func (d *memDest) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	switch {
	case d.syncs > 0:
		d.fail("write after sync")
	case d.sawTail:
		d.fail("write after the unaligned tail")
	case len(p) != d.size:
		d.sawTail = true
	case !isAligned(p):
		d.fail("full buffer at an unaligned address")
	}
	return d.data.Write(p)
}

func (d *memDest) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syncs++
	return nil
}

func (d *memDest) fail(msg string) {
	if d.violation == nil {
		d.violation = fmt.Errorf("write %d: %s", d.writes, msg)
	}
}

func randomBytes(seed uint64, n int) []byte {
	p := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(p)
	return p
}

// edgeSizes are the write-call sizes around every boundary the Writer has.
func edgeSizes(size int) []int {
	return []int{0, 1, Alignment - 1, Alignment, Alignment + 1, size - 1, size, size + 1, 2*size + 3, 5 << 20}
}

// randomCalls chops total bytes into write-call sizes, mixing edge sizes and
// random ones.
func randomCalls(rng *rand.Rand, size, total int) []int {
	edges := edgeSizes(size)
	var calls []int
	for left := total; left > 0; {
		var k int
		if rng.IntN(2) == 0 {
			k = edges[rng.IntN(len(edges))]
		} else {
			k = rng.IntN(2*size + 1)
		}
		k = min(k, left)
		calls = append(calls, k)
		left -= k
	}
	return calls
}

func writeCalls(t *testing.T, w *Writer, data []byte, calls []int) {
	t.Helper()
	off := 0
	for _, k := range calls {
		n, err := w.Write(data[off : off+k])
		if err != nil || n != k {
			t.Fatalf("Write(%d bytes at %d) = %d, %v", k, off, n, err)
		}
		off += k
	}
}

func TestContentMatchesInput(t *testing.T) {
	sizes := []int{Alignment, 3 * Alignment, DefaultBufferSize}
	for _, size := range sizes {
		// Each edge size alone, then random mixes of them.
		var plans [][]int
		for _, k := range edgeSizes(size) {
			plans = append(plans, []int{k})
		}
		rng := rand.New(rand.NewPCG(uint64(size), 7))
		for range 6 {
			plans = append(plans, randomCalls(rng, size, rng.IntN(4*size+1)+rng.IntN(3<<20)))
		}
		for i, calls := range plans {
			t.Run(fmt.Sprintf("buf=%d/plan=%d", size, i), func(t *testing.T) {
				total := 0
				for _, k := range calls {
					total += k
				}
				data := randomBytes(uint64(i), total)
				dst := &memDest{size: size}
				w := New(dst, Options{BufferSize: size})
				writeCalls(t, w, data, calls)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if dst.violation != nil {
					t.Fatal(dst.violation)
				}
				if !bytes.Equal(dst.data.Bytes(), data) {
					t.Fatalf("destination holds %d bytes differing from the %d written", dst.data.Len(), total)
				}
				if dst.syncs != 1 {
					t.Fatalf("Sync called %d times, want 1", dst.syncs)
				}
				if want := (total + size - 1) / size; dst.writes != want {
					t.Fatalf("%d destination writes, want %d", dst.writes, want)
				}
			})
		}
	}
}

func TestReadFromMatchesInput(t *testing.T) {
	const size = 2 * Alignment
	data := randomBytes(5, 10*size+123)
	readers := map[string]func() io.Reader{
		"whole":   func() io.Reader { return bytes.NewReader(data) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"half":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"dataerr": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			dst := &memDest{size: size}
			w := New(dst, Options{BufferSize: size})
			w.Write(data[:7]) // start unaligned within the buffer
			src := mk()
			io.CopyN(io.Discard, src, 7)
			n, err := io.Copy(w, src) // io.Copy must pick ReadFrom
			if err != nil || n != int64(len(data)-7) {
				t.Fatalf("Copy = %d, %v", n, err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if dst.violation != nil {
				t.Fatal(dst.violation)
			}
			if !bytes.Equal(dst.data.Bytes(), data) {
				t.Fatal("content mismatch")
			}
		})
	}
}

func TestReadFromSourceErrorIsNotSticky(t *testing.T) {
	errSrc := errors.New("client went away")
	dst := &memDest{size: Alignment}
	w := New(dst, Options{BufferSize: Alignment})
	n, err := w.ReadFrom(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(errSrc)))
	if n != 3 || !errors.Is(err, errSrc) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	if _, err := w.ReadFrom(impossibleReader{}); !errors.Is(err, errInvalidCount) {
		t.Fatalf("ReadFrom(impossible) = %v", err)
	}
	if _, err := w.Write([]byte("def")); err != nil {
		t.Fatalf("Write after source error: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dst.data.String(); got != "abcdef" {
		t.Fatalf("got %q", got)
	}
}

type impossibleReader struct{}

func (impossibleReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

var (
	errInjected = errors.New("injected disk error")
	errSync     = errors.New("injected sync error")
)

// faultyDest fails its failOn-th Write (1-based), or Sync, and counts calls.
type faultyDest struct {
	mu       sync.Mutex
	failOn   int
	failSync bool
	short    bool // report one byte less than given instead of an error
	claimBig bool // report more bytes than given
	writes   int
	syncs    int
	data     bytes.Buffer
}

func (d *faultyDest) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	if d.writes == d.failOn {
		switch {
		case d.short:
			d.data.Write(p[:len(p)-1])
			return len(p) - 1, nil
		case d.claimBig:
			return len(p) + 1, nil
		}
		return 0, errInjected
	}
	return d.data.Write(p)
}

func (d *faultyDest) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syncs++
	if d.failSync {
		return errSync
	}
	return nil
}

func TestFlushErrorSurfacesAndSticks(t *testing.T) {
	const size = Alignment
	for _, failOn := range []int{1, 2, 3} {
		for _, chunk := range []int{1, 1000, size, 3*size + 5} {
			t.Run(fmt.Sprintf("failOn=%d/chunk=%d", failOn, chunk), func(t *testing.T) {
				dst := &faultyDest{failOn: failOn}
				w := New(dst, Options{BufferSize: size})
				// The failed buffer must be reported at the latest when the
				// writer needs it back: before buffer failOn+2 takes a byte.
				limit := (failOn + 1) * size
				p := make([]byte, chunk)
				accepted := 0
				var err error
				for accepted <= limit+chunk {
					var n int
					n, err = w.Write(p)
					accepted += n
					if err != nil {
						break
					}
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("Write error = %v, want %v", err, errInjected)
				}
				if accepted > limit {
					t.Fatalf("error surfaced after %d bytes, want at most %d", accepted, limit)
				}
				// Sticky: every later call reports it.
				if n, err2 := w.Write([]byte("x")); n != 0 || !errors.Is(err2, errInjected) {
					t.Fatalf("later Write = %d, %v", n, err2)
				}
				if _, err2 := w.ReadFrom(bytes.NewReader([]byte("x"))); !errors.Is(err2, errInjected) {
					t.Fatalf("later ReadFrom = %v", err2)
				}
				cerr := w.Close()
				if !errors.Is(cerr, errInjected) {
					t.Fatalf("Close = %v, want %v", cerr, errInjected)
				}
				if cerr2 := w.Close(); cerr2 != cerr {
					t.Fatalf("second Close = %v, want %v", cerr2, cerr)
				}
				if dst.writes != failOn {
					t.Fatalf("destination saw %d writes after failing write %d", dst.writes, failOn)
				}
				if dst.syncs != 0 {
					t.Fatal("synced after a failed write")
				}
			})
		}
	}
}

func TestErrorsSurfaceOnClose(t *testing.T) {
	const size = Alignment
	tests := []struct {
		name  string
		dst   *faultyDest
		bytes int
		want  error
		syncs int
	}{
		{"tail write fails", &faultyDest{failOn: 1}, 100, errInjected, 0},
		{"last full buffer fails", &faultyDest{failOn: 2}, 2 * size, errInjected, 0},
		{"tail after full buffers fails", &faultyDest{failOn: 3}, 2*size + 1, errInjected, 0},
		{"sync fails", &faultyDest{failSync: true}, 2*size + 1, errSync, 1},
		{"sync fails on empty file", &faultyDest{failSync: true}, 0, errSync, 1},
		{"short write", &faultyDest{failOn: 1, short: true}, size, io.ErrShortWrite, 0},
		{"impossible count", &faultyDest{failOn: 1, claimBig: true}, 10, errInvalidCount, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := New(tc.dst, Options{BufferSize: size})
			// Written in pieces smaller than a buffer; the failing flush may
			// or may not have been seen by a Write, but Close must see it.
			data := make([]byte, tc.bytes)
			for off := 0; off < len(data); off += 1000 {
				if _, err := w.Write(data[off:min(off+1000, len(data))]); err != nil {
					if !errors.Is(err, tc.want) {
						t.Fatalf("Write = %v", err)
					}
					break
				}
			}
			err := w.Close()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Close = %v, want %v", err, tc.want)
			}
			if err2 := w.Close(); err2 != err {
				t.Fatalf("second Close = %v, want %v", err2, err)
			}
			if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Write after Close = %v, want ErrClosed", err)
			}
			if tc.dst.syncs != tc.syncs {
				t.Fatalf("syncs = %d, want %d", tc.dst.syncs, tc.syncs)
			}
		})
	}
}

// gatedDest blocks each Write until the test lets it through, so tests can
// hold a flush in progress and order events without sleeping.
type gatedDest struct {
	entered chan int   // receives the write number when a Write starts
	release chan error // each value lets one Write finish with that error
	mu      sync.Mutex
	data    bytes.Buffer
	writes  int
	syncs   int
}

func newGatedDest() *gatedDest {
	return &gatedDest{entered: make(chan int, 16), release: make(chan error)}
}

func (d *gatedDest) Write(p []byte) (int, error) {
	d.mu.Lock()
	d.writes++
	n := d.writes
	d.mu.Unlock()
	d.entered <- n
	if err := <-d.release; err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.data.Write(p)
}

func (d *gatedDest) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syncs++
	return nil
}

func TestFillsOneBufferWhileOtherFlushes(t *testing.T) {
	const size = Alignment
	dst := newGatedDest()
	w := New(dst, Options{BufferSize: size})
	data := randomBytes(9, 3*size+10)

	mustWrite(t, w, data[:size]) // buffer A full: its flush starts at once
	if n := <-dst.entered; n != 1 {
		t.Fatalf("write %d entered, want 1", n)
	}
	// With A held in the destination, B fills without waiting for the disk.
	mustWrite(t, w, data[size:2*size])

	// The next byte needs A back, so this Write waits for the release.
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(data[2*size:])
		done <- err
	}()
	dst.release <- nil // A done
	if n := <-dst.entered; n != 2 {
		t.Fatalf("write %d entered, want 2", n)
	}
	dst.release <- nil // B done
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	if n := <-dst.entered; n != 3 { // the third full buffer
		t.Fatalf("write %d entered, want 3", n)
	}
	dst.release <- nil
	if n := <-dst.entered; n != 4 { // the 10-byte tail, from Close
		t.Fatalf("write %d entered, want 4", n)
	}
	dst.release <- nil
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.data.Bytes(), data) || dst.syncs != 1 {
		t.Fatalf("content equal=%v syncs=%d", bytes.Equal(dst.data.Bytes(), data), dst.syncs)
	}
}

func TestErrorFromHeldFlushReachesBlockedWrite(t *testing.T) {
	const size = Alignment
	dst := newGatedDest()
	w := New(dst, Options{BufferSize: size})
	mustWrite(t, w, make([]byte, 2*size)) // A in flight, B full
	<-dst.entered
	done := make(chan error, 1)
	go func() {
		_, err := w.Write([]byte("next")) // needs A back
		done <- err
	}()
	dst.release <- errInjected
	if err := <-done; !errors.Is(err, errInjected) {
		t.Fatalf("Write = %v, want %v", err, errInjected)
	}
	if err := w.Close(); !errors.Is(err, errInjected) {
		t.Fatalf("Close = %v", err)
	}
	if dst.writes != 1 {
		t.Fatalf("%d writes reached the destination, want only the failed one", dst.writes)
	}
}

func TestCloseWaitsForFlushInProgress(t *testing.T) {
	const size = Alignment
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			dst := newGatedDest()
			w := New(dst, Options{BufferSize: size})
			mustWrite(t, w, make([]byte, size))
			<-dst.entered
			closed := make(chan error, 1)
			go func() { closed <- w.Close() }()
			if fail {
				dst.release <- errInjected
				if err := <-closed; !errors.Is(err, errInjected) {
					t.Fatalf("Close = %v", err)
				}
				return // goleak in TestMain checks the flusher is gone
			}
			dst.release <- nil
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			if dst.data.Len() != size || dst.syncs != 1 {
				t.Fatalf("len=%d syncs=%d", dst.data.Len(), dst.syncs)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	const size = Alignment
	dst := newGatedDest()
	w := New(dst, Options{BufferSize: size})
	mustWrite(t, w, make([]byte, size+10)) // one buffer in flight, a tail pending
	<-dst.entered
	aborted := make(chan error, 1)
	go func() { aborted <- w.Abort() }()
	dst.release <- nil // Abort waits for the write in progress, then stops
	if err := <-aborted; err != nil {
		t.Fatal(err)
	}
	if dst.writes != 1 || dst.syncs != 0 {
		t.Fatalf("writes=%d syncs=%d: Abort must not write the tail or sync", dst.writes, dst.syncs)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Close after Abort = %v, want ErrClosed", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("second Abort = %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Abort = %v", err)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	dst := &memDest{size: Alignment}
	w := New(dst, Options{BufferSize: Alignment})
	mustWrite(t, w, []byte("hello"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if dst.syncs != 1 || dst.writes != 1 {
		t.Fatalf("second Close repeated work: writes=%d syncs=%d", dst.writes, dst.syncs)
	}
	if _, err := w.Write(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v", err)
	}
	if _, err := w.ReadFrom(bytes.NewReader(nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadFrom after Close = %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort after Close = %v", err)
	}
}

func TestSmallFileNeedsNoGoroutine(t *testing.T) {
	dst := &memDest{size: Alignment}
	w := New(dst, Options{BufferSize: Alignment})
	mustWrite(t, w, make([]byte, Alignment-1))
	if w.started || w.bufs[1] != nil {
		t.Fatal("a file smaller than one buffer started the flusher or took a second buffer")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBufferSizeOption(t *testing.T) {
	tests := []struct{ in, want int }{
		{0, DefaultBufferSize},
		{-1, DefaultBufferSize},
		{1, Alignment},
		{Alignment, Alignment},
		{Alignment + 1, 2 * Alignment},
		{MaxBufferSize + 1, MaxBufferSize},
		{1 << 62, MaxBufferSize},
	}
	for _, tc := range tests {
		if got := (Options{BufferSize: tc.in}).bufferSize(); got != tc.want {
			t.Errorf("BufferSize %d -> %d, want %d", tc.in, got, tc.want)
		}
	}
	for _, size := range []int{Alignment, 3 * Alignment, DefaultBufferSize} {
		for range 4 {
			if b := getBuffer(size); !isAligned(b) || len(b) != size {
				t.Fatalf("buffer of %d: len %d aligned=%v", size, len(b), isAligned(b))
			} else {
				putBuffer(b)
			}
		}
	}
}

func mustWrite(t *testing.T, w *Writer, p []byte) {
	t.Helper()
	if n, err := w.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
	}
}

// candidateDirs are places to try O_DIRECT on: the test's temp dir, /var/tmp
// and the package dir (usually disk-backed, ext4 or overlay), and /dev/shm
// (tmpfs, which refuses O_DIRECT on kernels before 6.6).
func candidateDirs(t *testing.T) map[string]string {
	dirs := map[string]string{"t.TempDir": t.TempDir()}
	for _, base := range []string{"/var/tmp", "/dev/shm", "."} {
		if st, err := os.Stat(base); err != nil || !st.IsDir() {
			continue
		}
		dir, err := os.MkdirTemp(base, "doublebuf-test-")
		if err != nil {
			t.Logf("%s: cannot create a test dir: %v", base, err)
			continue
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		dirs[base] = dir
	}
	return dirs
}

func TestRealFile(t *testing.T) {
	const size = 4 * Alignment
	for label, dir := range candidateDirs(t) {
		for _, direct := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/direct=%v", label, direct), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 3))
				for i, total := range []int{0, 1, size - 1, size, size + 1, 5*size + 4097, 3 << 20} {
					path := filepath.Join(dir, fmt.Sprintf("part.%d", i))
					data := randomBytes(uint64(i), total)
					w, err := Create(path, Options{BufferSize: size, DirectIO: direct})
					if err != nil {
						t.Fatal(err)
					}
					usedDirect := w.DirectIO()
					writeCalls(t, w, data, randomCalls(rng, size, total))
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					got, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("%s: file holds %d bytes differing from the %d written", path, len(got), total)
					}
					if !direct && usedDirect {
						t.Fatal("direct I/O used without being asked for")
					}
					if direct && !usedDirect {
						t.Logf("%s: file system refused O_DIRECT; fell back to buffered writes", label)
					}
					if direct && usedDirect && total%size != 0 && w.file.fdDirect {
						t.Fatal("O_DIRECT still set after writing an unaligned tail")
					}
				}
				if direct {
					t.Logf("%s (%s): O_DIRECT in use", label, dir)
				}
			})
		}
	}
}

func TestDirectWriteRefusedFallsBack(t *testing.T) {
	// O_APPEND onto a 1-byte file makes every direct write start at a
	// misaligned offset, which the kernel refuses with EINVAL after
	// O_DIRECT was accepted: the writer must retry buffered and stay so.
	const size = 2 * Alignment
	path := filepath.Join(t.TempDir(), "part.1")
	if err := os.WriteFile(path, []byte{0xAA}, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := OpenFile(path, os.O_WRONLY|os.O_APPEND, 0, Options{BufferSize: size, DirectIO: true})
	if err != nil {
		t.Fatal(err)
	}
	if !w.DirectIO() {
		mustWrite(t, w, nil)
		w.Close()
		t.Skip("file system refuses O_DIRECT outright; the write-time fallback cannot be provoked here")
	}
	data := randomBytes(11, 3*size+5)
	mustWrite(t, w, data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.DirectIO() {
		t.Fatal("DirectIO still reported after the kernel refused a direct write")
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, append([]byte{0xAA}, data...)) {
		t.Fatal("content mismatch after fallback")
	}
}

func TestOpenFileErrors(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "missing", "part.1"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Create in a missing dir = %v", err)
	}
	// A read-only descriptor fails at the first write; Close reports it
	// and still closes the file and stops the flusher.
	path := filepath.Join(t.TempDir(), "ro")
	os.WriteFile(path, nil, 0o644)
	w, err := OpenFile(path, os.O_RDONLY, 0, Options{BufferSize: Alignment})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 3*Alignment))
	if err := w.Close(); err == nil {
		t.Fatal("Close succeeded on a read-only file")
	}
}

func TestDirectRefusedAtOpen(t *testing.T) {
	// Character devices refuse O_DIRECT in fcntl, as tmpfs did before Linux
	// 6.6 and some FUSE file systems still do: the writer must come up
	// buffered. /dev/null also refuses fdatasync, which Close must report.
	w, err := OpenFile(os.DevNull, os.O_WRONLY, 0, Options{BufferSize: Alignment, DirectIO: true})
	if err != nil {
		t.Skipf("cannot open %s: %v", os.DevNull, err)
	}
	if w.DirectIO() {
		w.Abort()
		t.Skipf("%s accepted O_DIRECT here; nothing to fall back from", os.DevNull)
	}
	t.Logf("%s refused O_DIRECT; writer fell back to buffered writes", os.DevNull)
	mustWrite(t, w, make([]byte, 5*Alignment+3))
	err = w.Close()
	if err == nil {
		t.Logf("%s accepted fdatasync", os.DevNull)
		return
	}
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Close = %v, want the fdatasync refusal", err)
	}
	t.Logf("Close reported: %v", err)
}

// TestNewFileDirectBySize: a file announced shorter than one buffer, or
// than directMinSize, is written buffered from the start (its only write
// would clear O_DIRECT again); one of unknown size, or at least both, gets
// O_DIRECT where the file system takes it, and its final short buffer is
// written direct up to its last whole block (its first page is not in the
// page cache then: mincore). Every file reads back whole.
func TestNewFileDirectBySize(t *testing.T) {
	const small = 4 * Alignment // buffers smaller than directMinSize
	dir := t.TempDir()
	for i, tc := range []struct {
		buffer     int
		size       int64
		wantDirect bool
	}{
		{small, small - 1, false}, {small, 0, false}, {small, small, true}, {small, 3*small + 7, true},
		{small, small + Alignment + 5, true}, {small, -1, true},
		// The default 1 MiB buffers: a 1 MiB object's shard is shorter
		// than one.
		{0, directMinSize - 1, false}, {0, directMinSize, true}, {0, 256<<10 + 32, true},
	} {
		path := filepath.Join(dir, fmt.Sprintf("part.%d", i))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if tc.wantDirect && setDirect(f, true) != nil {
			f.Close()
			t.Skip("the test directory's file system refuses O_DIRECT")
		}
		if err := setDirect(f, false); err != nil {
			t.Fatal(err)
		}
		w := NewFile(f, tc.size, Options{BufferSize: tc.buffer, DirectIO: true})
		if got := w.DirectIO(); got != tc.wantDirect {
			t.Errorf("buffer %d, size %d: DirectIO %v, want %v", tc.buffer, tc.size, got, tc.wantDirect)
		}
		n := max(tc.size, 5)
		data := randomBytes(uint64(i), int(n))
		mustWrite(t, w, data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// Before it is read back: a direct write leaves its pages out of
		// the page cache, down to the final buffer's whole blocks.
		if n >= 2*Alignment {
			if cached, err := firstPageCached(path); err == nil && cached == tc.wantDirect {
				t.Errorf("buffer %d, size %d: first page cached %v after a write with DirectIO %v", tc.buffer, tc.size, cached, tc.wantDirect)
			}
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("buffer %d, size %d: file differs from what was written (%v)", tc.buffer, tc.size, err)
		}
	}
}
