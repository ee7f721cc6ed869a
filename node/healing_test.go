package node

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage/local"
)

// drivePath returns the folder of a node's only drive from its endpoint
// list (clusterConfigs: one drive per node, "http://host:port/path").
func drivePath(t *testing.T, cfg Config) string {
	t.Helper()
	for _, ep := range cfg.Endpoints {
		if strings.Contains(ep, "//"+cfg.Self+"/") {
			return ep[len("http://"+cfg.Self):]
		}
	}
	t.Fatalf("no drive of %s in %v", cfg.Self, cfg.Endpoints)
	return ""
}

// restart starts a stopped node again with its configuration, on its
// address.
func restart(t *testing.T, cfg Config) *testNode {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment
		if ln, err = net.Listen("tcp", cfg.Self); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	n := startNode(t, cfg)
	waitReady(t, n)
	return n
}

func holds(root, key string) bool {
	_, err := os.Stat(local.RecordFile(root, "bucket", key))
	return err == nil
}

// TestMissedWriteHealedOnReturn is issue 13's "what was seen": an object
// PUT while node 3 of 4 is down is on node 3's drive after it returns,
// with no read of it in between; then, with parity drives lost elsewhere,
// it still reads. With restartWriter, the node that took the PUT restarts
// before node 3 returns: its missed-write log survives the restart.
func TestMissedWriteHealedOnReturn(t *testing.T) {
	for _, tc := range []struct {
		name          string
		restartWriter bool
	}{{"writer-stays", false}, {"writer-restarts", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := clusterConfigs(t, 4, 1) // one set of 4, parity 2
			nodes := startConfigs(t, cfgs)
			ctx := testCtx(t)
			l := nodes[0].Layer()
			if err := l.MakeBucket(ctx, "bucket"); err != nil {
				t.Fatal(err)
			}
			old := payload(1, 600<<10)
			if _, err := l.PutObject(ctx, "bucket", "old", bytes.NewReader(old), int64(len(old)), object.PutOptions{}); err != nil {
				t.Fatal(err)
			}

			if err := nodes[3].Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			data := payload(2, 600<<10) // shard files: a data dir on every drive it reaches
			put := func() error {
				_, err := nodes[0].Layer().PutObject(ctx, "bucket", "new", bytes.NewReader(data), int64(len(data)), object.PutOptions{})
				return err
			}
			eventually(t, 30*time.Second, "PUT with node 3 down", func() bool { return put() == nil })
			root3 := drivePath(t, cfgs[3])
			if holds(root3, "new") {
				t.Fatal("node 3 took the write while down")
			}
			if tc.restartWriter {
				if err := nodes[0].Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				nodes[0] = restart(t, cfgs[0])
			}
			nodes[3] = restart(t, cfgs[3])
			// No read of "new" from here on until its copy is checked on disk.
			eventually(t, 60*time.Second, "node 3's drive holds the object PUT while it was down", func() bool {
				return holds(root3, "new")
			})

			// Lose parity (2) drives' copies elsewhere: nodes 1 and 2.
			for _, i := range []int{1, 2} {
				dir := local.ObjectDir(drivePath(t, cfgs[i]), "bucket", "new")
				if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
			}
			for _, key := range []string{"new", "old"} {
				want := map[string][]byte{"new": data, "old": old}[key]
				r, err := nodes[0].Layer().GetObject(ctx, "bucket", key, object.GetOptions{})
				if err != nil {
					t.Fatalf("get %s with nodes 1 and 2's copies gone: %v", key, err)
				}
				var buf bytes.Buffer
				_, err = r.WriteTo(&buf)
				r.Close()
				if err != nil || !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("get %s: %v, %d bytes of %d", key, err, buf.Len(), len(want))
				}
			}
			// The healed entry left the writer's log.
			h := nodes[0].healingOf()
			eventually(t, 10*time.Second, "the writer's log still holds the healed entry", func() bool {
				return h.log.Stats().Waiting == 0
			})
			if st := h.healer.Load().Stats(); st.Healed == 0 {
				t.Fatalf("the writer's healer healed nothing: %+v", st)
			}
		})
	}
}
