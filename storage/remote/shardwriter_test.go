package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// zeros is an endless source.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestCreateFileCancelWhileCongested: cancelling an upload whose drive is not
// reading (the abort cannot get through the full window) still returns, with
// the context's error, and the drive's call is cancelled too.
func TestCreateFileCancelWhileCongested(t *testing.T) {
	c := newTestCluster(t)
	gd := newGateDrive(newLocalDrive(t))
	d := c.serve(t, gd)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.CreateFile(ctx, storage.TmpVolume, "f", -1, zeros{}) }()
	<-gd.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateFile = %v, want Canceled", err)
	}
	if err := <-gd.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the drive's CreateFile ended with %v, want its context cancelled", err)
	}
	if _, err := d.ReadFileStream(t.Context(), storage.TmpVolume, "f", 0, -1); !errors.Is(err, storage.ErrFileNotFound) {
		t.Fatalf("after a cancelled upload: %v", err)
	}
}

// testData returns n bytes that differ per seed.
func testData(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed*13 + i>>11)
	}
	return b
}

// writeInPieces writes data in pieces of varied sizes, as an encoder's
// hashes and chunks.
func writeInPieces(w io.Writer, data []byte) error {
	sizes := []int{32, 1 << 20, 7, 100_000, 32, 65536}
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// TestShardWriter writes through a ShardWriter to a local drive and to a
// remote one, with Write and ReadFrom, and reads the files back.
func TestShardWriter(t *testing.T) {
	c := newTestCluster(t)
	ld := newLocalDrive(t)
	for name, d := range map[string]storage.Drive{"local": ld, "remote": c.serve(t, newLocalDrive(t))} {
		t.Run(name, func(t *testing.T) {
			for i, n := range []int{0, 1, 100_000, 300_000, ShardBufferSize - 1, ShardBufferSize + 1, 5<<20 + 3} {
				data := testData(i, n)
				for _, known := range []bool{true, false} {
					size := int64(n)
					if !known {
						size = -1
					}
					path := fmt.Sprintf("sw/%d-%v/part.1", n, known)
					sw := NewShardWriter(t.Context(), d, storage.TmpVolume, path, size)
					var err error
					if known {
						err = writeInPieces(sw, data)
					} else {
						_, err = sw.ReadFrom(bytes.NewReader(data))
					}
					if err != nil {
						t.Fatalf("%s: write: %v", path, err)
					}
					if err := sw.Close(); err != nil {
						t.Fatalf("%s: Close: %v", path, err)
					}
					if err := sw.Close(); err != nil {
						t.Fatalf("%s: second Close: %v", path, err)
					}
					if _, err := sw.Write([]byte("x")); err == nil {
						t.Fatalf("%s: Write after Close succeeded", path)
					}
					got, err := readAll(t, d, storage.TmpVolume, path, 0, -1)
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s: read back %d bytes, %v", path, len(got), err)
					}
				}
			}
			// Fewer bytes than announced: the drive's error comes out of Close.
			sw := NewShardWriter(t.Context(), d, storage.TmpVolume, "short", 100)
			if _, err := sw.Write(make([]byte, 99)); err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); !errors.Is(err, storage.ErrSizeMismatch) {
				t.Fatalf("short shard: Close = %v", err)
			}
		})
	}
}

// TestShardWriterAbort: CloseWithError discards the shard on the drive before
// it returns.
func TestShardWriterAbort(t *testing.T) {
	c := newTestCluster(t)
	for name, d := range map[string]storage.Drive{"local": newLocalDrive(t), "remote": c.serve(t, newLocalDrive(t))} {
		t.Run(name, func(t *testing.T) {
			sw := NewShardWriter(t.Context(), d, storage.TmpVolume, "aborted/part.1", 8<<20)
			if err := writeInPieces(sw, testData(1, 3<<20)); err != nil {
				t.Fatal(err)
			}
			err := sw.CloseWithError(errTest)
			if !errors.Is(err, errTest) && !errors.Is(err, context.Canceled) {
				t.Fatalf("CloseWithError = %v, want the abort's error or Canceled", err)
			}
			if _, err := d.ReadFileStream(t.Context(), storage.TmpVolume, "aborted/part.1", 0, -1); !errors.Is(err, storage.ErrFileNotFound) {
				t.Fatalf("aborted shard is still there: %v", err)
			}
		})
	}
}

// TestShardWriterDriveFails: once the drive's CreateFile fails, the writer's
// next Write reports it rather than filling the buffer for nothing.
func TestShardWriterDriveFails(t *testing.T) {
	c := newTestCluster(t)
	local := &faultDrive{endpoint: "/fault/local", err: storage.ErrDiskFull}
	for name, d := range map[string]storage.Drive{"local": local, "remote": c.serve(t, &faultDrive{endpoint: "/fault/remote", err: storage.ErrDiskFull})} {
		t.Run(name, func(t *testing.T) {
			sw := NewShardWriter(t.Context(), d, storage.TmpVolume, "f", 64<<20)
			var err error
			// The buffer holds 2 MiB and the drive reads 1000 bytes before
			// failing, so the writes must fail long before 64 MiB.
			for i := 0; i < 64 && err == nil; i++ {
				_, err = sw.Write(make([]byte, 1<<20))
			}
			if !errors.Is(err, storage.ErrDiskFull) {
				t.Fatalf("Write = %v, want the drive's ErrDiskFull", err)
			}
			if err := sw.Close(); !errors.Is(err, storage.ErrDiskFull) {
				t.Fatalf("Close = %v", err)
			}
		})
	}
}

