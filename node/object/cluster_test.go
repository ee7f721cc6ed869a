package object_test

// Tests of the object layer on a real cluster in one process (package
// objecttest): 4 nodes over loopback grid connections, remote drives and
// distributed namespace locks, with nodes stopped, restarted and paused.
// The time limits only catch hangs; nothing asserts on how long a healthy
// operation takes.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/objecttest"
)

const bucket = "bucket"

// newCluster starts a cluster with a bucket.
func newCluster(t *testing.T, opts objecttest.Options) *objecttest.Cluster {
	t.Helper()
	c := objecttest.New(t, opts)
	if err := c.Nodes[0].Layer().MakeBucket(testCtx(t), bucket); err != nil {
		t.Fatal(err)
	}
	return c
}

// testCtx bounds a test's calls: far beyond any operation, so that a hang
// fails the test rather than the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func body(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7})
	_, _ = r.Read(b)
	return b
}

func put(ctx context.Context, l *object.Layer, key string, data []byte) (object.ObjectInfo, error) {
	return l.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), object.PutOptions{})
}

func mustPut(t *testing.T, l *object.Layer, key string, data []byte) object.ObjectInfo {
	t.Helper()
	info, err := put(testCtx(t), l, key, data)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return info
}

func get(ctx context.Context, l *object.Layer, key string) ([]byte, error) {
	r, err := l.GetObject(ctx, bucket, key, object.GetOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		return nil, err
	}
	if int64(buf.Len()) != r.Info().Size {
		return nil, fmt.Errorf("read %d bytes of %d without an error", buf.Len(), r.Info().Size)
	}
	return buf.Bytes(), nil
}

