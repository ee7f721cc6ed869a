package missedlog

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// eventually waits for cond; a hang guard, not a timing check.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHealerHealsWhenReady: entries whose drives are down wait; once they
// are back and the healer is kicked, they are healed and leave the log. A
// heal that fails keeps its entry for a retry.
func TestHealerHealsWhenReady(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	for _, name := range []string{"a", "b"} {
		if err := l.RememberMissed(context.Background(), missed(name, 2)); err != nil {
			t.Fatal(err)
		}
	}
	var back, failB atomic.Bool
	failB.Store(true)
	var mu sync.Mutex
	healed := map[string]int{}
	h, err := StartHealer(HealerConfig{
		Log:   l,
		Rate:  1000,
		Ready: func(Entry) bool { return back.Load() },
		Heal: func(_ context.Context, e Entry) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			healed[e.Object]++
			if e.Object == "b" && failB.Load() {
				return false, errors.New("drive 2 not serving yet")
			}
			return true, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eventually(t, "a first pass", func() bool { return h.Stats().Passes >= 1 && h.Stats().Skipped >= 2 })
	mu.Lock()
	if len(healed) != 0 {
		t.Fatalf("healed with the drives down: %v", healed)
	}
	mu.Unlock()
	back.Store(true)
	h.Kick()
	eventually(t, "a healed", func() bool { return len(l.Entries()) == 1 })
	if e := l.Entries()[0]; e.Object != "b" {
		t.Fatalf("left %v", e)
	}
	failB.Store(false) // retried without a kick, soon (firstRetry)
	eventually(t, "b healed on retry", func() bool { return len(l.Entries()) == 0 })
}

// TestHealerWalksIncompleteLog: a log that says it is incomplete is walked
// over at start; once the walk succeeds it is complete again.
func TestHealerWalksIncompleteLog(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	l.markLost(time.Now().Add(-time.Minute))
	var walks atomic.Int32
	h, err := StartHealer(HealerConfig{
		Log:  l,
		Heal: func(context.Context, Entry) (bool, error) { return true, nil },
		Walk: func(ctx context.Context, sets []int, throttle func(context.Context) error) error {
			if n := walks.Add(1); n == 1 && sets != nil || n == 2 && (len(sets) != 1 || sets[0] != 3) {
				t.Errorf("walk %d of sets %v", n, sets)
			}
			return throttle(ctx)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eventually(t, "a walk", func() bool { return !l.Incomplete() })
	if walks.Load() != 1 {
		t.Fatalf("%d walks", walks.Load())
	}
	h.WalkSets([]int{3})
	eventually(t, "the asked walk", func() bool { return walks.Load() == 2 })
}

// TestHealerWarnsOnceOfAnEntryThatKeepsFailing: the first failed heals of
// an entry are debug noise (a drive coming back); the warnAfterTries-th is
// a warning, once, naming the object and the error, however long it goes
// on failing.
func TestHealerWarnsOnceOfAnEntryThatKeepsFailing(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	if err := l.RememberMissed(context.Background(), missed("stuck", 1)); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	var tries atomic.Int64
	h, err := StartHealer(HealerConfig{
		Log:      l,
		Rate:     1000,
		Interval: time.Millisecond, // a pass every retry
		Logger:   zap.New(core),
		Heal: func(context.Context, Entry) (bool, error) {
			tries.Add(1)
			return false, errors.New("verify: the drive says no")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "tries past the warning", func() bool { return tries.Load() >= warnAfterTries+2 })
	h.Close()
	warns := logs.FilterLevelExact(zap.WarnLevel).FilterMessage("missed write not healed yet").All()
	if len(warns) != 1 {
		t.Fatalf("%d warnings over %d failed tries, want 1: %v", len(warns), tries.Load(), warns)
	}
	f := warns[0].ContextMap()
	if f["object"] != "stuck" || f["error"] != "verify: the drive says no" || f["tries"] != int64(warnAfterTries) {
		t.Fatalf("warning says %v", f)
	}
	if debug := logs.FilterLevelExact(zap.DebugLevel).FilterMessage("missed write not healed yet").Len(); debug < warnAfterTries {
		t.Fatalf("%d debug lines for the other tries", debug)
	}
}

// TestHealerLetsEntriesSettle: an entry younger than Settle is left for a
// later pass (a commit its write gave up on may still land), then healed
// once, soon after it is old enough, without a kick.
func TestHealerLetsEntriesSettle(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	if err := l.RememberMissed(context.Background(), missed("young", 3)); err != nil {
		t.Fatal(err)
	}
	const settle = 500 * time.Millisecond
	var heals atomic.Int64
	var first atomic.Int64 // the first heal's age of the entry, in ns
	h, err := StartHealer(HealerConfig{
		Log:    l,
		Rate:   1000,
		Settle: settle,
		Heal: func(_ context.Context, e Entry) (bool, error) {
			if heals.Add(1) == 1 {
				first.Store(int64(time.Since(e.Time)))
			}
			return true, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eventually(t, "the entry healed", func() bool { return len(l.Entries()) == 0 })
	if age := time.Duration(first.Load()); age < settle {
		t.Errorf("healed %v after the write, before it settled (%v)", age, settle)
	}
	if h.Stats().Passes < 2 {
		t.Errorf("%d passes: the young entry was not left for a later one", h.Stats().Passes)
	}
	if n := heals.Load(); n != 1 {
		t.Errorf("healed %d times", n)
	}
}
