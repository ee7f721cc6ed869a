package scanner

import (
	"sync"

	"github.com/gridstore/gridstore/node/object"
)

// smallPerWorker is how many small objects (under largeObject) a rebuild
// worker's share admits at once. Healing one is a few small synced writes,
// bound by the drive's flush latency rather than its bandwidth: many in
// flight share each flush (the drive's group commit), where a few leave
// the disk idle between flushes.
const smallPerWorker = 8

// largeObject is the size from which an object takes a whole worker's
// share: its heal streams at least a full erasure block per shard.
const largeObject = 1 << 20

// healWindow admits the objects of a rebuild's walk, in walk order, as
// long as their weight fits (a large object weighs smallPerWorker, a small
// one 1, out of Workers*smallPerWorker), and moves the cursor past an
// object once its heal and every earlier one's have ended: a rebuild that
// stops and resumes from the cursor never skips an object. Heals end in
// any order; no heal waits for a slower one of its batch, as it would
// with fixed batches.
type healWindow struct {
	mu       sync.Mutex
	cond     sync.Cond
	capacity int
	used     int
	queue    []*windowSlot // admitted, in walk order; the done prefix is popped
	cursor   object.WalkPosition
	moved    bool // cursor set since the last take
}

type windowSlot struct {
	pos    object.WalkPosition
	weight int
	done   bool
}

func newHealWindow(workers int) *healWindow {
	w := &healWindow{capacity: workers * smallPerWorker}
	w.cond.L = &w.mu
	return w
}

func objectWeight(size int64) int {
	if size >= largeObject {
		return smallPerWorker
	}
	return 1
}

// admit waits until an object of size fits, then takes its room.
func (w *healWindow) admit(pos object.WalkPosition, size int64) *windowSlot {
	s := &windowSlot{pos: pos, weight: min(objectWeight(size), w.capacity)}
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.used+s.weight > w.capacity {
		w.cond.Wait()
	}
	w.used += s.weight
	w.queue = append(w.queue, s)
	return s
}

// finish gives s's room back and, if its object was dealt with (done),
// moves the cursor over the objects done. An object not dealt with (the
// rebuild was stopped during its heal) holds the cursor before it for good.
func (w *healWindow) finish(s *windowSlot, done bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.done = done
	w.used -= s.weight
	i := 0
	for i < len(w.queue) && w.queue[i].done {
		w.cursor, w.moved = w.queue[i].pos, true
		i++
	}
	w.queue = w.queue[i:]
	w.cond.Broadcast()
}

// wait returns once every admitted object is done.
func (w *healWindow) wait() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.used > 0 {
		w.cond.Wait()
	}
}

// take returns the cursor, and whether it moved since the last take.
func (w *healWindow) take() (object.WalkPosition, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	moved := w.moved
	w.moved = false
	return w.cursor, moved
}
