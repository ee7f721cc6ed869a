package clusterproc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/gridstore/gridstore/node"
)

// Issue 14 point 5: a node's memory does not grow with the size of the
// object it streams. A 4-node cluster (servers without the race detector)
// takes a PUT of 64 MiB, then one of 1 GiB, each read back whole; every
// node's RSS is sampled throughout. On every node the 1 GiB round may peak
// at most largeObjectGrowthMiB above the 64 MiB one and at most
// streamingBoundMiB above the node's idle RSS, and never beyond the
// documented bound of the default budget (node.DefaultRequestMemory).
//
// What the rounds differ by is the garbage collector's headroom: a 1 GiB
// PUT allocates ~70 MB in all (pooled buffers made again after each
// collection), enough to take the heap to its next collection at twice the
// live heap (GOGC=100), which a 64 MiB one does not reach.

const (
	// largeObjectGrowthMiB is how much more a node may hold streaming
	// 1 GiB than 64 MiB: the collector's headroom, far below the 960 MiB
	// a buffered object would add.
	largeObjectGrowthMiB = 64
	// streamingBoundMiB is how far above idle one streamed request of any
	// size takes a node (docs/configuration.md, "Overload"): a PUT's and
	// a GET's reservations (20 + 7 MiB on an 8-drive set), the pools and
	// the collector's headroom.
	streamingBoundMiB = 128
)

func TestLargeObjectMemory(t *testing.T) {
	skipUnlessChaos(t)
	c := Start(t, Options{NoRace: true})
	makeOverloadBucket(t, c)
	idle := sampleRSS(c)
	time.Sleep(200 * time.Millisecond)
	base := idle.finish()

	var peaks [][]int64
	// PUT through node 0, GET through node 1, for both sizes: each node
	// plays the same part in both rounds (the one that codes, the one
	// that decodes, two that only store and serve shards).
	const putVia, getVia = 0, 1
	for _, size := range []int64{64 << 20, 1 << 30} {
		key := fmt.Sprintf("large/%d", size)
		rss := sampleRSS(c)
		sum, took := putStream(t, c, putVia, key, size)
		t.Logf("PUT %d MiB through node %d: %v (%.0f MiB/s)", size>>20, putVia, took.Round(time.Millisecond), float64(size>>20)/took.Seconds())
		got, took := getStream(t, c, getVia, key)
		t.Logf("GET %d MiB through node %d: %v (%.0f MiB/s)", size>>20, getVia, took.Round(time.Millisecond), float64(size>>20)/took.Seconds())
		peak := rss.finish()
		if got != sum {
			t.Errorf("%s: read back other data than was put (sha256 %x, put %x)", key, got, sum)
		}
		t.Logf("%d MiB: peak RSS per node %v MiB (idle %v MiB)", size>>20, mib(peak), mib(base))
		peaks = append(peaks, peak)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := c.Client(0).RemoveObject(ctx, overloadBucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("delete %s: %v", key, err)
		}
		cancel()
	}
	small, large := peaks[0], peaks[1]
	bound := int64(rssBoundMiB(int(node.DefaultRequestMemory()>>20))) << 20
	for i := range large {
		if above := large[i] - base[i]; above > streamingBoundMiB<<20 {
			t.Errorf("node %d: RSS peaked at %d MiB streaming 1 GiB, %d MiB above idle (bound %d MiB)", i, large[i]>>20, above>>20, streamingBoundMiB)
		}
		if growth := large[i] - small[i]; growth > largeObjectGrowthMiB<<20 {
			t.Errorf("node %d: RSS peaked at %d MiB streaming 1 GiB, %d MiB more than streaming 64 MiB (bound %d MiB more): memory grows with the object",
				i, large[i]>>20, growth>>20, largeObjectGrowthMiB)
		}
		if large[i] > bound {
			t.Errorf("node %d: RSS reached %d MiB, over the documented bound of %d MiB", i, large[i]>>20, bound>>20)
		}
		if st, err := c.Stats(i); err != nil {
			t.Errorf("node %d: %v", i, err)
		} else {
			checkBuffersBack(t, c, i, st)
		}
	}
}

// putStream PUTs size bytes of generated data to key through node i in one
// streamed request (no multipart), and returns the data's SHA-256 and how
// long the PUT took. The data is made as it is sent: the test holds none
// of it.
func putStream(t *testing.T, c *Cluster, i int, key string, size int64) ([32]byte, time.Duration) {
	t.Helper()
	src := newObjectStream(size, uint64(size))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	_, err := c.Client(i).PutObject(ctx, overloadBucket, key, src, size,
		minio.PutObjectOptions{DisableMultipart: true, DisableContentSha256: true, ContentType: "application/octet-stream"})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("PUT %s (%d bytes) through node %d: %v", key, size, i, err)
	}
	if src.left != 0 {
		t.Fatalf("PUT %s: the client sent %d of %d bytes", key, size-src.left, size)
	}
	var sum [32]byte
	copy(sum[:], src.hash.Sum(nil))
	return sum, took
}

// getStream reads key whole through node i and returns its SHA-256 and how
// long the GET took.
func getStream(t *testing.T, c *Cluster, i int, key string) ([32]byte, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	obj, err := c.Client(i).GetObject(ctx, overloadBucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GET %s through node %d: %v", key, i, err)
	}
	defer obj.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(h, obj, buf); err != nil {
		t.Fatalf("GET %s through node %d: %v", key, i, err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, time.Since(start)
}

// objectStream is size bytes of incompressible data, made as it is read
// (one random MiB, each MiB of the stream stamped with its index so that no
// two blocks are alike), hashed as it goes.
type objectStream struct {
	left  int64
	off   int64
	block []byte
	hash  hash.Hash
}

func newObjectStream(size int64, seed uint64) *objectStream {
	block := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 14))
	for i := 0; i < len(block); i += 8 {
		binary.LittleEndian.PutUint64(block[i:], rng.Uint64())
	}
	return &objectStream{left: size, block: block, hash: sha256.New()}
}

func (s *objectStream) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.left)]
	n := 0
	for n < len(p) {
		in := int(s.off % int64(len(s.block)))
		if in == 0 {
			binary.LittleEndian.PutUint64(s.block, uint64(s.off))
		}
		k := copy(p[n:], s.block[in:])
		n += k
		s.off += int64(k)
	}
	s.left -= int64(n)
	_, _ = s.hash.Write(p[:n])
	return n, nil
}
