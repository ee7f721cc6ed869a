package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/faultdrive"
)

// countingDrive counts the chunk-sized reads of the streams it opens.
type countingDrive struct {
	storage.Drive
	chunkReads atomic.Int64
}

func (d *countingDrive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	rc, err := d.Drive.ReadFileStream(ctx, volume, path, offset, length)
	if err != nil {
		return nil, err
	}
	return &countingStream{ReadCloser: rc, d: d}, nil
}

type countingStream struct {
	io.ReadCloser
	d *countingDrive
}

func (s *countingStream) Read(p []byte) (int, error) {
	if len(p) > 1024 {
		s.d.chunkReads.Add(1)
	}
	return s.ReadCloser.Read(p)
}

// TestPrefetchBounded: a shard reader fetches at most depth chunks beyond
// the one being consumed, however long the consumer dawdles, and a parity
// shard is not read at all while the data shards are healthy.
func TestPrefetchBounded(t *testing.T) {
	for _, depth := range []int{1, 2, 5} {
		ts := newTestSet(t, 4, func(c *Config) { c.PrefetchDepth = depth })
		ts.put(t, "k", randomBytes(1, 12*testBlockSize))
		counters := make([]*countingDrive, len(ts.drives))
		for i := range ts.drives {
			counters[i] = &countingDrive{Drive: ts.drives[i]}
			ts.Set.drives[i] = counters[i]
		}
		r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		dataHolders, parityHolders := ts.shardHolders(t, "k")
		// Decode has read block 0 and asked for block 1 (its own
		// lookahead), and is stuck writing block 0 into the pipe.
		want := int64(depth + 2)
		for _, pos := range dataHolders {
			eventually(t, "prefetch filled", func() bool { return counters[pos].chunkReads.Load() == want })
		}
		time.Sleep(50 * time.Millisecond) // would it go further? it must not
		for _, pos := range dataHolders {
			if got := counters[pos].chunkReads.Load(); got != want {
				t.Fatalf("depth %d: drive %d read %d chunks ahead, want %d", depth, pos, got, want)
			}
		}
		for _, pos := range parityHolders {
			if got := counters[pos].chunkReads.Load(); got != 0 {
				t.Fatalf("depth %d: parity drive %d read %d chunks", depth, pos, got)
			}
		}
		r.Close()
	}
}

// TestGetDoesNotWaitForAHungShardOpen: a data shard's drive hangs in
// ReadFileStream and ignores the cancellation, as a disk stuck in a system
// call (or a read from a paused node with no deadline) does. With the
// default timeouts, the GET reads parity once the shard is late and
// returns the object whole without waiting for the hung call: its reader
// is closed without waiting for the fetch goroutine, which ends on its own
// once the call returns.
func TestGetDoesNotWaitForAHungShardOpen(t *testing.T) {
	ts := newTestSet(t, 4, func(c *Config) {
		c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout = DefaultDriveTimeout, DefaultShardTimeout, DefaultProbeTimeout
	})
	want := randomBytes(7, 5*testBlockSize+99)
	ts.put(t, "k", want)
	data, _ := ts.shardHolders(t, "k")
	hung := faultdrive.New(ts.Set.drives[data[0]])
	ts.Set.drives[data[0]] = hung
	hung.Set(faultdrive.Hang(), faultdrive.OpReadFileStream)
	defer func() {
		hung.Release()
		for hung.Blocked() > 0 {
			time.Sleep(time.Millisecond)
		}
	}()
	done := make(chan error, 1)
	go func() {
		got, _, err := ts.get("k", GetOptions{})
		if err == nil && !bytes.Equal(got, want) {
			err = errors.New("the object came back different")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("get with a hung shard: %v", err)
		}
	case <-time.After(15 * time.Second): // generous; it hung for good before
		t.Fatal("the GET waited for a hung shard read that ignores its cancellation")
	}
	if hung.Blocked() == 0 {
		t.Fatal("the shard read was not hung: the test proves nothing")
	}
}

// TestGetGivesUpShardsDeclaredDown: three drives of four stop serving
// shard reads (their node cut off; the reads ignore cancellation), too
// many for parity to stand in. Once they are declared down the GET fails
// with ErrReadQuorum instead of waiting for the shard timeout (30 s, the
// default kept here).
func TestGetGivesUpShardsDeclaredDown(t *testing.T) {
	ts := newTestSet(t, 4, func(c *Config) {
		c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout = DefaultDriveTimeout, DefaultShardTimeout, DefaultProbeTimeout
	})
	ts.put(t, "k", randomBytes(8, 5*testBlockSize+99))
	downAt := time.Now().Add(time.Hour)
	var hung []*faultdrive.Drive
	var goingDown []*goingDownDrive
	for pos := 1; pos < 4; pos++ {
		f := faultdrive.New(ts.Set.drives[pos])
		f.Set(faultdrive.Hang(), faultdrive.OpReadFileStream)
		g := newGoingDownDrive(f, downAt)
		hung, goingDown = append(hung, f), append(goingDown, g)
		ts.Set.drives[pos] = g
	}
	defer func() {
		for _, f := range hung {
			f.Release()
			for f.Blocked() > 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The version is chosen; the shard reads are what hang.
	for _, g := range goingDown {
		g.at.Store(time.Now().Add(300 * time.Millisecond).UnixNano())
	}
	start := time.Now()
	_, err = io.Copy(io.Discard, r)
	took := time.Since(start)
	if !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("GET body: %v, want ErrReadQuorum", err)
	}
	if took > 10*time.Second {
		t.Fatalf("the GET failed after %v: it waited for drives known down", took)
	}
	blocked := 0
	for _, f := range hung {
		blocked += f.Blocked()
	}
	if blocked == 0 {
		t.Fatal("no shard read was hung: the test proves nothing")
	}
}
