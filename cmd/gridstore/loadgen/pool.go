package loadgen

import (
	"math/rand/v2"
	"sync"
)

// pool holds the objects that exist: GET, stat and list pick from it, PUT
// adds to it, delete removes from it. An object being read is never picked
// for deletion, so a GET never races its own object's delete (which would
// count a NoSuchKey that is the generator's fault, not the store's).
type pool struct {
	mu   sync.Mutex
	objs []*object
}

func (p *pool) add(o *object) {
	p.mu.Lock()
	o.index = len(p.objs)
	p.objs = append(p.objs, o)
	p.mu.Unlock()
}

func (p *pool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.objs)
}

// acquire picks a random object and marks it read until release; nil when
// the pool is empty.
func (p *pool) acquire(rng *rand.Rand) *object {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.objs) == 0 {
		return nil
	}
	o := p.objs[rng.IntN(len(p.objs))]
	o.readers++
	return o
}

func (p *pool) release(o *object) {
	p.mu.Lock()
	o.readers--
	p.mu.Unlock()
}

// deletePicks is how many random objects take tries before it gives up
// because all it found were being read.
const deletePicks = 8

// take removes a random object nobody reads and returns it; nil when the
// pool is empty or every try hit an object in use.
func (p *pool) take(rng *rand.Rand) *object {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range deletePicks {
		if len(p.objs) == 0 {
			return nil
		}
		o := p.objs[rng.IntN(len(p.objs))]
		if o.readers > 0 {
			continue
		}
		last := p.objs[len(p.objs)-1]
		p.objs[o.index], last.index = last, o.index
		p.objs[len(p.objs)-1] = nil
		p.objs = p.objs[:len(p.objs)-1]
		return o
	}
	return nil
}