func mustGet(t *testing.T, node int, l *object.Layer, key string, want []byte) {
	t.Helper()
	got, err := get(testCtx(t), l, key)
	if err != nil {
		t.Fatalf("node %d: get %s: %v", node, key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("node %d: get %s: %d bytes differ from the %d written", node, key, len(got), len(want))
	}
}

// within fails the test if fn takes longer than limit: a hang, not a
// performance check.
func within(t *testing.T, limit time.Duration, what string, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if d := time.Since(start); d > limit {
		t.Errorf("%s took %v, more than %v", what, d.Round(time.Millisecond), limit)
	}
}

// Sizes of the objects: empty, inline, the inline limit, one block stored
// in a shard file, several blocks (the harness's block size is 256 KiB).
var sizes = []int{0, 1 << 10, object.InlineLimit, 200 << 10, 1<<20 + 12345}

func putSizes(t *testing.T, l *object.Layer, prefix string, seed uint64) map[string][]byte {
	t.Helper()
	objs := map[string][]byte{}
	for i, n := range sizes {
		key := fmt.Sprintf("%s-%d", prefix, n)
		objs[key] = body(seed+uint64(i), n)
		mustPut(t, l, key, objs[key])
	}
	return objs
}

// readAll checks every object byte for byte from the given nodes.
func readAll(t *testing.T, c *objecttest.Cluster, nodes []int, objs map[string][]byte) {
	t.Helper()
	for _, i := range nodes {
		for key, want := range objs {
			mustGet(t, i, c.Nodes[i].Layer(), key, want)
		}
	}
}

func allNodes(c *objecttest.Cluster) []int {
	var out []int
	for i := range c.Nodes {
		out = append(out, i)
	}
	return out
}

func merge(ms ...map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// listAll lists the whole bucket through l, v2 style, pageSize keys a page.
func listAll(t *testing.T, l *object.Layer, prefix string, pageSize int) []string {
	t.Helper()
	var keys []string
	opts := object.ListOptions{Prefix: prefix, MaxKeys: pageSize}
	for {
		page, err := l.ListObjects(testCtx(t), bucket, opts)
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		if len(page.Objects)+len(page.CommonPrefixes) > pageSize {
			t.Fatalf("page of %d entries, max %d", len(page.Objects)+len(page.CommonPrefixes), pageSize)
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Name)
		}
		if !page.IsTruncated {
			return keys
		}
		opts.ContinuationToken = page.NextContinuationToken
	}
}

func sortedKeys(m map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestClusterLayouts pins the layouts the other tests rely on.
func TestClusterLayouts(t *testing.T) {
	nodes := func(n, m int) []string {
		var out []string
		for i := range n {
			for range m {
				out = append(out, fmt.Sprint("n", i))
			}
		}
		return out
	}
	l, err := layout.New(nodes(4, 2), layout.Config{})
	if err != nil || len(l.Sets) != 1 || l.SetSize != 8 || l.Parity != 4 || l.WriteQuorum() != 5 || l.ReadQuorum() != 4 {
		t.Fatalf("4x2: %v %v", l, err)
	}
	// One node down costs 2 drives: the write is raised to parity 4 (the
	// most a set of 8 takes), write quorum 5 of the 6 left. Two nodes down
	// leave 4: no write.
	if p, ok := layout.AdjustParity(8, 4, 2); !ok || p != 4 {
		t.Fatalf("AdjustParity(8, 4, 2) = %d, %v", p, ok)
	}
	if _, ok := layout.AdjustParity(8, 4, 4); ok {
		t.Fatal("AdjustParity(8, 4, 4) accepted a write on 4 of 8 drives")
	}
	l, err = layout.New(nodes(4, 4), layout.Config{Parity: 2})
	if err != nil || len(l.Sets) != 2 || l.SetSize != 8 || !l.NodeFaultTolerantWrites() {
		t.Fatalf("4x4 EC:2: %v %v", l, err)
	}
}

// TestClusterReadAfterWrite (a): objects of every kind written through one
// node read back byte-exact from every node, ranges included.
func TestClusterReadAfterWrite(t *testing.T) {
	c := newCluster(t, objecttest.Options{})
	objs := putSizes(t, c.Nodes[0].Layer(), "obj", 1)
	readAll(t, c, allNodes(c), objs)
	key := fmt.Sprintf("obj-%d", sizes[len(sizes)-1])
	want := objs[key]
	for i, n := range c.Nodes {
		info, err := n.Layer().GetObjectInfo(testCtx(t), bucket, key)
		sum := md5.Sum(want)
		if err != nil || info.Size != int64(len(want)) || info.ETag != hex.EncodeToString(sum[:]) {
			t.Fatalf("node %d: head %s: %+v, %v", i, key, info, err)
		}
		r, err := n.Layer().GetObject(testCtx(t), bucket, key, object.GetOptions{Range: &object.Range{First: 300 << 10, Last: 700<<10 + 3}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, err = r.WriteTo(&buf)
		r.Close()
		if err != nil || !bytes.Equal(buf.Bytes(), want[300<<10:700<<10+4]) {
			t.Fatalf("node %d: range read: %d bytes, %v", i, buf.Len(), err)
		}
	}
}

// TestClusterOneNodeDown (b): with one node (2 drives, within parity) down,
// everything reads from the others and writes succeed; once it is back,
// old and new objects read from every node. A node that restarts with
// stale drives never answers "not found", nor the old bytes, for what it
// missed: with too few of its peers back it fails with ErrReadQuorum.
func TestClusterOneNodeDown(t *testing.T) {
	c := newCluster(t, objecttest.Options{})
	ctx := testCtx(t)
	old := putSizes(t, c.Nodes[0].Layer(), "old", 10)

	c.Nodes[3].Stop()
	up := []int{0, 1, 2}
	readAll(t, c, up, old)
	var down []int // node 3's positions in the set
	for d := 6; d < 8; d++ {
		_, pos, _ := c.Layout.Position(d)
		down = append(down, pos)
	}
	slices.Sort(down)
	h := c.Nodes[0].Layer().Health(ctx)
	if len(h) != 1 || h[0].Online != 6 || !slices.Equal(h[0].Offline, down) || !h[0].WriteQuorumAvailable || !h[0].ReadQuorumAvailable {
		t.Fatalf("health with node 3 (positions %v) down: %+v", down, h)
	}
	newer := merge(putSizes(t, c.Nodes[0].Layer(), "new-a", 20), putSizes(t, c.Nodes[1].Layer(), "new-b", 30))
	over := fmt.Sprintf("old-%d", sizes[len(sizes)-1])
	newer[over] = body(40, 300<<10)
	mustPut(t, c.Nodes[2].Layer(), over, newer[over])
	delete(old, over)
	readAll(t, c, up, merge(old, newer))

	// Node 3 comes back with only node 0: 4 drives, 2 of them stale.
	c.Nodes[1].Stop()
	c.Nodes[2].Stop()
	c.Nodes[3].Start()
	c.WaitConnected()
	readAll(t, c, []int{0, 3}, old)
	for _, i := range []int{0, 3} {
		for key := range newer {
			if _, err := get(ctx, c.Nodes[i].Layer(), key); !errors.Is(err, object.ErrReadQuorum) {
				t.Fatalf("node %d: get %s with its newer version on 2 of 4 drives: %v, want ErrReadQuorum", i, key, err)
			}
		}
	}

	c.Nodes[1].Start()
	c.Nodes[2].Start()
	// Before its peers are back, a restarted node answers from them or
	// fails; never "not found" or old bytes.
	for key, want := range newer {
		got, err := get(ctx, c.Nodes[1].Layer(), key)
		switch {
		case errors.Is(err, object.ErrObjectNotFound):
			t.Fatalf("restarted node: %s not found", key)
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("restarted node: %s: wrong bytes", key)
		}
	}
	c.WaitConnected()
	readAll(t, c, allNodes(c), merge(old, newer))
	if got := listAll(t, c.Nodes[3].Layer(), "", 4); !slices.Equal(got, sortedKeys(merge(old, newer))) {
		t.Fatalf("listing from the restarted node: %v", got)
	}
}

// TestClusterTwoNodesDown (c): with two nodes (4 drives, the parity) down,
// reads succeed and writes fail at once with ErrWriteQuorum; once they are
// back, nothing of the failed writes is visible anywhere.
func TestClusterTwoNodesDown(t *testing.T) {
	c := newCluster(t, objecttest.Options{Set: object.Config{LockTimeout: 2 * time.Second}})
	ctx := testCtx(t)
	old := putSizes(t, c.Nodes[1].Layer(), "old", 50)

	c.Nodes[2].Stop()
	c.Nodes[3].Stop()
	up := []int{0, 1}
	readAll(t, c, up, old)
	a := c.Nodes[0].Layer()
	if a.WriteQuorumAvailable(ctx) {
		t.Fatal("write quorum reported with 4 of 8 drives")
	}
	if h := a.Health(ctx); h[0].Online != 4 || !h[0].ReadQuorumAvailable {
		t.Fatalf("health: %+v", h)
	}
	over := fmt.Sprintf("old-%d", sizes[len(sizes)-1])
	failed := []string{"new-small", "new-large", over}
	for i, key := range failed {
		data := body(uint64(60+i), []int{100, 700 << 10, 300 << 10}[i])
		within(t, 5*time.Second, "a PUT without write quorum", func() {
			if _, err := put(ctx, c.Nodes[i%2].Layer(), key, data); !errors.Is(err, object.ErrWriteQuorum) {
				t.Errorf("put %s with 2 of 4 nodes down: %v, want ErrWriteQuorum", key, err)
			}
		})
	}
	// A DELETE cannot have its write lock (3 of 4 lock servers): it fails
	// within the lock timeout and leaves the object.
	within(t, 8*time.Second, "a DELETE without quorum", func() {
		if err := a.DeleteObject(ctx, bucket, "old-0"); err == nil {
			t.Error("delete with 2 of 4 nodes down succeeded")
		}
	})
	if got := listAll(t, a, "", 3); !slices.Equal(got, sortedKeys(old)) {
		t.Fatalf("listing with 2 nodes down: %v", got)
	}

	c.Nodes[2].Start()
	c.Nodes[3].Start()
	c.WaitConnected()
	readAll(t, c, allNodes(c), old)
	for i, n := range c.Nodes {
		for _, key := range failed[:2] {
			if _, err := get(ctx, n.Layer(), key); !errors.Is(err, object.ErrObjectNotFound) {
				t.Fatalf("node %d: failed PUT of %s: %v, want not found", i, key, err)
			}
		}
		if got := listAll(t, n.Layer(), "", 1000); !slices.Equal(got, sortedKeys(old)) {
			t.Fatalf("node %d: listing after the failed writes: %v", i, got)
		}
	}
	if !a.WriteQuorumAvailable(ctx) {
		// The probe result may be up to a second old.
		time.Sleep(object.DefaultHealthMaxAge)
		if !a.WriteQuorumAvailable(ctx) {
			t.Fatal("no write quorum with every node back")
		}
	}
}

// TestClusterBeyondParity (d): with more drives down than the parity, reads
// fail with ErrReadQuorum: never a false "not found", never wrong bytes.
func TestClusterBeyondParity(t *testing.T) {
	c := newCluster(t, objecttest.Options{Set: object.Config{LockTimeout: 2 * time.Second}})
	ctx := testCtx(t)
	objs := putSizes(t, c.Nodes[0].Layer(), "obj", 70)

	c.Nodes[2].Stop()
	c.Nodes[3].Stop()
	c.Nodes[0].SetDriveOffline(0, true) // 5 of 8 drives down
	for i := range 2 {
		l := c.Nodes[i].Layer()
		for key := range objs {
			if key == "obj-0" {
				continue // an empty object has no shard to miss; its records still need a quorum
			}
			if _, err := get(ctx, l, key); !errors.Is(err, object.ErrReadQuorum) {
				t.Fatalf("node %d: get %s with 5 of 8 drives down: %v, want ErrReadQuorum", i, key, err)
			}
			if _, err := l.GetObjectInfo(ctx, bucket, key); !errors.Is(err, object.ErrReadQuorum) {
				t.Fatalf("node %d: head %s: %v, want ErrReadQuorum", i, key, err)
			}
		}
		for _, key := range []string{"obj-0", "never-written"} {
			if _, err := get(ctx, l, key); !errors.Is(err, object.ErrReadQuorum) {
				t.Fatalf("node %d: get %s: %v, want ErrReadQuorum", i, key, err)
			}
		}
		if _, err := l.ListObjects(ctx, bucket, object.ListOptions{}); !errors.Is(err, object.ErrReadQuorum) {
			t.Fatalf("node %d: list: %v, want ErrReadQuorum", i, err)
		}
	}
	c.Nodes[0].SetDriveOffline(0, false)

	// Three nodes down: not even the lock quorum is there. An error, after
	// at most the lock timeout, and not "not found".
	c.Nodes[1].Stop()
	within(t, 8*time.Second, "a GET with 3 of 4 nodes down", func() {
		if _, err := get(ctx, c.Nodes[0].Layer(), "obj-0"); err == nil || errors.Is(err, object.ErrObjectNotFound) {
			t.Errorf("get with 3 of 4 nodes down: %v", err)
		}
	})

	for i := 1; i < 4; i++ {
		c.Nodes[i].Start()
	}
	c.WaitConnected()
	readAll(t, c, allNodes(c), objs)
	if _, err := get(ctx, c.Nodes[2].Layer(), "never-written"); !errors.Is(err, object.ErrObjectNotFound) {
		t.Fatalf("absent object with every node up: %v", err)
	}
}

// agree checks that every node sees the same thing under key: all "not
// found", or all the same bytes, one of candidates, and that every node's
// listing agrees. It returns the bytes and whether the object exists.
func agree(t *testing.T, c *objecttest.Cluster, key string, candidates [][]byte) ([]byte, bool) {
	t.Helper()
	ctx := testCtx(t)
	var first []byte
	var firstFound bool
	for i, n := range c.Nodes {
		got, err := get(ctx, n.Layer(), key)
		found := err == nil
		switch {
		case errors.Is(err, object.ErrObjectNotFound):
		case err != nil:
			t.Fatalf("node %d: get %s: %v", i, key, err)
		case !slices.ContainsFunc(candidates, func(b []byte) bool { return bytes.Equal(b, got) }):
			t.Fatalf("node %d: %s holds %d bytes that nobody wrote", i, key, len(got))
		}
		if i == 0 {
			first, firstFound = got, found
		} else if found != firstFound || !bytes.Equal(got, first) {
			t.Fatalf("node %d sees %s differently from node 0: found %v with %d bytes, node 0 %v with %d",
				i, key, found, len(got), firstFound, len(first))
		}
		if listed := slices.Contains(listAll(t, n.Layer(), key, 10), key); listed != found {
			t.Fatalf("node %d: %s listed: %v, readable: %v", i, key, listed, found)
		}
	}
	return first, firstFound
}

// TestClusterConcurrentPuts (e): PUTs of one key from every node at once are
// serialised by the cluster's locks: every one is acknowledged, and the
// object is then exactly one of the bodies, the same on every node.
func TestClusterConcurrentPuts(t *testing.T) {
	c := newCluster(t, objecttest.Options{})
	ctx := testCtx(t)
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		bodies := make([][]byte, len(c.Nodes))
		for i := range bodies {
			n := []int{0, 5 << 10, 300 << 10, 600<<10 + 7}[(i+round)%4]
			bodies[i] = body(uint64(100*round+i), n)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(c.Nodes))
		for i, n := range c.Nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = put(ctx, n.Layer(), "contended", bodies[i])
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: put from node %d: %v", round, i, err)
			}
		}
		if _, found := agree(t, c, "contended", bodies); !found {
			t.Fatalf("round %d: acknowledged object not found", round)
		}
	}
}

// TestClusterDeleteRacesPut (e): a DELETE from one node racing a PUT of the
// same key from another leaves a state every node agrees on.
func TestClusterDeleteRacesPut(t *testing.T) {
	c := newCluster(t, objecttest.Options{})
	ctx := testCtx(t)
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		key := "raced"
		data := body(uint64(200+round), []int{10 << 10, 400 << 10}[round%2])
		var wg sync.WaitGroup
		var putErr, delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, putErr = put(ctx, c.Nodes[round%4].Layer(), key, data)
		}()
		go func() {
			defer wg.Done()
			delErr = c.Nodes[(round+1)%4].Layer().DeleteObject(ctx, bucket, key)
		}()
		wg.Wait()
		if putErr != nil || delErr != nil {
			t.Fatalf("round %d: put %v, delete %v", round, putErr, delErr)
		}
		agree(t, c, key, [][]byte{data})
	}
}

