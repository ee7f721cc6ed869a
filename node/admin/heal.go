package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gridstore/gridstore/node/object/healqueue"
	"github.com/gridstore/gridstore/node/object/missedlog"
	"github.com/gridstore/gridstore/node/object/scanner"
)

// HealInfo is what the answering node is healing, and why; GET
// PathPrefix+"heal" answers it as JSON. It is one node's: each node heals
// its own queue and log, rebuilds its own drives, and scans the sets it
// owns.
type HealInfo struct {
	Node string
	// Queue is the heal queue's (objects reads and writes found stale).
	Queue healqueue.Stats
	// MissedLog is the missed-write log's (entries waiting to be healed
	// once their drives are back), MissedHealer its healer's.
	MissedLog    missedlog.Stats
	MissedHealer missedlog.HealerStats
	// Healed counts what was healed since the node started, by reason:
	// "read", "missed-write", "scanner", "rebuild".
	Healed []HealCount
	// Rebuilds are this node's drives being (or just) rebuilt.
	Rebuilds []scanner.RebuildStatus
	// Scan is every set's scan as this node sees it (Owned: it scans
	// it), ScanStats its counters; ScanOff when the scanner is off.
	Scan      []scanner.SetStatus
	ScanStats scanner.Stats
	ScanOff   bool `json:",omitempty"`
}

// HealCount is what was healed for one reason.
type HealCount struct {
	Reason string
	// Objects healed (some drive got its copy, or lost a leftover), the
	// shard bytes written for them, and the heals that failed.
	Objects, Bytes, Failed uint64
}

// Heal asks the node what it is healing.
func (c *Client) Heal(ctx context.Context) (*HealInfo, error) {
	resp, err := c.get(ctx, "heal")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var info HealInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInfoBytes)).Decode(&info); err != nil {
		return nil, fmt.Errorf("admin: heal from %s: decoding the answer: %w", c.Endpoint, err)
	}
	return &info, nil
}

// WriteHealTable writes info as text tables: what waits to be healed
// (queue, missed-write log), the drives being rebuilt with their progress
// and ETA, the sets' scans (position, last full pass), and what was healed
// by reason.
func WriteHealTable(w io.Writer, info *HealInfo) error {
	var out bytes.Buffer
	fmt.Fprintf(&out, "Healing on %s\n", orDash(info.Node))

	fmt.Fprintf(&out, "\nWaiting: %d in the heal queue (found stale by reads and writes), %d in the missed-write log",
		info.Queue.Waiting, info.MissedLog.Waiting)
	if info.MissedLog.Incomplete {
		out.WriteString(" (INCOMPLETE: the sets are walked)")
	}
	out.WriteString("\n")

	fmt.Fprintf(&out, "\nDrive rebuilds: %d\n", len(info.Rebuilds))
	if len(info.Rebuilds) > 0 {
		table(&out, func(t io.Writer) {
			fmt.Fprintln(t, "#\tENDPOINT\tSET\tPOS\tSTATE\tPASS\tPROGRESS\tOBJECTS\tBYTES\tHEALED\tFAILED\tETA\tAT\tLAST ERROR")
			for _, r := range info.Rebuilds {
				at := "-"
				if r.Bucket != "" {
					at = r.Bucket + "/" + r.Object
				}
				fmt.Fprintf(t, "%d\t%s\t%d\t%d\t%s\t%d\t%.1f%%\t%d/%d\t%s/%s\t%d (%s)\t%d\t%s\t%s\t%s\n",
					r.Drive, r.Endpoint, r.Set, r.Pos, r.State, r.Pass, 100*r.Progress,
					r.ObjectsDone, r.TotalObjects, bytesIEC(r.BytesDone), bytesIEC(r.TotalBytes),
					r.ObjectsHealed, bytesIEC(r.BytesHealed), r.Failed, duration(r.ETA), at, r.LastError)
			}
		})
	}

	switch {
	case info.ScanOff:
		out.WriteString("\nScanner: off\n")
	default:
		s := info.ScanStats
		fmt.Fprintf(&out, "\nScanner: %d objects checked, %s verified for bitrot, %d healed (%s), %d failed, paused %s under load\n",
			s.Scanned, bytesIEC(s.Verified), s.Healed, bytesIEC(s.HealedBytes), s.Failed, duration(s.Paused))
		table(&out, func(t io.Writer) {
			fmt.Fprintln(t, "SET\tSCANNED BY\tSTATE\tAT\tPASS OBJECTS\tLAST FULL PASS\tTOOK\tOBJECTS\tNEXT PASS")
			for _, st := range info.Scan {
				by := "another node"
				if st.Owned {
					by = "this node"
				}
				state, at := "idle", "-"
				if st.Scanning {
					state = "scanning"
					if st.Deep {
						state = "scanning+bitrot"
					}
					if st.Bucket != "" {
						at = st.Bucket + "/" + st.Object
					}
				}
				last, took, objs := "never", "-", "-"
				if !st.LastPassEnd.IsZero() {
					last = st.LastPassEnd.UTC().Format(time.RFC3339)
					if st.LastPassDeep {
						last += " (bitrot)"
					}
					took, objs = duration(st.LastPassTook), strconv.FormatUint(st.LastPassObjects, 10)
				}
				next := "-"
				if !st.NextPass.IsZero() {
					next = st.NextPass.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", st.Set, by, state, at, st.PassObjects, last, took, objs, next)
			}
		})
	}

	out.WriteString("\nHealed since start:\n")
	table(&out, func(t io.Writer) {
		fmt.Fprintln(t, "REASON\tOBJECTS\tSHARD BYTES\tFAILED")
		for _, h := range info.Healed {
			fmt.Fprintf(t, "%s\t%d\t%s\t%d\n", h.Reason, h.Objects, bytesIEC(h.Bytes), h.Failed)
		}
	})
	_, err := w.Write(out.Bytes())
	return err
}
