package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// TestReplacedDriveRebuilt is issue 13's "replace a drive": node 3's only
// drive is wiped while node 3 is down (the folder removed, or emptied and
// left in place); when node 3 returns, the drive is formatted into the
// deployment, gets the buckets (a new PUT into an old bucket reaches it),
// and every object is rebuilt on it with all its shards, without a read of
// any, after which its healing mark is cleared.
func TestReplacedDriveRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name        string
		leaveFolder bool
	}{{"folder-removed", false}, {"empty-folder", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := clusterConfigs(t, 4, 1) // one set of 4, parity 2
			for i := range cfgs {
				// The rebuild alone must put everything back; a scanner
				// pass would too, and would race the removals below.
				cfgs[i].Timing.Heal.ScanInterval = -1
			}
			nodes := startConfigs(t, cfgs)
			ctx := testCtx(t)
			l := nodes[0].Layer()
			for _, b := range []string{"bucket", "other"} {
				if err := l.MakeBucket(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			objs := map[string][]byte{}
			for i := range 24 {
				size := []int{0, 300, 40 << 10, 700 << 10}[i%4]
				key := fmt.Sprintf("k/%02d", i)
				bucket := []string{"bucket", "other"}[i%2]
				objs[bucket+"/"+key] = payload(uint64(i), size)
				if _, err := l.PutObject(ctx, bucket, key, bytes.NewReader(objs[bucket+"/"+key]), int64(size), object.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			if err := nodes[3].Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			root3 := drivePath(t, cfgs[3])
			if err := os.RemoveAll(root3); err != nil {
				t.Fatal(err)
			}
			if tc.leaveFolder {
				if err := os.Mkdir(root3, 0o750); err != nil {
					t.Fatal(err)
				}
			}
			nodes[3] = restart(t, cfgs[3])

			// A new PUT into an old bucket reaches the new drive (from
			// another node once its grid sees node 3 again).
			fresh := payload(99, 300<<10)
			if _, err := nodes[3].Layer().PutObject(ctx, "bucket", "fresh", bytes.NewReader(fresh), int64(len(fresh)), object.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if !holdsIn(root3, "bucket", "fresh") {
				t.Fatal("a PUT into an existing bucket did not reach the replaced drive")
			}
			objs["bucket/fresh"] = fresh
			eventually(t, 30*time.Second, "a PUT through node 1 reaching the replaced drive", func() bool {
				if _, err := nodes[1].Layer().PutObject(ctx, "other", "fresh1", bytes.NewReader(fresh), int64(len(fresh)), object.PutOptions{}); err != nil {
					t.Fatal(err)
				}
				return holdsIn(root3, "other", "fresh1")
			})
			objs["other/fresh1"] = fresh

			// No read from here on: the rebuild alone puts everything back.
			// The mark goes just before the status says done: wait for both.
			eventually(t, 90*time.Second, "the replaced drive's healing mark cleared and its rebuild done", func() bool {
				_, err := os.Stat(filepath.Join(root3, ".gridstore.sys", "healing"))
				st := nodes[3].healStatus()
				return os.IsNotExist(err) && len(st.Rebuilds) == 1 && st.Rebuilds[0].State == "done"
			})
			// The node holds the drive open; its files are checked directly.
			for name := range objs {
				bucket, key, _ := cut(name)
				if !holdsIn(root3, bucket, key) {
					t.Errorf("%s not rebuilt on the replaced drive", name)
				}
			}
			st := nodes[3].healStatus()
			if len(st.Rebuilds) != 1 || st.Rebuilds[0].State != "done" || st.Rebuilds[0].Failed != 0 {
				t.Errorf("rebuild status: %+v", st.Rebuilds)
			}

			// Every shard is there: with nodes 1 and 2 down, each object
			// still reads from node 3's drive and node 0's. (The nodes are
			// stopped rather than their files removed: the healer's walks
			// may still be running, and would put back what a test removed.)
			for _, i := range []int{1, 2} {
				if err := nodes[i].Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			for name, want := range objs {
				bucket, key, _ := cut(name)
				r, err := nodes[0].Layer().GetObject(ctx, bucket, key, object.GetOptions{})
				if err != nil {
					t.Fatalf("get %s with nodes 1 and 2 down: %v", name, err)
				}
				var buf bytes.Buffer
				_, err = r.WriteTo(&buf)
				r.Close()
				if err != nil || !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("get %s: %v, %d bytes of %d", name, err, buf.Len(), len(want))
				}
			}
		})
	}
}

func cut(name string) (bucket, key string, ok bool) {
	for i := range len(name) {
		if name[i] == '/' {
			return name[:i], name[i+1:], true
		}
	}
	return name, "", false
}

// holdsIn reports whether the drive at root holds a record of key whose
// latest version has every part file it names (or inline data).
func holdsIn(root, bucket, key string) bool {
	raw, err := os.ReadFile(local.RecordFile(root, bucket, key))
	if err != nil {
		return false
	}
	meta, err := storage.DecodeObjectMeta(raw)
	if err != nil || len(meta.Versions) == 0 {
		return false
	}
	v := meta.Versions[0]
	if v.DataDir == "" {
		return v.Size == 0 || len(v.InlineData) > 0
	}
	for _, p := range v.Parts {
		fi, err := os.Stat(filepath.Join(local.DataDirFile(root, bucket, key, v.DataDir), fmt.Sprintf("part.%d", p.Number)))
		if err != nil || fi.Size() == 0 {
			return false
		}
	}
	return len(v.Parts) > 0
}
