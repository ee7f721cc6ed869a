package missedlog

import (
	"context"
	"errors"
	"fmt"
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

// TestHealerLetsEntriesSettle: a young entry is healed at once (its
// redundancy comes back without waiting) but kept, however often the
// healer is kicked, until it is Settle old; a commit its write gave up on
// may still land. Then it is healed once more, without a kick, and goes.
func TestHealerLetsEntriesSettle(t *testing.T) {
	t.Run("kept while young", func(t *testing.T) {
		l := openLog(t, t.TempDir())
		defer l.Close()
		if err := l.RememberMissed(context.Background(), missed("young", 3)); err != nil {
			t.Fatal(err)
		}
		var heals atomic.Int64
		h, err := StartHealer(HealerConfig{
			Log:    l,
			Rate:   1000,
			Settle: time.Hour,
			Heal: func(context.Context, Entry) (bool, error) {
				heals.Add(1)
				return true, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		eventually(t, "the early heal", func() bool { return h.Stats().Early == 1 })
		// Passes run one after another: once the fourth has begun, the
		// three before it are over.
		for i := range 4 {
			passes := h.Stats().Passes
			h.Kick()
			eventually(t, fmt.Sprintf("pass %d after a kick", i), func() bool { return h.Stats().Passes > passes })
		}
		if n := heals.Load(); n != 1 {
			t.Errorf("healed %d times while young; want once", n)
		}
		if n := len(l.Entries()); n != 1 {
			t.Errorf("%d entries after a heal of a young one; want it kept", n)
		}
	})
	t.Run("healed again once settled", func(t *testing.T) {
		l := openLog(t, t.TempDir())
		defer l.Close()
		if err := l.RememberMissed(context.Background(), missed("young", 3)); err != nil {
			t.Fatal(err)
		}
		const settle = 300 * time.Millisecond
		var mu sync.Mutex
		var ages []time.Duration // of the entry at each heal
		h, err := StartHealer(HealerConfig{
			Log:    l,
			Rate:   1000,
			Settle: settle,
			Heal: func(_ context.Context, e Entry) (bool, error) {
				mu.Lock()
				ages = append(ages, time.Since(e.Time))
				mu.Unlock()
				return true, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		eventually(t, "the entry healed", func() bool { return len(l.Entries()) == 0 })
		mu.Lock()
		defer mu.Unlock()
		// A slow machine may reach the first heal only after settling:
		// then one heal is all it needs.
		if len(ages) == 0 || ages[len(ages)-1] < settle {
			t.Fatalf("heals at ages %v: the entry went without a heal once settled (%v)", ages, settle)
		}
		for _, age := range ages[:len(ages)-1] {
			if age >= settle {
				t.Errorf("heals at ages %v: kept after a heal once settled", ages)
			}
		}
		if st := h.Stats(); st.Healed != 1 || st.Early != uint64(len(ages)-1) {
			t.Errorf("stats %+v after heals at ages %v", st, ages)
		}
	})
}
