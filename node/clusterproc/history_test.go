package clusterproc

import (
	"errors"
	"testing"
	"time"
)

// at gives the history's writes fixed times, so that the rules are tested
// without sleeping: base plus n milliseconds.
var base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

// put adds a PUT of content to h that ran from start to end (end < 0: still
// in flight) with the given outcome.
func put(h *History, key string, content string, start, end int, acked bool) *Write {
	w := h.BeginPut(key, ObservedContent([]byte(content)).Sum, int64(len(content)), 0)
	w.Start = at(start)
	finish(w, end, acked)
	return w
}

func del(h *History, key string, start, end int, acked bool) *Write {
	w := h.BeginDelete(key, 0)
	w.Start = at(start)
	finish(w, end, acked)
	return w
}

func finish(w *Write, end int, acked bool) {
	if end < 0 {
		return
	}
	w.End, w.Acked = at(end), acked
	if !acked {
		w.Err = "failed"
	}
}

func obs(content string) Observation { return ObservedContent([]byte(content)) }

var absent = Observation{}

func TestHistoryCheck(t *testing.T) {
	h := NewHistory()
	put(h, "k", "v1", 10, 20, true)
	put(h, "k", "v2", 30, 40, true)
	put(h, "k", "failed-early", 41, 45, false) // failed after v2 acked
	put(h, "k", "v3", 50, 60, true)
	put(h, "k", "inflight", 70, -1, false)
	del(h, "k", 80, 90, false) // failed delete

	cases := []struct {
		name   string
		got    Observation
		gs, ge int
		want   error // nil: allowed
	}{
		{"absent before any write", absent, 0, 5, nil},
		{"absent while the first PUT runs", absent, 12, 15, nil},
		{"first PUT while it runs", obs("v1"), 12, 15, nil},
		{"a PUT that started after the read ended", obs("v2"), 12, 15, ErrCorrupt},
		{"latest acknowledged", obs("v3"), 65, 66, nil},
		{"overwritten before the read", obs("v1"), 65, 66, ErrStale},
		{"absent after an acknowledged PUT", absent, 25, 26, ErrLost},
		{"overlapping the overwrite: old", obs("v1"), 35, 36, nil},
		{"overlapping the overwrite: new", obs("v2"), 35, 36, nil},
		{"failed PUT may have been applied", obs("failed-early"), 46, 47, nil},
		{"failed PUT must not come back over a later ack", obs("failed-early"), 61, 62, ErrStale},
		{"in-flight PUT may be seen", obs("inflight"), 75, 76, nil},
		{"in-flight PUT may be seen long after", obs("inflight"), 200, 201, nil},
		{"failed DELETE may have been applied", absent, 95, 96, nil},
		{"after a failed DELETE the PUT before it", obs("v3"), 95, 96, nil},
		{"never written", obs("garbage"), 95, 96, ErrCorrupt},
	}
	for _, c := range cases {
		err := h.Check("k", c.got, at(c.gs), at(c.ge))
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestHistoryAcknowledgedDelete(t *testing.T) {
	h := NewHistory()
	put(h, "k", "v1", 10, 20, true)
	del(h, "k", 30, 40, true)
	if err := h.Check("k", obs("v1"), at(50), at(51)); !errors.Is(err, ErrStale) || !errors.Is(err, ErrUndoneDelete) {
		t.Errorf("a delete undone: got %v, want ErrUndoneDelete and ErrStale", err)
	}

	if err := h.Check("k", absent, at(50), at(51)); err != nil {
		t.Errorf("absent after an acknowledged delete: %v", err)
	}
	if got := h.PresenceAt("k", at(50)); got != Absent {
		t.Errorf("presence after the delete = %v, want Absent", got)
	}
	put(h, "k", "v2", 60, 70, false)
	if got := h.PresenceAt("k", at(80)); got != Either {
		t.Errorf("presence after a failed PUT = %v, want Either", got)
	}
	put(h, "k", "v3", 90, 100, true)
	if got := h.PresenceAt("k", at(110)); got != Present {
		t.Errorf("presence after an acknowledged PUT = %v, want Present", got)
	}
	if got := h.PresenceAt("other", at(110)); got != Absent {
		t.Errorf("presence of a key never written = %v, want Absent", got)
	}
	acked, failed, inFlight := h.Counts()
	if acked != 3 || failed != 1 || inFlight != 0 {
		t.Errorf("counts = %d acked, %d failed, %d in flight; want 3, 1, 0", acked, failed, inFlight)
	}
}

// A read that finds an overwritten version while a PUT is in flight is
// stale, not a delete undone.
func TestHistoryStaleIsNotUndoneDelete(t *testing.T) {
	h := NewHistory()
	put(h, "k", "v1", 10, 20, true)
	del(h, "k", 30, 40, true)
	put(h, "k", "v4", 45, 60, false)
	if err := h.Check("k", obs("v1"), at(50), at(51)); !errors.Is(err, ErrStale) || errors.Is(err, ErrUndoneDelete) {
		t.Errorf("stale with a PUT in flight: got %v, want ErrStale only", err)
	}
}

// Empty objects are all alike: any empty PUT of the key stands for another.
func TestHistoryEmptyObjects(t *testing.T) {
	h := NewHistory()
	put(h, "k", "", 10, 20, true)
	if err := h.Check("k", obs(""), at(30), at(31)); err != nil {
		t.Errorf("empty object: %v", err)
	}
	if err := h.Check("k", absent, at(30), at(31)); !errors.Is(err, ErrLost) {
		t.Errorf("empty object missing: got %v, want ErrLost", err)
	}
}
