package erasure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// bitrotFile writes data as a bitrot stream, one Write per writeSize bytes.
func bitrotFile(t testing.TB, data []byte, chunkSize int64, writeSize int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewBitrotWriter(&buf, testKey, chunkSize)
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		n := min(writeSize, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	return buf.Bytes()
}

func TestBitrotRoundTrip(t *testing.T) {
	for _, chunk := range []int64{1, 7, 64} {
		for _, size := range []int{0, 1, int(chunk) - 1, int(chunk), int(chunk) + 1, 5*int(chunk) + 3} {
			for _, readSize := range []int{1, 5, int(chunk), 1000} {
				t.Run(fmt.Sprintf("chunk%d/size%d/read%d", chunk, size, readSize), func(t *testing.T) {
					data := randomBytes(uint64(size), size)
					file := bitrotFile(t, data, chunk, 3*int(chunk)) // several chunks per Write
					if want, _ := BitrotDiskSize(int64(size), chunk); int64(len(file)) != want {
						t.Fatalf("file is %d bytes, BitrotDiskSize says %d", len(file), want)
					}
					r, err := NewBitrotReader(bytes.NewReader(file), testKey, chunk, 0, int64(size))
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(readerOfSize{r, readSize})
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("read back %d bytes, err %v; want %d bytes", len(got), err, size)
					}
				})
			}
		}
	}
}

// readerOfSize reads in calls of at most n bytes.
type readerOfSize struct {
	r io.Reader
	n int
}

func (r readerOfSize) Read(p []byte) (int, error) { return r.r.Read(p[:min(len(p), r.n)]) }

func TestBitrotReaderFromEveryChunk(t *testing.T) {
	const chunk = 10
	data := randomBytes(1, 47)
	file := bitrotFile(t, data, chunk, chunk)
	for off := int64(0); off <= int64(len(data)); off += chunk {
		for end := off; end <= int64(len(data)); end = min(end+chunk, int64(len(data))) {
			diskOff, err := BitrotDiskOffset(off, chunk)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewBitrotReader(bytes.NewReader(file[diskOff:]), testKey, chunk, off, end-off)
			if err != nil {
				t.Fatal(err)
			}
			if err := iotest.TestReader(r, data[off:end]); err != nil {
				t.Errorf("range [%d, %d): %v", off, end, err)
			}
			if end == int64(len(data)) {
				break
			}
		}
	}
}

func TestBitrotDetectsEveryFlippedByte(t *testing.T) {
	const chunk = 8
	data := randomBytes(2, 3*chunk+5)
	file := bitrotFile(t, data, chunk, len(data))
	for at := range file {
		bad := corrupt(file, int64(at))
		record := int64(at) / (chunk + BitrotHashSize)
		r, err := NewBitrotReader(bytes.NewReader(bad), testKey, chunk, 0, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		var be *BitrotError
		if !errors.Is(err, ErrBitrot) || !errors.As(err, &be) {
			t.Fatalf("flip at %d: err %v, want ErrBitrot", at, err)
		}
		if be.Offset != record*chunk || be.DiskOffset != record*(chunk+BitrotHashSize) {
			t.Fatalf("flip at %d: error names offset %d/%d, want chunk %d", at, be.Offset, be.DiskOffset, record)
		}
		if !bytes.Equal(got, data[:record*chunk]) {
			t.Fatalf("flip at %d: returned %d bytes, want the %d verified before", at, len(got), record*chunk)
		}
		// The error sticks: a corrupt stream is never read further.
		if _, err2 := r.Read(make([]byte, 100)); !errors.Is(err2, ErrBitrot) {
			t.Fatalf("flip at %d: second read err %v", at, err2)
		}
	}
}

func TestBitrotTruncatedStream(t *testing.T) {
	const chunk = 8
	data := randomBytes(3, 2*chunk+3)
	file := bitrotFile(t, data, chunk, len(data))
	for cut := range file {
		r, err := NewBitrotReader(bytes.NewReader(file[:cut]), testKey, chunk, 0, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		// The reader knows how long every chunk must be, so a cut even
		// inside the last chunk is an early EOF, not a short chunk.
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: err %v, want io.ErrUnexpectedEOF", cut, err)
		}
		whole := int64(cut) / (chunk + BitrotHashSize) * chunk
		if !bytes.Equal(got, data[:whole]) {
			t.Fatalf("cut at %d: returned %d bytes, want %d", cut, len(got), whole)
		}
	}
}

func TestBitrotWrongKey(t *testing.T) {
	data := randomBytes(4, 100)
	file := bitrotFile(t, data, 32, 100)
	otherKey := bytes.Repeat([]byte{1}, BitrotKeySize)
	r, err := NewBitrotReader(bytes.NewReader(file), otherKey, 32, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); !errors.Is(err, ErrBitrot) || len(got) != 0 {
		t.Fatalf("wrong key: %d bytes, err %v", len(got), err)
	}
}

func TestBitrotWriterFinalChunk(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewBitrotWriter(&buf, testKey, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write(make([]byte, 25)); n != 25 || err != nil {
		t.Fatalf("Write(25) = %d, %v", n, err)
	}
	if n, err := w.Write(nil); n != 0 || err != nil {
		t.Fatalf("empty Write after short chunk = %d, %v", n, err)
	}
	if n, err := w.Write(make([]byte, 10)); n != 0 || !errors.Is(err, errWriteAfterFinalChunk) {
		t.Fatalf("Write after short chunk = %d, %v", n, err)
	}
	if buf.Len() != 25+3*BitrotHashSize {
		t.Fatalf("wrote %d bytes", buf.Len())
	}
}

func TestBitrotWriterUnderlyingFailure(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		wantBytes int
	}{
		{"fails on first hash", 0, 0},
		{"fails inside first chunk", BitrotHashSize + 3, 0},
		{"fails on second hash", BitrotHashSize + 10 + 5, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewBitrotWriter(&failingWriter{w: io.Discard, limit: tt.limit}, testKey, 10)
			if err != nil {
				t.Fatal(err)
			}
			n, err := w.Write(make([]byte, 30))
			if n != tt.wantBytes || !errors.Is(err, errInjected) {
				t.Fatalf("Write = %d, %v; want %d, injected failure", n, err, tt.wantBytes)
			}
			if _, err := w.Write(make([]byte, 10)); !errors.Is(err, errInjected) {
				t.Fatalf("the error is not sticky: %v", err)
			}
		})
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestBitrotWriterShortWrite(t *testing.T) {
	w, err := NewBitrotWriter(shortWriter{}, testKey, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 10)); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("err %v, want io.ErrShortWrite", err)
	}
}

