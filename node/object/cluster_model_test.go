package object_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/objecttest"
)

// TestClusterModel runs a seeded random mix of PUTs, overwrites, DELETEs,
// GETs (whole and ranged), HEADs and paged listings against the 4x2 cluster
// (one set of 8, parity 4, read quorum 4, write quorum 5) and an in-memory
// model, from random nodes, while drives go offline and come back and whole
// nodes stop and restart. Every answer is checked against the model.
//
// There is no healing in the harness, so a drive that missed a write stays
// out of date for that key until it is written again. The model therefore
// tracks, per key, which drives hold its current state (version or
// absence), and a failure is only injected if every key keeps a read quorum
// of such drives online: the layer's guarantee ("no acknowledged write is
// lost while no more than its parity drives fail") counts the drives that
// missed a write as failed for it. At most 4 drives (the parity) are ever
// offline; with 4 offline a PUT must fail with ErrWriteQuorum (the write
// quorum is 5) and change nothing, and no DELETE is sent.
//
// GRIDSTORE_MODEL_SEED=<n> replays a run.
func TestClusterModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GRIDSTORE_MODEL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GRIDSTORE_MODEL_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (GRIDSTORE_MODEL_SEED=%d to replay)", seed, seed)
	ops := 300
	if testing.Short() {
		ops = 80
	}
	m := newModelRun(t, seed)
	for step := range ops {
		m.step = step
		m.randomOp()
	}
	m.finalCheck()
	t.Logf("seed %d: %d ops: %v", seed, ops, m.counts)
}

const (
	modelDrives     = 8
	modelParity     = 4
	modelReadQuorum = 4
)

type modelRun struct {
	t      *testing.T
	c      *objecttest.Cluster
	ctx    context.Context
	rng    *rand.Rand
	seed   uint64
	step   int
	keys   []string
	model  map[string][]byte
	fresh  map[string][]bool // per key, per drive index: holds the key's current state
	off    []bool            // per drive index: SetDriveOffline
	down   int               // stopped node, or -1
	downAt int               // step it was stopped at
	counts map[string]int
}

func newModelRun(t *testing.T, seed uint64) *modelRun {
	c := newCluster(t, objecttest.Options{})
	m := &modelRun{
		t: t, c: c, ctx: testCtx(t), seed: seed,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		model: map[string][]byte{}, fresh: map[string][]bool{},
		off: make([]bool, modelDrives), down: -1, counts: map[string]int{},
	}
	for i := range 30 {
		m.keys = append(m.keys, fmt.Sprintf("k%02d", i))
	}
	for i := range 5 {
		m.keys = append(m.keys, fmt.Sprintf("a/x%d", i))
	}
	for i := range 3 {
		m.keys = append(m.keys, fmt.Sprintf("a/b/y%d", i))
	}
	m.keys = append(m.keys, "c/z0", "c/z1")
	for _, k := range m.keys {
		m.fresh[k] = slices.Repeat([]bool{true}, modelDrives)
	}
	return m
}

func (m *modelRun) fatalf(op string, node int, key string, format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("seed %d step %d: %s node %d key %q: %s", m.seed, m.step, op, node, key, fmt.Sprintf(format, args...))
}