// TestClusterPausedNode (f): a node that stops answering without closing
// anything (its grid connections and range reads freeze) stalls nobody
// beyond the per-drive timeouts. The grid's dead-peer detection is pushed
// out of the test's reach, so only those timeouts can end the waits; once
// the node resumes, everything reads from it too.
func TestClusterPausedNode(t *testing.T) {
	const driveTimeout = 1500 * time.Millisecond
	c := newCluster(t, objecttest.Options{
		Set:              object.Config{DriveTimeout: driveTimeout, ShardTimeout: driveTimeout, ProbeTimeout: driveTimeout / 3},
		ListStallTimeout: driveTimeout,
		Grid:             func(_ int, gc *grid.Config) { gc.PeerTimeout = 5 * time.Minute },
	})
	objs := putSizes(t, c.Nodes[0].Layer(), "before", 300)

	c.Nodes[3].Pause()
	// Generous: a probe, a metadata round and a stalled shard read may each
	// be paid once or twice; the 29 s stalls this guards against, or a wait
	// for the grid to notice, are far above it.
	const limit = 10 * time.Second
	// Nodes 0 and 1 write and read at once, node 2 checks health.
	newer := map[string][]byte{}
	for _, i := range []int{0, 1} {
		for j, n := range []int{3 << 10, 900 << 10} {
			newer[fmt.Sprintf("during-%d-%d", i, j)] = body(uint64(400+2*i+j), n)
		}
	}
	var wg sync.WaitGroup
	for _, i := range []int{0, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, l := testCtx(t), c.Nodes[i].Layer()
			for j := range 2 {
				key := fmt.Sprintf("during-%d-%d", i, j)
				within(t, limit, "a PUT with a paused node", func() {
					if _, err := put(ctx, l, key, newer[key]); err != nil {
						t.Errorf("node %d: put %s: %v", i, key, err)
					}
				})
			}
			for _, key := range sortedKeys(objs) {
				within(t, limit, "a GET with a paused node", func() {
					if got, err := get(ctx, l, key); err != nil || !bytes.Equal(got, objs[key]) {
						t.Errorf("node %d: get %s: %d bytes, %v", i, key, len(got), err)
					}
				})
			}
		}()
	}
	within(t, limit, "a health check with a paused node", func() {
		if h := c.Nodes[2].Layer().Health(testCtx(t)); h[0].Online != 6 || !h[0].WriteQuorumAvailable {
			t.Errorf("health with a paused node: %+v", h)
		}
	})
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	within(t, limit, "a listing with a paused node", func() {
		if got := listAll(t, c.Nodes[2].Layer(), "", 1000); !slices.Equal(got, sortedKeys(merge(objs, newer))) {
			t.Errorf("listing with a paused node: %v", got)
		}
	})

	c.Nodes[3].Resume()
	c.WaitConnected()
	readAll(t, c, allNodes(c), merge(objs, newer))
}