func TestBitrotInvalidArguments(t *testing.T) {
	src := bytes.NewReader(nil)
	open := func(int64, int64) (io.ReadCloser, error) { return io.NopCloser(src), nil }
	tests := []struct {
		name string
		make func() error
		want error
	}{
		{"writer short key", func() error { _, err := NewBitrotWriter(io.Discard, testKey[:31], 10); return err }, ErrInvalidConfig},
		{"writer long key", func() error { _, err := NewBitrotWriter(io.Discard, append(testKey, 0), 10); return err }, ErrInvalidConfig},
		{"writer zero chunk", func() error { _, err := NewBitrotWriter(io.Discard, testKey, 0); return err }, ErrInvalidConfig},
		{"writer huge chunk", func() error { _, err := NewBitrotWriter(io.Discard, testKey, MaxBlockSize+1); return err }, ErrInvalidConfig},
		{"writer nil", func() error { _, err := NewBitrotWriter(nil, testKey, 10); return err }, ErrInvalidArgument},
		{"reader nil key", func() error { _, err := NewBitrotReader(src, nil, 10, 0, 0); return err }, ErrInvalidConfig},
		{"reader negative chunk", func() error { _, err := NewBitrotReader(src, testKey, -1, 0, 0); return err }, ErrInvalidConfig},
		{"reader unaligned", func() error { _, err := NewBitrotReader(src, testKey, 10, 5, 10); return err }, ErrInvalidArgument},
		{"reader negative offset", func() error { _, err := NewBitrotReader(src, testKey, 10, -10, 10); return err }, ErrInvalidArgument},
		{"reader negative length", func() error { _, err := NewBitrotReader(src, testKey, 10, 0, -1); return err }, ErrInvalidArgument},
		{"reader overflow", func() error { _, err := NewBitrotReader(src, testKey, 10, 10, 1<<63-5); return err }, ErrInvalidArgument},
		{"reader nil", func() error { _, err := NewBitrotReader(nil, testKey, 10, 0, 0); return err }, ErrInvalidArgument},
		{"lazy nil open", func() error { _, err := NewLazyBitrotReader(nil, testKey, 10, 0, 0); return err }, ErrInvalidArgument},
		{"lazy bad key", func() error { _, err := NewLazyBitrotReader(open, nil, 10, 0, 0); return err }, ErrInvalidConfig},
		{"disk offset unaligned", func() error { _, err := BitrotDiskOffset(5, 10); return err }, ErrInvalidArgument},
		{"disk offset zero chunk", func() error { _, err := BitrotDiskOffset(0, 0); return err }, ErrInvalidConfig},
		{"disk size negative", func() error { _, err := BitrotDiskSize(-1, 10); return err }, ErrInvalidArgument},
		{"disk size zero chunk", func() error { _, err := BitrotDiskSize(10, 0); return err }, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.make(); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBitrotDiskMath(t *testing.T) {
	tests := []struct {
		chunk, shardOffset, diskOffset int64
		shardLength, diskSize          int64
	}{
		{10, 0, 0, 0, 0},
		{10, 10, 42, 1, 33},
		{10, 20, 84, 10, 42},
		{10, 30, 126, 11, 75},
		{1 << 20, 5 << 20, 5 * (1<<20 + 32), 5<<20 + 1, 5*(1<<20+32) + 33},
	}
	for _, tt := range tests {
		off, err := BitrotDiskOffset(tt.shardOffset, tt.chunk)
		if err != nil || off != tt.diskOffset {
			t.Errorf("BitrotDiskOffset(%d, %d) = %d, %v; want %d", tt.shardOffset, tt.chunk, off, err, tt.diskOffset)
		}
		size, err := BitrotDiskSize(tt.shardLength, tt.chunk)
		if err != nil || size != tt.diskSize {
			t.Errorf("BitrotDiskSize(%d, %d) = %d, %v; want %d", tt.shardLength, tt.chunk, size, err, tt.diskSize)
		}
	}
}

func TestLazyBitrotReader(t *testing.T) {
	const chunk = 10
	data := randomBytes(5, 45)
	file := bitrotFile(t, data, chunk, chunk)
	type open struct{ offset, length int64 }
	var opens []open
	closed := 0
	openAt := func(offset, length int64) (io.ReadCloser, error) {
		opens = append(opens, open{offset, length})
		return closeCounter{bytes.NewReader(file[offset : offset+length]), &closed}, nil
	}

	r, err := NewLazyBitrotReader(openAt, testKey, chunk, 10, 35)
	if err != nil {
		t.Fatal(err)
	}
	// Skipping before the first Read only moves where the stream opens.
	if err := r.Skip(20); err != nil {
		t.Fatalf("Skip: %v", err)
	}
	if len(opens) != 0 {
		t.Fatalf("opened before the first Read: %v", opens)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data[30:]) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if want := []open{{3 * (chunk + 32), 15 + 2*32}}; fmt.Sprint(opens) != fmt.Sprint(want) {
		t.Fatalf("opened %v, want %v", opens, want)
	}
	if err := r.Close(); err != nil || closed != 1 {
		t.Fatalf("Close = %v, closed %d times", err, closed)
	}
	if _, err := r.Read(make([]byte, 1)); err == nil {
		t.Fatal("Read after Close succeeded")
	}

	failing, err := NewLazyBitrotReader(func(int64, int64) (io.ReadCloser, error) { return nil, errInjected }, testKey, chunk, 0, 45)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := failing.Read(make([]byte, 10)); !errors.Is(err, errInjected) {
		t.Fatalf("open failure: %v", err)
	}
}

type closeCounter struct {
	io.Reader
	n *int
}

func (c closeCounter) Close() error { *c.n++; return nil }

func TestBitrotSkipOnOpenStream(t *testing.T) {
	const chunk = 10
	data := randomBytes(6, 45)
	file := bitrotFile(t, data, chunk, chunk)
	r, err := NewBitrotReader(bytes.NewReader(file), testKey, chunk, 0, 45)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[:3]) {
		t.Fatalf("first read: %v", err)
	}
	for _, bad := range []int64{-3, 5, 43, 100} { // backwards, unaligned, past the end
		if err := r.Skip(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Skip(%d) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	if err := r.Skip(17); err != nil { // 3 + 17 = 20, the start of chunk 2
		t.Fatalf("Skip(17): %v", err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data[20:]) {
		t.Fatalf("after skip read %d bytes, %v", len(got), err)
	}

	// Skipping to the end, which is not chunk aligned, is allowed.
	r, err = NewBitrotReader(bytes.NewReader(file), testKey, chunk, 0, 45)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := r.Skip(42); err != nil {
		t.Fatalf("Skip to end: %v", err)
	}
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v", n, err)
	}

	// Skipping over a truncated part of the stream is an early EOF.
	short, err := NewBitrotReader(bytes.NewReader(file[:50]), testKey, chunk, 0, 45)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := short.Skip(37); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("skip over truncation: %v", err)
	}
}