// offline reports which drives are unreachable: marked offline or on the
// stopped node.
func (m *modelRun) offline() []bool {
	out := slices.Clone(m.off)
	if m.down >= 0 {
		out[2*m.down], out[2*m.down+1] = true, true
	}
	return out
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// safe reports whether, with these drives offline, every key keeps a read
// quorum of drives holding its current state, and no more than the parity
// are offline.
func (m *modelRun) safe(off []bool) bool {
	if countTrue(off) > modelParity {
		return false
	}
	for _, k := range m.keys {
		n := 0
		for d, f := range m.fresh[k] {
			if f && !off[d] {
				n++
			}
		}
		if n < modelReadQuorum {
			return false
		}
	}
	return true
}

func (m *modelRun) randomNode() int {
	for {
		if n := m.rng.IntN(len(m.c.Nodes)); n != m.down {
			return n
		}
	}
}

func (m *modelRun) randomKey() string { return m.keys[m.rng.IntN(len(m.keys))] }

func (m *modelRun) randomBody() []byte {
	var n int
	switch r := m.rng.IntN(20); {
	case r < 3:
		n = 0
	case r < 11:
		n = 1 + m.rng.IntN(4096)
	case r < 17:
		n = object.InlineLimit - 1 + m.rng.IntN(3)
	default:
		n = 3<<19 + m.rng.IntN(2001) - 1000
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(m.rng.Uint32())
	}
	return b
}

func (m *modelRun) randomOp() {
	switch r := m.rng.IntN(100); {
	case r < 28:
		m.put()
	case r < 38:
		m.del()
	case r < 58:
		m.get()
	case r < 68:
		m.head()
	case r < 82:
		m.list()
	default:
		m.failure()
	}
	if m.down >= 0 && m.step-m.downAt > 8 && m.rng.IntN(3) == 0 {
		m.restart()
	}
}

func (m *modelRun) put() {
	key, data, node := m.randomKey(), m.randomBody(), m.randomNode()
	off := m.offline()
	m.counts["put"]++
	info, err := m.c.Nodes[node].Layer().PutObject(m.ctx, bucket, key, bytes.NewReader(data), int64(len(data)), object.PutOptions{})
	if countTrue(off) > modelDrives-(modelDrives-modelParity+1) {
		// Fewer than the write quorum online: refused, nothing changes.
		if !errors.Is(err, object.ErrWriteQuorum) {
			m.fatalf("put", node, key, "with %d drives offline: %v, want ErrWriteQuorum", countTrue(off), err)
		}
		m.counts["put-refused"]++
		return
	}
	if err != nil {
		m.fatalf("put", node, key, "%d bytes, offline %v: %v", len(data), off, err)
	}
	sum := md5.Sum(data)
	if info.Size != int64(len(data)) || info.ETag != hex.EncodeToString(sum[:]) {
		m.fatalf("put", node, key, "info size %d etag %s, want %d %x", info.Size, info.ETag, len(data), sum)
	}
	m.model[key] = data
	m.fresh[key] = notOf(off)
}

func notOf(b []bool) []bool {
	out := make([]bool, len(b))
	for i, v := range b {
		out[i] = !v
	}
	return out
}

func (m *modelRun) del() {
	off := m.offline()
	if countTrue(off) > modelDrives-(modelDrives-modelParity+1) {
		m.get() // a DELETE below write quorum may half happen; not modelled
		return
	}
	key, node := m.randomKey(), m.randomNode()
	m.counts["delete"]++
	if err := m.c.Nodes[node].Layer().DeleteObject(m.ctx, bucket, key); err != nil {
		m.fatalf("delete", node, key, "offline %v: %v", off, err)
	}
	online := notOf(off)
	if _, ok := m.model[key]; ok {
		m.fresh[key] = online
	} else {
		for d, on := range online {
			m.fresh[key][d] = m.fresh[key][d] || on
		}
	}
	delete(m.model, key)
}

func (m *modelRun) get() {
	key, node := m.randomKey(), m.randomNode()
	want, exists := m.model[key]
	var rg *object.Range
	lo, hi := 0, len(want)
	if exists && len(want) > 0 && m.rng.IntN(2) == 0 {
		switch m.rng.IntN(3) {
		case 0:
			lo = m.rng.IntN(len(want))
			hi = lo + 1 + m.rng.IntN(len(want)-lo)
			rg = &object.Range{First: int64(lo), Last: int64(hi - 1)}
		case 1:
			lo = m.rng.IntN(len(want))
			rg = &object.Range{First: int64(lo), Last: -1}
		default:
			n := 1 + m.rng.IntN(len(want)+10)
			lo = max(0, len(want)-n)
			rg = &object.Range{SuffixLength: int64(n)}
		}
	}
	m.counts["get"]++
	got, info, err := m.read(node, key, rg)
	if !exists {
		if !errors.Is(err, object.ErrObjectNotFound) {
			m.fatalf("get", node, key, "absent in the model: %v (%d bytes)", err, len(got))
		}
		return
	}
	if err != nil {
		m.fatalf("get", node, key, "range %v, offline %v: %v", rg, m.offline(), err)
	}
	if !bytes.Equal(got, want[lo:hi]) {
		m.fatalf("get", node, key, "range %v: %d bytes differ from the model's [%d:%d] of %d", rg, len(got), lo, hi, len(want))
	}
	m.checkInfo("get", node, key, info, want)
}

func (m *modelRun) read(node int, key string, rg *object.Range) ([]byte, object.ObjectInfo, error) {
	r, err := m.c.Nodes[node].Layer().GetObject(m.ctx, bucket, key, object.GetOptions{Range: rg})
	if err != nil {
		return nil, object.ObjectInfo{}, err
	}
	got, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if _, n := r.Range(); err == nil && int64(len(got)) != n {
		err = fmt.Errorf("read %d bytes of %d without an error", len(got), n)
	}
	return got, r.Info(), err
}

func (m *modelRun) checkInfo(op string, node int, key string, info object.ObjectInfo, want []byte) {
	m.t.Helper()
	sum := md5.Sum(want)
	if info.Name != key || info.Size != int64(len(want)) || info.ETag != hex.EncodeToString(sum[:]) {
		m.fatalf(op, node, key, "info %q size %d etag %s, want size %d etag %x", info.Name, info.Size, info.ETag, len(want), sum)
	}
}

func (m *modelRun) head() {
	key, node := m.randomKey(), m.randomNode()
	want, exists := m.model[key]
	m.counts["head"]++
	info, err := m.c.Nodes[node].Layer().GetObjectInfo(m.ctx, bucket, key)
	if !exists {
		if !errors.Is(err, object.ErrObjectNotFound) {
			m.fatalf("head", node, key, "absent in the model: %v", err)
		}
		return
	}
	if err != nil {
		m.fatalf("head", node, key, "offline %v: %v", m.offline(), err)
	}
	m.checkInfo("head", node, key, info, want)
}

var modelPrefixes = []string{"", "", "a/", "a/b/", "a", "k1", "k", "c/", "c/z", "zz", "a/x"}

func (m *modelRun) list() {
	node := m.randomNode()
	prefix := modelPrefixes[m.rng.IntN(len(modelPrefixes))]
	delim := ""
	if m.rng.IntN(2) == 0 {
		delim = "/"
	}
	pageSize := 1 + m.rng.IntN(7)
	m.counts["list"]++
	m.checkList(node, prefix, delim, pageSize)
}

func (m *modelRun) checkList(node int, prefix, delim string, pageSize int) {
	m.t.Helper()
	what := fmt.Sprintf("list prefix %q delimiter %q max-keys %d", prefix, delim, pageSize)
	var wantKeys, wantPrefixes []string
	for k := range m.model {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if i := strings.Index(rest, delim); delim != "" && i >= 0 {
			if p := prefix + rest[:i+1]; !slices.Contains(wantPrefixes, p) {
				wantPrefixes = append(wantPrefixes, p)
			}
			continue
		}
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(wantKeys)
	slices.Sort(wantPrefixes)

	var gotKeys, gotPrefixes []string
	opts := object.ListOptions{Prefix: prefix, Delimiter: delim, MaxKeys: pageSize}
	l := m.c.Nodes[node].Layer()
	for pages := 0; ; pages++ {
		if pages > 100 {
			m.fatalf(what, node, "", "more than 100 pages")
		}
		page, err := l.ListObjects(m.ctx, bucket, opts)
		if err != nil {
			m.fatalf(what, node, "", "offline %v: %v", m.offline(), err)
		}
		if n := len(page.Objects) + len(page.CommonPrefixes); n > pageSize || (n == 0 && page.IsTruncated) {
			m.fatalf(what, node, "", "page of %d entries, truncated %v", n, page.IsTruncated)
		}
		for _, o := range page.Objects {
			gotKeys = append(gotKeys, o.Name)
			if want, ok := m.model[o.Name]; ok {
				m.checkInfo(what, node, o.Name, o, want)
			}
		}
		gotPrefixes = append(gotPrefixes, page.CommonPrefixes...)
		if !page.IsTruncated {
			break
		}
		opts.ContinuationToken = page.NextContinuationToken
	}
	if !slices.Equal(gotKeys, wantKeys) || !slices.Equal(gotPrefixes, wantPrefixes) {
		m.fatalf(what, node, "", "got keys %q prefixes %q, model keys %q prefixes %q (offline %v)",
			gotKeys, gotPrefixes, wantKeys, wantPrefixes, m.offline())
	}
}

// failure takes a drive offline, brings one back, or stops a node, as far
// as safe allows.
func (m *modelRun) failure() {
	off := m.offline()
	switch r := m.rng.IntN(10); {
	case r < 5: // a drive fails
		for _, d := range m.rng.Perm(modelDrives) {
			if off[d] {
				continue
			}
			next := slices.Clone(off)
			next[d] = true
			if m.safe(next) {
				m.counts["drive-off"]++
				m.off[d] = true
				m.c.Nodes[d/2].SetDriveOffline(d%2, true)
				return
			}
		}
		fallthrough // none can: bring one back instead
	case r < 9: // a drive comes back
		for _, d := range m.rng.Perm(modelDrives) {
			if m.off[d] {
				m.counts["drive-on"]++
				m.off[d] = false
				m.c.Nodes[d/2].SetDriveOffline(d%2, false)
				return
			}
		}
	default: // a node stops
		if m.down >= 0 {
			m.restart()
			return
		}
		for _, n := range m.rng.Perm(len(m.c.Nodes)) {
			next := slices.Clone(off)
			next[2*n], next[2*n+1] = true, true
			if countTrue(off)-boolInt(off[2*n])-boolInt(off[2*n+1]) <= 2 && m.safe(next) {
				m.counts["node-stop"]++
				m.c.Nodes[n].Stop()
				m.down, m.downAt = n, m.step
				return
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// restart starts the stopped node again and waits until every running
// node sees the drives the model expects online.
func (m *modelRun) restart() {
	n := m.down
	m.counts["node-start"]++
	m.c.Nodes[n].Start()
	m.down = -1
	m.c.WaitConnected()
	m.waitHealth()
}

func (m *modelRun) waitHealth() {
	m.t.Helper()
	wantOff := countTrue(m.offline())
	deadline := time.Now().Add(20 * time.Second)
	for i, node := range m.c.Nodes {
		if i == m.down {
			continue
		}
		for {
			h := node.Layer().Health(m.ctx)
			if len(h) == 1 && len(h[0].Offline) == wantOff {
				break
			}
			if time.Now().After(deadline) {
				m.fatalf("health", i, "", "%+v, want %d drives offline", h, wantOff)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// finalCheck brings every drive and node back and checks every key and the
// whole listing from every node.
func (m *modelRun) finalCheck() {
	m.step = -1
	if m.down >= 0 {
		m.restart()
	}
	for d := range m.off {
		if m.off[d] {
			m.off[d] = false
			m.c.Nodes[d/2].SetDriveOffline(d%2, false)
		}
	}
	m.waitHealth()
	for node := range m.c.Nodes {
		for _, key := range m.keys {
			got, info, err := m.read(node, key, nil)
			want, exists := m.model[key]
			switch {
			case !exists:
				if !errors.Is(err, object.ErrObjectNotFound) {
					m.fatalf("final get", node, key, "absent in the model: %v (%d bytes)", err, len(got))
				}
				continue
			case err != nil:
				m.fatalf("final get", node, key, "%v", err)
			case !bytes.Equal(got, want):
				m.fatalf("final get", node, key, "%d bytes differ from the model's %d", len(got), len(want))
			}
			m.checkInfo("final get", node, key, info, want)
		}
		m.checkList(node, "", "", 1000)
		m.checkList(node, "", "/", 5)
	}
}