// TestShardWriterCongestion: one remote drive whose CreateFile does not read
// (a congested peer) stalls neither the other drives' uploads on the same
// connection nor, up to the ring buffer's size, the encoder writing to it.
func TestShardWriterCongestion(t *testing.T) {
	const size = 8 << 20
	slow := newGateDrive(newLocalDrive(t))
	fast := []storage.Drive{newLocalDrive(t), newLocalDrive(t), newLocalDrive(t)}
	c := newTestCluster(t)
	drives := []*Client{c.serve(t, slow)}
	for _, d := range fast {
		drives = append(drives, c.serve(t, d))
	}
	writers := make([]*ShardWriter, len(drives))
	data := make([][]byte, len(drives))
	for i, d := range drives {
		writers[i] = NewShardWriter(t.Context(), d, storage.TmpVolume, "obj/part.1", size)
		data[i] = testData(i, size)
	}
	if path := <-slow.started; path != "obj/part.1" {
		t.Fatalf("slow drive started %q", path)
	}

	// A burst as large as the ring buffer goes into the congested writer
	// without waiting for the drive.
	if _, err := writers[0].Write(data[0][:ShardBufferSize]); err != nil {
		t.Fatal(err)
	}
	// The rest of it cannot fit anywhere (ring, grid window) until the drive
	// reads: it is written in the background.
	slowDone := make(chan error, 1)
	go func() {
		if _, err := writers[0].Write(data[0][ShardBufferSize:]); err != nil {
			slowDone <- err
			return
		}
		slowDone <- writers[0].Close()
	}()

	// Meanwhile the other uploads, on the same grid connection, complete.
	for i := 1; i < len(writers); i++ {
		if err := writeInPieces(writers[i], data[i]); err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
		if err := writers[i].Close(); err != nil {
			t.Fatalf("writer %d: Close: %v", i, err)
		}
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the congested upload finished (%v) before its drive read anything", err)
	default:
	}

	close(slow.gate)
	if err := <-slowDone; err != nil {
		t.Fatalf("congested upload: %v", err)
	}
	for i, d := range drives {
		got, err := readAll(t, d, storage.TmpVolume, "obj/part.1", 0, -1)
		if err != nil || !bytes.Equal(got, data[i]) {
			t.Fatalf("drive %d: read back %d bytes, %v", i, len(got), err)
		}
	}
}

// stuckDrive is a drive whose CreateFile does not read its input until
// released, and ignores its context meanwhile, as a disk stuck in a system
// call does.
type stuckDrive struct {
	storage.Drive
	release chan struct{}
	started chan struct{}
}

func (d *stuckDrive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	d.started <- struct{}{}
	<-d.release
	return d.Drive.CreateFile(ctx, volume, path, size, r)
}

// TestShardWriterAbortFromAnotherGoroutine: Abort wakes a Write blocked on
// the full buffer of a drive that reads nothing and ignores its context,
// with Abort's error, without waiting for the drive; Close then waits for
// the drive, and the shard is not left behind.
func TestShardWriterAbortFromAnotherGoroutine(t *testing.T) {
	c := newTestCluster(t)
	for _, remote := range []bool{false, true} {
		t.Run(fmt.Sprintf("remote=%v", remote), func(t *testing.T) {
			stuck := &stuckDrive{Drive: newLocalDrive(t), release: make(chan struct{}), started: make(chan struct{}, 1)}
			var d storage.Drive = stuck
			if remote {
				d = c.serve(t, stuck)
			}
			const size = 16 << 20
			sw := NewShardWriter(t.Context(), d, storage.TmpVolume, "stuck/part.1", size)
			<-stuck.started
			wrote := make(chan error, 1)
			go func() {
				_, err := sw.Write(make([]byte, size)) // far more than the ring and any window
				wrote <- err
			}()
			select {
			case err := <-wrote:
				t.Fatalf("Write to a drive that reads nothing returned %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			sw.Abort(errTest)
			select {
			case err := <-wrote:
				if !errors.Is(err, errTest) {
					t.Fatalf("aborted Write = %v, want the abort's error", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Abort did not wake the blocked Write")
			}
			if _, err := sw.Write([]byte("x")); !errors.Is(err, errTest) {
				t.Fatalf("Write after Abort = %v, want the abort's error", err)
			}
			close(stuck.release)
			if err := sw.CloseWithError(errTest); err == nil {
				t.Fatal("CloseWithError after Abort reported a complete shard")
			}
			if _, err := d.ReadFileStream(t.Context(), storage.TmpVolume, "stuck/part.1", 0, -1); !errors.Is(err, storage.ErrFileNotFound) {
				t.Fatalf("aborted shard is still there: %v", err)
			}
		})
	}
}

// TestShardWriterRingSize: a shard file of known size gets the smallest
// ring that holds it (at least MinShardBufferSize), an unknown or large
// one ShardBufferSize.
func TestShardWriterRingSize(t *testing.T) {
	d := newLocalDrive(t)
	for _, tt := range []struct {
		size int64
		ring int
	}{
		{-1, ShardBufferSize},
		{0, MinShardBufferSize},
		{3000, MinShardBufferSize},
		{MinShardBufferSize, MinShardBufferSize},
		{MinShardBufferSize + 1, 2 * MinShardBufferSize},
		{256<<10 + 32, 512 << 10},
		{1<<20 + 32, ShardBufferSize},
		{ShardBufferSize, ShardBufferSize},
		{ShardBufferSize + 1, ShardBufferSize},
		{1 << 30, ShardBufferSize},
	} {
		sw := NewShardWriter(t.Context(), d, storage.TmpVolume, fmt.Sprintf("ring/%d", tt.size), tt.size)
		if got := sw.r.Size(); got != tt.ring {
			t.Errorf("size %d: ring of %d bytes, want %d", tt.size, got, tt.ring)
		}
		_ = sw.CloseWithError(errTest)
	}
}
