package doublebuf

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A shard file as a local CreateFile receives it: bitrot records of a 32-byte
// hash and a 256 KiB chunk.
const (
	hashSize     = 32
	chunkSize    = 256 << 10
	recordsPerOp = 16 // 4 MiB of chunks per file: a 16 MiB object's shard at EC 4+4
)

// slowDest stands for a disk that takes a fixed time per write call. Go
// sleeps are about 1 ms granular on Linux, so the latency is 1 ms rather than
// a more NVMe-like 200 µs; what matters is that it is paid per call and can
// overlap with the producer.
type slowDest struct{ latency time.Duration }

func (d slowDest) Write(p []byte) (int, error) {
	time.Sleep(d.latency)
	return len(p), nil
}

func (d slowDest) Sync() error { return nil }

// contender is one way of getting records into a destination.
type contender struct {
	name string
	open func(dst Destination) io.WriteCloser
}

type plainWriter struct{ Destination }

func (p plainWriter) Close() error { return p.Sync() }

type bufioWriter struct {
	*bufio.Writer
	dst Destination
}

func (b bufioWriter) Close() error {
	if err := b.Flush(); err != nil {
		return err
	}
	return b.dst.Sync()
}

var contenders = []contender{
	{"plain", func(dst Destination) io.WriteCloser { return plainWriter{dst} }},
	{"bufio-1MiB", func(dst Destination) io.WriteCloser {
		return bufioWriter{bufio.NewWriterSize(dst, DefaultBufferSize), dst}
	}},
	{"doublebuf-1MiB", func(dst Destination) io.WriteCloser { return New(dst, Options{}) }},
}

// writeShard writes one shard file's records; producerWork per MiB stands for
// the time the caller spends getting the next bytes (network receive,
// hashing), which double buffering overlaps with the disk.
func writeShard(b *testing.B, w io.WriteCloser, hash, chunk []byte, producerWork time.Duration) {
	writeRecords(b, w, hash, chunk, recordsPerOp, producerWork)
}

func writeRecords(b *testing.B, w io.WriteCloser, hash, chunk []byte, records int, producerWork time.Duration) {
	for i := range records {
		if producerWork > 0 && i%4 == 0 {
			time.Sleep(producerWork)
		}
		if _, err := w.Write(hash); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSlowDisk compares the writers against a destination that costs
// 1 ms per write call, with and without producer work between MiBs.
func BenchmarkSlowDisk(b *testing.B) {
	hash := make([]byte, hashSize)
	chunk := make([]byte, chunkSize)
	for _, work := range []time.Duration{0, time.Millisecond} {
		for _, c := range contenders {
			b.Run(fmt.Sprintf("producer=%v/%s", work, c.name), func(b *testing.B) {
				b.SetBytes(recordsPerOp * (hashSize + chunkSize))
				b.ReportAllocs()
				for b.Loop() {
					writeShard(b, c.open(slowDest{latency: time.Millisecond}), hash, chunk, work)
				}
			})
		}
	}
}

// BenchmarkRealFile writes, fdatasyncs and closes a real 4 MiB shard file in
// b.TempDir per op.
func BenchmarkRealFile(b *testing.B) {
	hash := make([]byte, hashSize)
	chunk := make([]byte, chunkSize)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	dir := b.TempDir()
	type fileContender struct {
		name string
		open func(path string) (io.WriteCloser, error)
	}
	osOpen := func(path string) (*os.File, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	fileContenders := []fileContender{
		{"plain", func(path string) (io.WriteCloser, error) {
			f, err := osOpen(path)
			return syncingFile{f}, err
		}},
		{"bufio-1MiB", func(path string) (io.WriteCloser, error) {
			f, err := osOpen(path)
			return syncingBufio{bufio.NewWriterSize(f, DefaultBufferSize), f}, err
		}},
		{"doublebuf-1MiB", func(path string) (io.WriteCloser, error) {
			return Create(path, Options{})
		}},
		{"doublebuf-1MiB-direct", func(path string) (io.WriteCloser, error) {
			w, err := Create(path, Options{DirectIO: true})
			if err == nil && !w.DirectIO() {
				b.Log("O_DIRECT refused here; measuring the buffered fallback")
			}
			return w, err
		}},
	}
	for _, work := range []time.Duration{0, time.Millisecond} {
		for _, c := range fileContenders {
			b.Run(fmt.Sprintf("producer=%v/%s", work, c.name), func(b *testing.B) {
				b.SetBytes(recordsPerOp * (hashSize + chunkSize))
				b.ReportAllocs()
				path := filepath.Join(dir, c.name)
				for b.Loop() {
					w, err := c.open(path)
					if err != nil {
						b.Fatal(err)
					}
					writeShard(b, w, hash, chunk, work)
				}
				os.Remove(path)
			})
		}
	}
	// One record: a 1 MiB object's shard at EC 4+4, shorter than a buffer,
	// so all of it is the tail Close writes.
	for _, c := range fileContenders {
		b.Run("shard=256KiB/"+c.name, func(b *testing.B) {
			b.SetBytes(hashSize + chunkSize)
			b.ReportAllocs()
			path := filepath.Join(dir, c.name)
			for b.Loop() {
				w, err := c.open(path)
				if err != nil {
					b.Fatal(err)
				}
				writeRecords(b, w, hash, chunk, 1, 0)
			}
			os.Remove(path)
		})
	}
}

type syncingFile struct{ *os.File }

func (f syncingFile) Close() error {
	if err := datasync(f.File); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

type syncingBufio struct {
	*bufio.Writer
	f *os.File
}

func (b syncingBufio) Close() error {
	if err := b.Flush(); err != nil {
		b.f.Close()
		return err
	}
	return syncingFile{b.f}.Close()
}
