package scanner

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
)

func at(name string) object.WalkPosition { return object.WalkPosition{Bucket: "b", Object: name} }

// TestHealWindowCursor: heals end in any order, and the cursor only ever
// passes objects whose heal and every earlier one's are done; one stopped
// before it was dealt with holds the cursor before it.
func TestHealWindowCursor(t *testing.T) {
	w := newHealWindow(1)
	var slots []*windowSlot
	for i := range 5 {
		slots = append(slots, w.admit(at(fmt.Sprint(i)), 10))
	}
	cursor := func(want string, moved bool) {
		t.Helper()
		cur, m := w.take()
		if m != moved || (moved && cur != at(want)) {
			t.Fatalf("cursor = %v (moved %v), want %q (moved %v)", cur, m, want, moved)
		}
	}
	cursor("", false)
	w.finish(slots[1], true)
	cursor("", false) // 0 still running
	w.finish(slots[0], true)
	cursor("1", true)
	w.finish(slots[3], false) // stopped: not dealt with
	w.finish(slots[2], true)
	cursor("2", true)
	w.finish(slots[4], true)
	cursor("", false) // 3 holds it
	w.wait()
}

// TestHealWindowWeights: small objects fill Workers*smallPerWorker places,
// a large one a worker's share; admit waits for room.
func TestHealWindowWeights(t *testing.T) {
	w := newHealWindow(2)
	var small []*windowSlot
	for i := range 2 * smallPerWorker {
		small = append(small, w.admit(at(fmt.Sprint(i)), 4<<10))
	}
	admitted := make(chan *windowSlot)
	go func() { admitted <- w.admit(at("large"), 16<<20) }()
	select {
	case <-admitted:
		t.Fatal("a large object was admitted into a full window")
	case <-time.After(50 * time.Millisecond):
	}
	for _, s := range small[:smallPerWorker-1] {
		w.finish(s, true)
	}
	select {
	case <-admitted:
		t.Fatal("a large object was admitted with room for fewer than its weight")
	case <-time.After(50 * time.Millisecond):
	}
	w.finish(small[smallPerWorker-1], true)
	large := <-admitted
	for _, s := range small[smallPerWorker:] {
		w.finish(s, true)
	}
	w.finish(large, true)
	w.wait()
	if cur, _ := w.take(); cur != at("large") {
		t.Fatalf("cursor %v, want the large object", cur)
	}
}
