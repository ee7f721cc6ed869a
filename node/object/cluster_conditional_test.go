package object_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/nslock"
	"github.com/gridstore/gridstore/node/object/objecttest"
)

// TestClusterIfNoneMatchRace: writers on every node of a cluster racing to
// create one key with If-None-Match, ordered by the distributed namespace
// lock: exactly one succeeds each round, the others fail with
// ErrPreconditionFailed, and every node reads the winner's bytes.
func TestClusterIfNoneMatchRace(t *testing.T) {
	// Sixteen writers at once on a small machine under the race detector
	// are slow: the timeouts are generous so that only a wrong outcome,
	// never a slow one, fails the test.
	lockCfg := nslock.LocalConfig()
	lockCfg.RefreshInterval, lockCfg.Validity, lockCfg.AttemptTimeout = time.Second, 5*time.Second, 800*time.Millisecond
	c := newCluster(t, objecttest.Options{
		Set: object.Config{
			DriveTimeout: 20 * time.Second, ShardTimeout: 20 * time.Second,
			ProbeTimeout: 10 * time.Second, LockTimeout: time.Minute,
		},
		Lock: lockCfg,
	})
	ctx := testCtx(t)
	const writers, rounds = 16, 4
	for round := range rounds {
		key := fmt.Sprintf("race-%d", round)
		size := []int{1 << 10, 300 << 10}[round%2] // inline, shard files
		datas := make([][]byte, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			datas[w] = body(uint64(round*writers+w), size)
			l := c.Nodes[w%len(c.Nodes)].Layer()
			wg.Go(func() {
				_, errs[w] = l.PutObject(ctx, bucket, key, bytes.NewReader(datas[w]), int64(size),
					object.PutOptions{Precondition: object.Precondition{IfNoneMatch: true}})
			})
		}
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both created the object", round, winner, w)
			case err == nil:
				winner = w
			case !errors.Is(err, object.ErrPreconditionFailed):
				t.Fatalf("round %d: writer %d: %v, want ErrPreconditionFailed", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer created the object", round)
		}
		readAll(t, c, allNodes(c), map[string][]byte{key: datas[winner]})
	}
}