// TestClusterPausedNodeLiveness: with a liveness view (node/cluster's, here
// a switch) and the object layer's default timeouts, a paused node costs a
// PUT at most a write grace while the view still says it is alive (the
// second or two before memberlist notices: the shard files it cannot
// finish are given up once a write quorum is complete), and nothing at all
// once the view says it is dead: its drives are not asked, for the PUT or
// the GET. While it is thought alive, a GET reads parity once a shard is
// late (a learned threshold of at most 500 ms) instead of waiting for the
// shard timeout. Before, a PUT waited for the paused drive's shard file for
// minutes and a GET 30 s.
func TestClusterPausedNodeLiveness(t *testing.T) {
	var dead atomic.Bool
	var c *objecttest.Cluster
	c = newCluster(t, objecttest.Options{
		Set: object.Config{DriveTimeout: object.DefaultDriveTimeout, ShardTimeout: object.DefaultShardTimeout,
			ProbeTimeout: object.DefaultProbeTimeout, LockTimeout: object.DefaultLockTimeout},
		Grid:     func(_ int, gc *grid.Config) { gc.PeerTimeout = 5 * time.Minute },
		Liveness: func(_ int, peer string) bool { return !dead.Load() || peer != c.Nodes[3].Addr },
	})
	ctx := testCtx(t)
	objs := putSizes(t, c.Nodes[0].Layer(), "before", 300)
	c.Nodes[3].Pause()
	defer c.Nodes[3].Resume()
	// Generous against a noisy machine; what this guards against took
	// minutes (PUT) and the 30 s shard timeout (GET).
	const limit = 10 * time.Second
	newer := map[string][]byte{}
	for i, size := range []int{3 << 10, 900 << 10} {
		key := fmt.Sprintf("alive-%d", i)
		newer[key] = body(uint64(500+i), size)
		within(t, limit, "a PUT while the paused node is thought alive", func() {
			if _, err := put(ctx, c.Nodes[0].Layer(), key, newer[key]); err != nil {
				t.Errorf("put %s: %v", key, err)
			}
		})
	}
	for _, key := range sortedKeys(objs) {
		within(t, limit, "a GET while the paused node is thought alive", func() {
			start := time.Now()
			if got, err := get(ctx, c.Nodes[2].Layer(), key); err != nil || !bytes.Equal(got, objs[key]) {
				t.Errorf("get %s: %d bytes, %v", key, len(got), err)
			}
			t.Logf("GET %s with a paused node thought alive: %v", key, time.Since(start).Round(time.Millisecond))
		})
	}
	dead.Store(true)
	for i, size := range []int{3 << 10, 900 << 10} {
		key := fmt.Sprintf("dead-%d", i)
		newer[key] = body(uint64(600+i), size)
		within(t, limit, "a PUT once the paused node is known dead", func() {
			if _, err := put(ctx, c.Nodes[1].Layer(), key, newer[key]); err != nil {
				t.Errorf("put %s: %v", key, err)
			}
		})
	}
	all := merge(objs, newer)
	for _, key := range sortedKeys(all) {
		within(t, limit, "a GET once the paused node is known dead", func() {
			if got, err := get(ctx, c.Nodes[2].Layer(), key); err != nil || !bytes.Equal(got, all[key]) {
				t.Errorf("get %s: %d bytes, %v", key, len(got), err)
			}
		})
	}
	if t.Failed() {
		t.FailNow()
	}
	dead.Store(false)
	c.Nodes[3].Resume()
	c.WaitConnected()
	readAll(t, c, allNodes(c), all)
}

