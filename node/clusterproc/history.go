package clusterproc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// History is the client side's record of every write (PUT and DELETE) the
// workload issued, per key: when it started, when it ended and whether it
// was acknowledged. It judges what a read may return by the rules of a
// linearizable register:
//
//   - a write may be seen once it has started, and for ever after, until it
//     is superseded;
//   - write W is superseded for a read that starts at gs if some
//     acknowledged write A (another one) started after W ended and ended
//     before gs: W then took effect, if at all, before A, and A before the
//     read;
//   - a write that failed or is still in flight may or may not have taken
//     effect, so it is a candidate like an acknowledged one (a failed PUT is
//     allowed to have been applied, for example when its answer was lost),
//     but is superseded by the same rule: a failed write must not come back
//     over a later acknowledged one.
//
// Every key starts as absent, as if deleted by an acknowledged write before
// the workload. Writes on one key may overlap (several clients may pick
// it); the rules hold for any interleaving. Objects are told apart by the
// SHA-256 of their content (random data, so two PUTs never collide except
// empty objects, which are all the same).
type History struct {
	mu     sync.Mutex
	keys   map[string]*keyHistory
	nextID uint64
}

type keyHistory struct {
	writes []*Write
}

// Write is one PUT or DELETE of a key, as the client saw it.
type Write struct {
	ID      uint64
	Key     string
	Via     int      // the node the client sent it to
	Deleted bool     // a DELETE; Sum and Size are zero
	Sum     [32]byte // SHA-256 of the content of a PUT
	Size    int64
	Start   time.Time
	End     time.Time // zero while in flight
	Acked   bool      // the server acknowledged it (2xx)
	Err     string    // why it failed, when it did
}

func (w *Write) done() bool { return !w.End.IsZero() }

func (w *Write) String() string {
	what := "DELETE"
	if !w.Deleted {
		what = fmt.Sprintf("PUT %d B sha256 %s", w.Size, hex.EncodeToString(w.Sum[:6]))
	}
	state := "in flight"
	switch {
	case w.Acked:
		state = "acked"
	case w.done():
		state = "failed: " + w.Err
	}
	end := "-"
	if w.done() {
		end = w.End.Format("15:04:05.000")
	}
	return fmt.Sprintf("#%d %s via node %d [%s .. %s] %s", w.ID, what, w.Via, w.Start.Format("15:04:05.000"), end, state)
}

// initialWrite stands for "absent before the workload": acknowledged, ended
// at the zero time.
var initialWrite = &Write{ID: 0, Deleted: true, Acked: true}

// NewHistory returns an empty history.
func NewHistory() *History {
	return &History{keys: map[string]*keyHistory{}}
}

// BeginPut records the start of a PUT of content with the given SHA-256
// and size, sent to node via; call End with its outcome.
func (h *History) BeginPut(key string, sum [32]byte, size int64, via int) *Write {
	return h.begin(&Write{Key: key, Sum: sum, Size: size, Via: via})
}

// BeginDelete records the start of a DELETE of key sent to node via.
func (h *History) BeginDelete(key string, via int) *Write {
	return h.begin(&Write{Key: key, Deleted: true, Via: via})
}

func (h *History) begin(w *Write) *Write {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	w.ID = h.nextID
	w.Start = time.Now()
	kh := h.keys[w.Key]
	if kh == nil {
		kh = &keyHistory{}
		h.keys[w.Key] = kh
	}
	kh.writes = append(kh.writes, w)
	return w
}

// End records the outcome of w: err nil means acknowledged.
func (h *History) End(w *Write, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.End = time.Now()
	w.Acked = err == nil
	if err != nil {
		w.Err = err.Error()
	}
}

// Observation is what a read of a key returned.
type Observation struct {
	Found bool
	Sum   [32]byte
	Size  int64
}

// ObservedContent is the Observation of a read that returned content.
func ObservedContent(content []byte) Observation {
	return Observation{Found: true, Sum: sha256.Sum256(content), Size: int64(len(content))}
}

func (o Observation) String() string {
	if !o.Found {
		return "absent"
	}
	return fmt.Sprintf("%d B sha256 %s", o.Size, hex.EncodeToString(o.Sum[:6]))
}

func (o Observation) matches(w *Write) bool {
	if w.Deleted {
		return !o.Found
	}
	return o.Found && o.Sum == w.Sum && o.Size == w.Size
}

// Violation kinds, for errors.Is on what Check returns.
var (
	// ErrStale: a read returned a write that a later acknowledged write had
	// superseded before the read began (an overwrite or a delete undone).
	ErrStale = errors.New("stale read")
	// ErrUndoneDelete: a read returned content where only an absent key
	// was allowed: an acknowledged delete undone (a kind of ErrStale, told
	// apart because a lost delete is its own promise).
	ErrUndoneDelete = errors.New("acknowledged delete undone")
	// ErrLost: a read found nothing where a PUT must be (an acknowledged
	// one, or the one a read found).
	ErrLost = errors.New("acknowledged write lost")
	// ErrCorrupt: a read returned content no write of the key had begun
	// to write before the read ended.
	ErrCorrupt = errors.New("content never written")
)

