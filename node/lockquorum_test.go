package node

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/cluster"
	"github.com/gridstore/gridstore/node/object/nslock"
)

// TestTwoNodesDownWritesFailFast: four nodes of two drives (one set, EC
// 4+4: writes need 5 drives and 3 of 4 lock servers), two of them stopped:
// DELETE, PUT and multipart Complete get a 503 within seconds, not after
// the lock timeout (30 s by default), and reads still work. Once with the
// test timing and once with the defaults.
func TestTwoNodesDownWritesFailFast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(i int, c *Config)
	}{
		{"local", nil},
		{"default", func(_ int, c *Config) { c.Timing = DefaultConfig().Timing }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startCluster(t, 4, 2, tc.tweak)
			if code, body := s3Do(t, nodes[0], "PUT", "/bucket", nil); code != http.StatusOK {
				t.Fatalf("create bucket: %d %s", code, body)
			}
			data := bytes.Repeat([]byte("two nodes down "), 1000)
			for _, key := range []string{"/bucket/a", "/bucket/b"} {
				if code, body := s3Do(t, nodes[1], "PUT", key, data); code != http.StatusOK {
					t.Fatalf("put %s: %d %s", key, code, body)
				}
			}
			code, body := s3Do(t, nodes[0], "POST", "/bucket/mp?uploads", nil)
			if code != http.StatusOK {
				t.Fatalf("create upload: %d %s", code, body)
			}
			uploadID := between(string(body), "<UploadId>", "</UploadId>")
			code, _ = s3Do(t, nodes[0], "PUT", "/bucket/mp?partNumber=1&uploadId="+uploadID, data)
			if code != http.StatusOK {
				t.Fatalf("upload part: %d", code)
			}

			_ = nodes[2].Shutdown(context.Background())
			_ = nodes[3].Shutdown(context.Background())
			stopped := time.Now()
			for _, req := range []struct {
				method, path string
				body         []byte
				want         int
			}{
				{"DELETE", "/bucket/a", nil, http.StatusServiceUnavailable},
				{"PUT", "/bucket/c", data, http.StatusServiceUnavailable},
				{"POST", "/bucket/mp?uploadId=" + uploadID,
					[]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"` + md5Hex(data) + `"</ETag></Part></CompleteMultipartUpload>`),
					http.StatusServiceUnavailable},
				{"GET", "/bucket/b", nil, http.StatusOK},
			} {
				start := time.Now()
				code, body := s3Do(t, nodes[0], req.method, req.path, req.body)
				took := time.Since(start)
				t.Logf("%s %s: %d in %v (%v after the stop): %.200s", req.method, req.path, code, took.Round(time.Millisecond),
					time.Since(stopped).Round(time.Millisecond), body)
				if code != req.want {
					t.Fatalf("%s %s with two of four nodes down: %d %s, want %d", req.method, req.path, code, body, req.want)
				}
				if took > 10*time.Second {
					t.Fatalf("%s %s took %v: it waited for a lock or a timeout", req.method, req.path, took)
				}
			}
		})
	}
}

// between returns what s holds between the first open and the next close.
func between(s, open, close string) string {
	_, rest, _ := bytes.Cut([]byte(s), []byte(open))
	v, _, _ := bytes.Cut(rest, []byte(close))
	return string(v)
}

// TestGossipDeathDropsLocks: a node that memberlist declares dead while it
// is in fact running (paused for a while, or too busy to answer probes;
// here it left the gossip pool, its grid connections stay up) holds a write
// lock. Every other node's lock server drops its grants when memberlist
// reports the death, so a PUT of the locked object from another node
// succeeds within seconds instead of waiting for the holder to let go (it
// keeps refreshing: the lock would never expire). The holder finds its lock
// lost.
func TestGossipDeathDropsLocks(t *testing.T) {
	nodes := startCluster(t, 4, 2, nil)
	if code, body := s3Do(t, nodes[0], "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	eventually(t, 15*time.Second, "gossip does not see every node alive", func() bool {
		for _, n := range nodes {
			for _, m := range n.members.Members() {
				if m.State != cluster.Alive {
					return false
				}
			}
		}
		return true
	})
	holder := nodes[3].up.Load().locker
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lk, err := holder.Lock(ctx, "bucket/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()

	if err := nodes[3].members.Close(); err != nil {
		t.Logf("close node 3's gossip: %v", err)
	}
	start := time.Now()
	data := []byte("written while node 3 is declared dead")
	code, body := s3Do(t, nodes[0], "PUT", "/bucket/obj", data)
	took := time.Since(start)
	t.Logf("PUT of the object node 3 had locked: %d in %v", code, took.Round(time.Millisecond))
	if code != http.StatusOK {
		t.Fatalf("PUT of an object locked by a node declared dead: %d %s", code, body)
	}
	select {
	case <-lk.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder declared dead did not find its lock lost")
	}
	if err := lk.Confirm(context.Background()); !errors.Is(err, nslock.ErrLockLost) {
		t.Fatalf("the holder's Confirm: %v, want ErrLockLost", err)
	}
	t.Logf("holder: %v", lk.Err())
}