// keysInSets returns n keys with prefix that land in set want of l.
func keysInSet(l *object.Layer, prefix string, want, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := fmt.Sprintf("%s%03d", prefix, i)
		if l.SetIndex(bucket, k) == want {
			out = append(out, k)
		}
	}
	return out
}

// TestClusterTwoSets (g, and the layer's multi-set calls): 4 nodes × 4
// drives with parity 2 make two sets of 8. Listing shows every acknowledged
// object from every node at once, paginated; batch deletes, copies between
// the sets and bucket calls span both.
func TestClusterTwoSets(t *testing.T) {
	c := newCluster(t, objecttest.Options{DrivesPerNode: 4, Layout: layout.Config{Parity: 2}})
	ctx := testCtx(t)
	if len(c.Layout.Sets) != 2 || c.Layout.SetSize != 8 || c.Layout.Parity != 2 {
		t.Fatalf("layout %v", c.Layout)
	}
	l0 := c.Nodes[0].Layer()

	// List-after-write: every PUT is listed at once by another node.
	objs := map[string][]byte{}
	count := 40
	if testing.Short() {
		count = 20
	}
	perSet := [2]int{}
	for i := range count {
		key := fmt.Sprintf("dir%d/obj%03d", i%3, i)
		if i%4 == 0 {
			key = fmt.Sprintf("top%03d", i)
		}
		objs[key] = body(uint64(500+i), 100+i*37)
		if i == 7 {
			objs[key] = body(uint64(500+i), 300<<10)
		}
		mustPut(t, c.Nodes[i%4].Layer(), key, objs[key])
		perSet[l0.SetIndex(bucket, key)]++
		if got := listAll(t, c.Nodes[(i+1)%4].Layer(), key, 5); !slices.Equal(got, []string{key}) {
			t.Fatalf("node %d lists %v right after the PUT of %s", (i+1)%4, got, key)
		}
	}
	if perSet[0] == 0 || perSet[1] == 0 {
		t.Fatalf("objects per set: %v", perSet)
	}
	want := sortedKeys(objs)
	for i, n := range c.Nodes {
		if got := listAll(t, n.Layer(), "", 7); !slices.Equal(got, want) {
			t.Fatalf("node %d lists %v, want %v", i, got, want)
		}
	}
	// v1 with a delimiter: markers, common prefixes.
	var entries []string
	opts := object.ListOptions{Delimiter: "/", MaxKeys: 2}
	for {
		page, err := c.Nodes[3].Layer().ListObjects(ctx, bucket, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Objects {
			entries = append(entries, o.Name)
		}
		entries = append(entries, page.CommonPrefixes...)
		if !page.IsTruncated {
			break
		}
		opts.Marker = page.NextMarker
	}
	slices.Sort(entries)
	var wantEntries []string
	for _, k := range want {
		if k[:3] == "dir" {
			if p := k[:5]; !slices.Contains(wantEntries, p) {
				wantEntries = append(wantEntries, p)
			}
			continue
		}
		wantEntries = append(wantEntries, k)
	}
	slices.Sort(wantEntries)
	if !slices.Equal(entries, wantEntries) {
		t.Fatalf("delimited listing: %v, want %v", entries, wantEntries)
	}

	// Copies between the sets, and two crossed ones at once from different
	// nodes: no deadlock, and each ends up a whole copy.
	a := keysInSet(l0, "copy-a", 0, 1)[0]
	b := keysInSet(l0, "copy-b", 1, 1)[0]
	bodyA, bodyB := body(600, 700<<10), body(601, 20<<10)
	mustPut(t, c.Nodes[0].Layer(), a, bodyA)
	mustPut(t, c.Nodes[1].Layer(), b, bodyB)
	for round := range 2 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		within(t, 30*time.Second, "crossed copies", func() {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, errs[0] = c.Nodes[2].Layer().CopyObject(ctx, bucket, a, bucket, b, object.CopyOptions{})
			}()
			go func() {
				defer wg.Done()
				_, errs[1] = c.Nodes[3].Layer().CopyObject(ctx, bucket, b, bucket, a, object.CopyOptions{})
			}()
			wg.Wait()
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: crossed copies: %v", round, errs)
		}
		gotA, okA := agree(t, c, a, [][]byte{bodyA, bodyB})
		gotB, okB := agree(t, c, b, [][]byte{bodyA, bodyB})
		if !okA || !okB {
			t.Fatalf("round %d: a copied object is gone", round)
		}
		bodyA, bodyB = gotA, gotB
	}
	objs[a], objs[b] = bodyA, bodyB
	dst := keysInSet(l0, "copied", 1, 1)[0]
	meta := object.Metadata{ContentType: "text/plain", User: map[string]string{"x-amz-meta-k": "v"}}
	info, err := c.Nodes[1].Layer().CopyObject(ctx, bucket, a, bucket, dst, object.CopyOptions{ReplaceMetadata: true, Metadata: meta})
	if err != nil || info.ContentType != "text/plain" {
		t.Fatalf("copy across sets: %+v, %v", info, err)
	}
	objs[dst] = bodyA
	readAll(t, c, allNodes(c), map[string][]byte{dst: bodyA})

	// A batch delete over both sets: results in request order.
	var batch []string
	for _, k := range sortedKeys(objs)[:len(objs)/2] {
		batch = append(batch, k, "absent-"+k)
	}
	batch = append(batch, "bad\xffname")
	res := c.Nodes[2].Layer().DeleteObjects(ctx, bucket, batch)
	for i, r := range res {
		if r.Name != batch[i] {
			t.Fatalf("result %d is for %s, want %s", i, r.Name, batch[i])
		}
		if (r.Err != nil) != (batch[i] == "bad\xffname") {
			t.Fatalf("delete %s: %v", r.Name, r.Err)
		}
		delete(objs, r.Name)
	}
	for i, n := range c.Nodes {
		if got := listAll(t, n.Layer(), "", 1000); !slices.Equal(got, sortedKeys(objs)) {
			t.Fatalf("node %d lists %v after the batch delete, want %v", i, got, sortedKeys(objs))
		}
	}
	readAll(t, c, []int{2}, objs)

	// Buckets span the sets.
	if err := c.Nodes[3].Layer().MakeBucket(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	if err := c.Nodes[1].Layer().MakeBucket(ctx, "second"); !errors.Is(err, object.ErrBucketExists) {
		t.Fatalf("make again: %v", err)
	}
	for i, n := range c.Nodes {
		bs, err := n.Layer().ListBuckets(ctx)
		if err != nil || len(bs) != 2 || bs[0].Name != bucket || bs[1].Name != "second" {
			t.Fatalf("node %d: buckets %v, %v", i, bs, err)
		}
	}
	if err := l0.DeleteBucket(ctx, bucket); !errors.Is(err, object.ErrBucketNotEmpty) {
		t.Fatalf("delete a bucket with objects: %v", err)
	}
	if err := c.Nodes[2].Layer().DeleteBucket(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	for i, n := range c.Nodes {
		if _, err := n.Layer().HeadBucket(ctx, "second"); !errors.Is(err, object.ErrBucketNotFound) {
			t.Fatalf("node %d: deleted bucket: %v", i, err)
		}
		if _, err := n.Layer().HeadBucket(ctx, bucket); err != nil {
			t.Fatalf("node %d: bucket: %v", i, err)
		}
	}
	for _, h := range l0.Health(ctx) {
		if h.Online != 8 || !h.WriteQuorumAvailable {
			t.Fatalf("health: %+v", h)
		}
	}

	// One node down costs each set 2 drives: both keep taking writes.
	c.Nodes[1].Stop()
	if !l0.WriteQuorumAvailable(ctx) {
		time.Sleep(object.DefaultHealthMaxAge)
		if !l0.WriteQuorumAvailable(ctx) {
			t.Fatalf("no write quorum with one node down: %+v", l0.Health(ctx))
		}
	}
	for _, set := range []int{0, 1} {
		key := keysInSet(l0, "degraded", set, 1)[0]
		objs[key] = body(uint64(700+set), 400<<10)
		mustPut(t, c.Nodes[0].Layer(), key, objs[key])
	}
	if got := listAll(t, c.Nodes[3].Layer(), "", 6); !slices.Equal(got, sortedKeys(objs)) {
		t.Fatalf("listing with a node down: %v", got)
	}
}
