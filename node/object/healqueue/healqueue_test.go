package healqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/node/object"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// eventually waits for cond; a hang guard, not a timing check.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func req(obj string, missing ...int) object.HealRequest {
	return object.HealRequest{Bucket: "b", Object: obj, Missing: missing}
}

// TestHealsEveryRequest: every queued object is healed exactly once.
func TestHealsEveryRequest(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	q, err := New(Config{Workers: 4, Heal: func(_ context.Context, r object.HealRequest) error {
		mu.Lock()
		seen[r.Object]++
		mu.Unlock()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := range 200 {
		q.QueueHeal(req(fmt.Sprint(i), i%4))
	}
	eventually(t, "200 heals", func() bool { return q.Stats().Healed == 200 })
	mu.Lock()
	defer mu.Unlock()
	for i := range 200 {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("object %d healed %d times", i, seen[fmt.Sprint(i)])
		}
	}
}

// gate is a Heal function that blocks each call until released, and
// records the requests and the most calls ever in flight per object.
type gate struct {
	mu       sync.Mutex
	entered  chan object.HealRequest
	release  chan struct{}
	inFlight map[string]int
	maxPer   int
	got      []object.HealRequest
}

func newGate() *gate {
	return &gate{entered: make(chan object.HealRequest, 100), release: make(chan struct{}), inFlight: map[string]int{}}
}

func (g *gate) heal(ctx context.Context, r object.HealRequest) error {
	g.mu.Lock()
	g.inFlight[r.Object]++
	g.maxPer = max(g.maxPer, g.inFlight[r.Object])
	g.got = append(g.got, r)
	g.mu.Unlock()
	g.entered <- r
	var err error
	select {
	case <-g.release:
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.mu.Lock()
	g.inFlight[r.Object]--
	g.mu.Unlock()
	return err
}

// TestMergesWaitingRequests: requests for an object already waiting are
// merged into it (the union of the drives named), and an object being
// healed is never healed twice at once: a request for it waits.
func TestMergesWaitingRequests(t *testing.T) {
	g := newGate()
	q, err := New(Config{Workers: 2, Heal: g.heal})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.QueueHeal(req("a", 0))
	<-g.entered // "a" is being healed
	q.QueueHeal(req("a", 1))
	q.QueueHeal(req("a", 3, 1))
	q.QueueHeal(object.HealRequest{Bucket: "b", Object: "a", Corrupt: []int{2}})
	if s := q.Stats(); s.Merged != 2 || s.Waiting != 1 {
		t.Fatalf("stats %+v, want 2 merged into 1 waiting", s)
	}
	g.release <- struct{}{}
	second := <-g.entered
	g.release <- struct{}{}
	if !slices.Equal(second.Missing, []int{1, 3}) || !slices.Equal(second.Corrupt, []int{2}) {
		t.Fatalf("merged request %+v, want missing [1 3], corrupt [2]", second)
	}
	eventually(t, "two heals", func() bool { return q.Stats().Healed == 2 })
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.maxPer != 1 {
		t.Fatalf("one object healed %d times at once", g.maxPer)
	}
}

// TestFullQueueDrops: a request that finds the queue full is dropped and
// counted; QueueHeal never blocks.
func TestFullQueueDrops(t *testing.T) {
	g := newGate()
	q, err := New(Config{Workers: 1, Capacity: 2, Heal: g.heal})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.QueueHeal(req("busy"))
	<-g.entered
	for i := range 5 {
		q.QueueHeal(req(fmt.Sprint(i)))
	}
	if s := q.Stats(); s.Waiting != 2 || s.Dropped != 3 {
		t.Fatalf("stats %+v, want 2 waiting and 3 dropped", s)
	}
	close(g.release)
	eventually(t, "the 3 accepted heals", func() bool { return q.Stats().Healed == 3 })
}

// TestFailuresCounted: a failed heal is counted, and the worker goes on.
func TestFailuresCounted(t *testing.T) {
	q, err := New(Config{Workers: 1, Heal: func(_ context.Context, r object.HealRequest) error {
		if r.Object == "bad" {
			return errors.New("read quorum")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.QueueHeal(req("bad"))
	q.QueueHeal(req("good"))
	eventually(t, "both done", func() bool { s := q.Stats(); return s.Healed == 1 && s.Failed == 1 })
}

// TestCloseCancels: Close cancels the heals in progress, waits for the
// workers, and later requests are ignored.
func TestCloseCancels(t *testing.T) {
	g := newGate()
	q, err := New(Config{Workers: 2, Heal: g.heal})
	if err != nil {
		t.Fatal(err)
	}
	q.QueueHeal(req("x"))
	q.QueueHeal(req("y"))
	<-g.entered
	<-g.entered
	q.Close() // returns only once both heals saw their context end
	q.QueueHeal(req("z"))
	if s := q.Stats(); s.Waiting != 0 || s.Healed != 0 || s.Failed != 0 {
		t.Fatalf("after Close: %+v", s)
	}
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoHeal) {
		t.Fatalf("New without Heal: %v", err)
	}
}

// TestQueueHealAfter: a request queued for later is healed once its time
// has passed, not before, with the drives of the requests for the same
// object queued meanwhile.
func TestQueueHealAfter(t *testing.T) {
	var mu sync.Mutex
	var got []object.HealRequest
	var at time.Time
	q, err := New(Config{Heal: func(_ context.Context, r object.HealRequest) error {
		mu.Lock()
		defer mu.Unlock()
		got, at = append(got, r), time.Now()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	queued := time.Now()
	q.QueueHealAfter(req("a", 1), 200*time.Millisecond)
	q.QueueHealAfter(req("a", 2), 0) // merged: keeps the first one's time
	if s := q.Stats(); s.Later != 1 || s.Waiting != 0 {
		t.Fatalf("stats %+v, want one object for later", s)
	}
	eventually(t, "the heal", func() bool { return q.Stats().Healed == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !slices.Equal(got[0].Missing, []int{1, 2}) {
		t.Fatalf("healed %+v, want one request for drives [1 2]", got)
	}
	if at.Sub(queued) < 200*time.Millisecond {
		t.Fatalf("healed %v after it was queued for 200ms later", at.Sub(queued))
	}
	if s := q.Stats(); s.Later != 0 {
		t.Fatalf("stats %+v after the heal", s)
	}
}

// TestCloseDropsLater: Close drops the requests queued for later (their
// timers with them: goleak checks), and a later one is ignored.
func TestCloseDropsLater(t *testing.T) {
	q, err := New(Config{Capacity: 2, Heal: func(context.Context, object.HealRequest) error {
		t.Error("a request queued for later was healed after Close")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	q.QueueHealAfter(req("a"), time.Hour)
	q.QueueHealAfter(req("b"), time.Hour)
	q.QueueHealAfter(req("c"), time.Hour) // over Capacity
	if s := q.Stats(); s.Later != 2 || s.Dropped != 1 {
		t.Fatalf("stats %+v, want 2 for later and 1 dropped", s)
	}
	q.Close()
	q.QueueHealAfter(req("d"), 0)
	if s := q.Stats(); s.Later != 0 {
		t.Fatalf("stats %+v after Close", s)
	}
}
