package nslock

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkLockUnlock measures an uncontended Lock+Unlock (or RLock+Unlock)
// on a 4-node cluster over loopback: one round to acquire (the local server
// inline, three peers over the grid) and one to release. Allocations count
// the caller's side and the three remote handlers, all in this process.
func BenchmarkLockUnlock(b *testing.B) {
	nodes := newCluster(b, 4, DefaultConfig())
	l := nodes[0].lk
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		write bool
	}{{"write", true}, {"read", false}} {
		b.Run(c.name, func(b *testing.B) {
			lock := l.RLock
			if c.write {
				lock = l.Lock
			}
			b.ReportAllocs()
			for b.Loop() {
				lk, err := lock(ctx, "bucket/object")
				if err != nil {
					b.Fatal(err)
				}
				lk.Unlock()
			}
		})
	}
	// 16 goroutines spread over the nodes, each on its own resource:
	// throughput of the lock service as a whole.
	b.Run("write-parallel", func(b *testing.B) {
		var next atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(16 / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			i := next.Add(1)
			l := nodes[i%4].lk
			res := "bucket/object-" + strconv.FormatInt(i, 10)
			for pb.Next() {
				lk, err := l.Lock(ctx, res)
				if err != nil {
					b.Error(err)
					return
				}
				lk.Unlock()
			}
		})
	})
}

// BenchmarkRound breaks the cost down: one round of a lock operation (a
// refresh, to all four servers: local inline, three peers in parallel) and a
// single typed call to one peer, the grid's floor.
func BenchmarkRound(b *testing.B) {
	nodes := newCluster(b, 4, DefaultConfig())
	l := nodes[0].lk
	a := &LockArgs{UID: "uid", Resources: []string{"bucket/object"}}
	ctx := context.Background()
	b.Run("broadcast-4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l.broadcast(ctx, opRefresh, a, nil, l.wq, answered, roundOpts{})
		}
	})
	b.Run("one-peer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.call(ctx, opRefresh, 1, a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkServerLockUnlock is the lock server alone: one grant and one
// release in the table, no network.
func BenchmarkServerLockUnlock(b *testing.B) {
	s, err := NewServer(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	a := &LockArgs{UID: "uid", Resources: []string{"bucket/object"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := s.apply(ctx, opLock, "node", a); !ok {
			b.Fatal("not granted")
		}
		s.apply(ctx, opUnlock, "node", a)
	}
}
