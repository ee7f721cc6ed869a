package erasure

import (
	"fmt"
	"io"
	"time"
)

// EncodeOptions tunes EncodeWith.
type EncodeOptions struct {
	// Grace, if positive, lets Encode leave a slow writer behind instead
	// of going at its pace. Once a write quorum of writers has finished a
	// block, the writers still writing it are waited for, and that wait is
	// charged to each of them; a writer whose charge reaches Grace is
	// abandoned (Abandoner): its error in writerErrs wraps
	// ErrShardStraggler and encoding goes on with the others. The charge
	// is forgiven at a quarter of the time the encoding takes, so a writer
	// may hold the others back by Grace at a time, or by a quarter of the
	// time in the long run: a writer a few times slower than the rest is
	// dropped after about Grace, one merely uneven never is.
	//
	// Never more writers are abandoned than leaves writeQuorum healthy: a
	// writer is only given up once the quorum has the block. Writers
	// that are not Abandoners (nor *BitrotWriters over one) are waited
	// for as without Grace. With the sequential I/O of tests, Grace does
	// nothing.
	Grace time.Duration
}

// Abandoner is a shard writer Encode can give up on (EncodeOptions.Grace).
// Abandon makes a Write in progress, and every later one, return promptly
// with an error; it may be called from any goroutine, while Write runs.
// cause wraps ErrShardStraggler. The writer's owner still closes it as
// usual after Encode has returned; Encode does not use it again.
type Abandoner interface {
	Abandon(cause error)
}

// abandonerOf returns w's Abandoner: w itself, or what the BitrotWriter w
// writes to (a BitrotWriter's Write fails for good once the writer under
// it has).
func abandonerOf(w io.Writer) Abandoner {
	if bw, ok := w.(*BitrotWriter); ok {
		w = bw.w
	}
	a, _ := w.(Abandoner)
	return a
}

// stragglerRefill is the share of the encoding time by which a writer's
// charge is forgiven: 4 means a quarter.
const stragglerRefill = 4

// stragglers is the state of shardWriters that leaving writers behind
// needs. Its zero value leaves nobody behind.
type stragglers struct {
	grace      time.Duration
	quorum     int
	abandoners []Abandoner     // per writer, nil if it cannot be abandoned
	charge     []time.Duration // per writer: time it held blocks back, less what was forgiven
	forgiven   time.Time       // when charges were last forgiven
	timer      *time.Timer     // reused: no allocation per block

	flying      *blockBuffer // the block being written
	flyingBlock int64

	// A write abandoned while reading from a buffer keeps it: lent[i] is
	// the buffer writer i's abandoned Write may still read from, lentRefs
	// counts such writes per buffer, and free returns a buffer once none
	// is left and its block is no longer in flight (its other writers may
	// still read it). abandoned counts the abandoned Writes still running.
	lent      []*blockBuffer
	lentRefs  map[*blockBuffer]int
	free      func(*blockBuffer)
	abandoned int
}

// leaveBehind sets w up to abandon writers that fall more than grace
// behind quorum (EncodeOptions.Grace). free takes back the buffers of
// abandoned writes once they return.
func (w *shardWriters) leaveBehind(quorum int, grace time.Duration, free func(*blockBuffer)) {
	if grace <= 0 || !w.parallel {
		return
	}
	w.grace, w.quorum, w.free = grace, quorum, free
	w.abandoners = make([]Abandoner, len(w.writers))
	for i, wr := range w.writers {
		if wr != nil {
			w.abandoners[i] = abandonerOf(wr)
		}
	}
	w.charge = make([]time.Duration, len(w.writers))
	w.lent = make([]*blockBuffer, len(w.writers))
	w.forgiven = time.Now()
}

// writeBlock writes b's shards, as write does, and remembers b so that a
// writer abandoned while writing it keeps it.
func (w *shardWriters) writeBlock(b *blockBuffer, block int64) {
	w.flying, w.flyingBlock = b, block
	w.write(b.shards, block)
}

// finish waits for the writes of the block in flight, leaving stragglers
// behind once the block's write quorum is there. It reports whether an
// abandoned write kept the block's buffer: the caller must then not reuse
// it (it goes back to the pool when the write returns).
func (w *shardWriters) finish() (lent bool) {
	b := w.flying
	// The block stays flying until every write that is not abandoned has
	// returned: an abandoned write that returns before them must not
	// give the buffer back (returned) while they still read it.
	defer func() {
		w.flying = nil
		if lent && w.lentRefs[b] == 0 {
			// Every abandoned write of it has returned already: the
			// buffer is the caller's again.
			lent = false
		}
	}()
	if w.grace <= 0 {
		w.wait()
		return false
	}
	have := 0           // writers that have the block
	var since time.Time // when the quorum was seen
	for w.pending > 0 {
		if have < w.quorum {
			if w.take(<-w.done, since) {
				have++
			}
			continue
		}
		now := time.Now()
		if since.IsZero() {
			since = now
			w.forgive(now)
		}
		waited := now.Sub(since)
		left := time.Duration(-1) // until the next writer is to be abandoned; -1: none can be
		for i, busy := range w.inFlight {
			if !busy || w.abandoners[i] == nil {
				continue
			}
			l := w.grace - w.charge[i] - waited
			if l <= 0 {
				w.abandon(i, b, waited)
				lent = true
				continue
			}
			if left < 0 || l < left {
				left = l
			}
		}
		switch {
		case w.pending == 0:
		case left < 0:
			if w.take(<-w.done, since) {
				have++
			}
		default:
			if w.timer == nil {
				w.timer = time.NewTimer(left)
			} else {
				w.timer.Reset(left)
			}
			select {
			case r := <-w.done:
				w.timer.Stop()
				if w.take(r, since) {
					have++
				}
			case <-w.timer.C:
			}
		}
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	return lent
}

// forgive takes a quarter of the time since the last call off every
// writer's charge.
func (w *shardWriters) forgive(now time.Time) {
	off := now.Sub(w.forgiven) / stragglerRefill
	w.forgiven = now
	for i, c := range w.charge {
		w.charge[i] = max(0, c-off)
	}
}

// abandon gives writer i up in the middle of writing b: from now on it is
// failed, and b stays lent to it until its Write returns.
func (w *shardWriters) abandon(i int, b *blockBuffer, waited time.Duration) {
	err := fmt.Errorf("shard %d: block %d: %v behind the write quorum: %w", i, w.flyingBlock, (w.charge[i] + waited).Round(time.Millisecond), ErrShardStraggler)
	w.inFlight[i] = false
	w.pending--
	w.abandoned++
	w.errs[i] = err
	w.healthy--
	w.lent[i] = b
	if w.lentRefs == nil {
		w.lentRefs = make(map[*blockBuffer]int, 1)
	}
	w.lentRefs[b]++
	w.abandoners[i].Abandon(err)
}

// returned reports whether writer i was abandoned, and if so takes back
// the buffer its Write held, which has now returned. The buffer goes back
// to the pool once no abandoned write holds it, unless it is the block
// still in flight, whose other writers may still read it: finish gives
// it back to its caller then.
func (w *shardWriters) returned(i int) bool {
	if w.lent == nil || w.lent[i] == nil {
		return false
	}
	b := w.lent[i]
	w.lent[i] = nil
	w.abandoned--
	if w.lentRefs[b]--; w.lentRefs[b] == 0 {
		delete(w.lentRefs, b)
		if b != w.flying {
			w.free(b)
		}
	}
	return true
}
