package object_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/objecttest"
	"github.com/gridstore/gridstore/storage/local"
)

// healRecorder is a node's heal queue: it records the requests.
type healRecorder struct {
	mu   sync.Mutex
	reqs []object.HealRequest
}

func (h *healRecorder) QueueHeal(r object.HealRequest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = append(h.reqs, r)
}

func (h *healRecorder) take() []object.HealRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.reqs
	h.reqs = nil
	return r
}

// shardFile returns the path of the part.1 of key on drive index d.
func shardFile(t *testing.T, c *objecttest.Cluster, d int, key string) string {
	t.Helper()
	var found []string
	root := local.ObjectDir(c.DriveDir(d), bucket, key)
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && e.Name() == "part.1" {
			found = append(found, path)
		}
		return nil
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("drive %d: shard files of %s: %v, %v", d, key, found, err)
	}
	return found[0]
}

// corrupt flips bytes at several places of a shard file, so that every
// block read whole hits some of them, keeping its size.
func corrupt(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{st.Size() / 7, st.Size() / 3, st.Size() / 2, st.Size() - 5} {
		b := make([]byte, 4)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] ^= 0x5a
		}
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterCorruptShards: a multi-block object PUT through node 0 whose
// shard files are then damaged on disk (bitrot) reads back byte-exact from
// every node, with one data shard corrupt, with as many corrupt data
// shards as the parity, and with the parity's worth split between data and
// parity shards. The nodes queue the corrupt data shards they hit for
// healing, and never a healthy one. One corrupt shard more is an error.
func TestClusterCorruptShards(t *testing.T) {
	heals := make([]*healRecorder, 4)
	for i := range heals {
		heals[i] = &healRecorder{}
	}
	c := newCluster(t, objecttest.Options{Heal: func(node int) object.HealQueue { return heals[node] }})
	lo := c.Layout
	if len(lo.Sets) != 1 || lo.SetSize != 8 || lo.Parity != 4 {
		t.Fatalf("layout %v", lo)
	}
	set := lo.Sets[0]
	parity := lo.Parity

	cases := []struct {
		name         string
		data, parity int // how many data and parity shards to corrupt
	}{
		{"one-data", 1, 0},
		{"parity-data", parity, 0},
		{"half-half", parity / 2, parity - parity/2},
		{"parity-only", 0, parity},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "corrupt-" + tc.name
			want := body(uint64(900+ci), 3<<20+4321) // 13 blocks of 256 KiB
			info := mustPut(t, c.Nodes[0].Layer(), key, want)
			if info.DataShards != lo.SetSize-parity || info.ParityShards != parity {
				t.Fatalf("layout of the object: %d+%d", info.DataShards, info.ParityShards)
			}
			dist, err := layout.Distribution(bucket, key, lo.SetSize)
			if err != nil {
				t.Fatal(err)
			}
			var dataPos, parityPos []int // set positions, by shard number
			for shard := 1; shard <= lo.SetSize; shard++ {
				pos := slices.Index(dist, shard)
				if shard <= info.DataShards {
					dataPos = append(dataPos, pos)
				} else {
					parityPos = append(parityPos, pos)
				}
			}
			// A drive's commit may straggle past the write's grace on a
			// busy machine: a read before it lands would rightly report
			// that drive missing.
			for _, d := range set.Drives {
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
					if _, err := os.Stat(local.RecordFile(c.DriveDir(d), bucket, key)); err == nil || time.Now().After(deadline) {
						break
					}
				}
			}
			bad := slices.Concat(dataPos[:tc.data], parityPos[:tc.parity])
			for _, pos := range bad {
				corrupt(t, shardFile(t, c, set.Drives[pos], key))
			}
			for _, h := range heals {
				h.take()
			}

			for i, n := range c.Nodes {
				mustGet(t, i, n.Layer(), key, want)
			}
			// Every read decodes whole blocks: the corrupt data shards are
			// always hit, so each node reports them; corrupt parity shards
			// only when read. Nothing healthy is reported.
			for i, h := range heals {
				reported := map[int]bool{}
				for _, r := range h.take() {
					if r.Bucket != bucket || r.Object != key || r.VersionID != info.VersionID {
						t.Fatalf("node %d: heal request %+v", i, r)
					}
					if len(r.Missing) > 0 {
						t.Fatalf("node %d: missing %v, nothing is", i, r.Missing)
					}
					for _, pos := range r.Corrupt {
						if !slices.Contains(bad, pos) {
							t.Fatalf("node %d: healthy position %d reported corrupt (corrupt: %v)", i, pos, bad)
						}
						reported[pos] = true
					}
				}
				for _, pos := range dataPos[:tc.data] {
					if !reported[pos] {
						t.Fatalf("node %d: corrupt data shard at position %d not queued for healing (reported %v)", i, pos, reported)
					}
				}
			}
			// Ranges across the damage read right too.
			first, last := int64(len(want)/3-1000), int64(len(want)/2+5000)
			for i, n := range c.Nodes {
				r, err := n.Layer().GetObject(testCtx(t), bucket, key, object.GetOptions{Range: &object.Range{First: first, Last: last}})
				if err != nil {
					t.Fatalf("node %d: range: %v", i, err)
				}
				var buf bytes.Buffer
				_, err = r.WriteTo(&buf)
				r.Close()
				if err != nil || !bytes.Equal(buf.Bytes(), want[first:last+1]) {
					t.Fatalf("node %d: range %d-%d: %d bytes, %v", i, first, last, buf.Len(), err)
				}
			}

			// One shard more than the parity: an error, never wrong bytes.
			if len(bad) < parity {
				return
			}
			healthy := slices.Concat(dataPos[tc.data:], parityPos[tc.parity:])
			corrupt(t, shardFile(t, c, set.Drives[healthy[0]], key))
			for i, n := range c.Nodes {
				if got, err := get(testCtx(t), n.Layer(), key); err == nil {
					t.Fatalf("node %d: %d shards corrupt of %d parity: read %d bytes (equal: %v) without an error",
						i, len(bad)+1, parity, len(got), bytes.Equal(got, want))
				}
			}
		})
	}
}