// Check judges an observation of key by a read that started at gs and
// ended at ge. It returns nil when the observation is allowed, else an error
// wrapping ErrStale, ErrLost or ErrCorrupt that lists what was allowed.
func (h *History) Check(key string, got Observation, gs, ge time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	writes := h.writesOf(key)
	allowed := allowedAt(writes, gs, ge)
	for _, w := range allowed {
		if got.matches(w) {
			return nil
		}
	}
	kind := ErrCorrupt
	if !got.Found {
		kind = ErrLost
	} else {
		for _, w := range writes {
			if got.matches(w) && (w == initialWrite || w.Start.Before(ge)) {
				kind = ErrStale
				break
			}
		}
		if kind == ErrStale && !slices.ContainsFunc(allowed, func(w *Write) bool { return !w.Deleted }) {
			kind = ErrUndoneDelete
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: read of %q [%s .. %s] returned %s; allowed:", kind, key, gs.Format("15:04:05.000"), ge.Format("15:04:05.000"), got)
	for _, w := range allowed {
		fmt.Fprintf(&b, "\n  %s", w)
	}
	fmt.Fprintf(&b, "\n  history of the key (%d writes):", len(writes)-1)
	for _, w := range lastN(writes[1:], 8) {
		fmt.Fprintf(&b, "\n  %s", w)
	}
	return &violation{kind: kind, msg: b.String()}
}

// violation carries a Check failure: its kind for errors.Is, its message
// for people.
type violation struct {
	kind error
	msg  string
}

func (v *violation) Error() string { return v.msg }
func (v *violation) Unwrap() []error {
	if v.kind == ErrUndoneDelete {
		return []error{v.kind, ErrStale}
	}
	return []error{v.kind}
}

func lastN(ws []*Write, n int) []*Write {
	if len(ws) > n {
		return ws[len(ws)-n:]
	}
	return ws
}

// writesOf returns the key's writes, the initial absence first. The caller
// holds h.mu.
func (h *History) writesOf(key string) []*Write {
	out := []*Write{initialWrite}
	if kh := h.keys[key]; kh != nil {
		out = append(out, kh.writes...)
	}
	return out
}

// allowedAt returns the writes a read that started at gs and ended at ge
// may return (see History).
func allowedAt(writes []*Write, gs, ge time.Time) []*Write {
	var out []*Write
	for _, w := range writes {
		if w != initialWrite && !w.Start.Before(ge) {
			continue // started after the read ended
		}
		if !superseded(w, writes, gs) {
			out = append(out, w)
		}
	}
	return out
}

// superseded reports whether an acknowledged write other than w started
// after w ended and ended before gs.
func superseded(w *Write, writes []*Write, gs time.Time) bool {
	if w != initialWrite && !w.done() {
		return false
	}
	for _, a := range writes {
		if a == w || a == initialWrite || !a.Acked {
			continue
		}
		if (w == initialWrite || a.Start.After(w.End)) && a.End.Before(gs) {
			return true
		}
	}
	return false
}

// Describe lists the writes of key, oldest first, one a line, for a
// failure message.
func (h *History) Describe(key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, w := range h.writesOf(key)[1:] {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Keys returns every key written, sorted.
func (h *History) Keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(h.keys))
	for k := range h.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Presence says whether a key must be listed by a listing that starts at
// at: Present when every write it may show is a PUT, Absent when every one
// is a DELETE, Either otherwise.
type Presence int

// Presence values.
const (
	Absent Presence = iota
	Present
	Either
)

// PresenceAt returns the Presence of key for a listing that starts at at
// (and, the load being stopped, ends with nothing in flight).
func (h *History) PresenceAt(key string, at time.Time) Presence {
	h.mu.Lock()
	defer h.mu.Unlock()
	var puts, deletes int
	for _, w := range allowedAt(h.writesOf(key), at, at) {
		if w.Deleted {
			deletes++
		} else {
			puts++
		}
	}
	switch {
	case deletes == 0:
		return Present
	case puts == 0:
		return Absent
	}
	return Either
}

// Counts returns how many writes were acknowledged, failed and are still in
// flight.
func (h *History) Counts() (acked, failed, inFlight int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, kh := range h.keys {
		for _, w := range kh.writes {
			switch {
			case w.Acked:
				acked++
			case w.done():
				failed++
			default:
				inFlight++
			}
		}
	}
	return acked, failed, inFlight
}
