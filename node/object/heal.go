package object

// HealRequest names an object that some drives of the set hold out of date,
// found by a read or a write. The healer decides what to do from the drives
// themselves; the request only says where to look.
type HealRequest struct {
	Bucket, Object string
	// VersionID is the version the drives should hold ("" for a deleted
	// object, whose leftovers should go).
	VersionID string
	// Missing lists set positions whose copy is absent or stale: no
	// metadata, an older version, a missing shard file, or a write or
	// delete they did not take.
	Missing []int
	// Corrupt lists set positions whose metadata or shard failed an
	// integrity check (bitrot, truncation, an undecodable record).
	Corrupt []int
}

// HealQueue takes heal requests. QueueHeal is called on the request path,
// so it must not block: queue and return.
type HealQueue interface {
	QueueHeal(HealRequest)
}

// HealFunc adapts a function to HealQueue.
type HealFunc func(HealRequest)

// QueueHeal calls f(r).
func (f HealFunc) QueueHeal(r HealRequest) { f(r) }

// healNote collects per-drive problems of one request.
type healNote struct {
	missing, corrupt []bool
}

func newHealNote(n int) *healNote {
	return &healNote{missing: make([]bool, n), corrupt: make([]bool, n)}
}

// classify notes what a drive error says about the drive's copy: corrupt,
// missing, or nothing (offline, slow, cancelled: the copy may be fine).
func (h *healNote) classify(pos int, err error) {
	switch {
	case err == nil:
	case isCorrupt(err):
		h.corrupt[pos] = true
	case isNotFound(err):
		h.missing[pos] = true
	}
}

// queue sends the note to q if it names any drive.
func (h *healNote) queue(q HealQueue, bucket, object, versionID string) {
	if q == nil {
		return
	}
	r := HealRequest{Bucket: bucket, Object: object, VersionID: versionID}
	for i := range h.missing {
		switch {
		case h.corrupt[i]:
			r.Corrupt = append(r.Corrupt, i)
		case h.missing[i]:
			r.Missing = append(r.Missing, i)
		}
	}
	if len(r.Missing)+len(r.Corrupt) > 0 {
		q.QueueHeal(r)
	}
}
