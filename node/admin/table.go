package admin

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridstore/gridstore/grid"
)

// WriteInfoTable writes info as text tables for a terminal: the nodes (up
// or down), the drives (online, free and total space, healing), the
// answering node's grid connections and the sets (data+parity, quorums,
// whether reads and writes are possible), ending with one line that says
// whether the deployment accepts writes.
func WriteInfoTable(w io.Writer, info *Info) error {
	var out bytes.Buffer
	fmt.Fprintf(&out, "Deployment %s, answered by %s\n", orDash(info.DeploymentID), orDash(info.Node))

	up := 0
	for _, n := range info.Nodes {
		if n.State == NodeUp {
			up++
		}
	}
	online, faulty, onNode, ofNode := 0, 0, map[string]int{}, map[string]int{}
	for _, d := range info.Drives {
		ofNode[d.Node]++
		switch d.State {
		case DriveOnline:
			online++
			onNode[d.Node]++
		case DriveFaulty:
			faulty++
		}
	}

	fmt.Fprintf(&out, "\nNodes: %d of %d up\n", up, len(info.Nodes))
	table(&out, func(t io.Writer) {
		fmt.Fprintln(t, "NODE\tSTATE\tGOSSIP\tRTT\tDRIVES ONLINE\tLAST ERROR")
		for _, n := range info.Nodes {
			rtt := duration(n.RTT)
			if n.Self {
				rtt = "(this node)"
			}
			gossip := n.Gossip
			if gossip == "" {
				gossip = "-"
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", n.Address, n.State, gossip, rtt, onNode[n.Address], ofNode[n.Address], n.LastError)
		}
	})

	fmt.Fprintf(&out, "\nDrives: %d of %d online", online, len(info.Drives))
	if faulty > 0 {
		fmt.Fprintf(&out, ", %d faulty (out of service for hanging)", faulty)
	}
	out.WriteString("\n")
	table(&out, func(t io.Writer) {
		fmt.Fprintln(t, "#\tNODE\tENDPOINT\tSET\tPOS\tSTATE\tHEALING\tFREE\tTOTAL\tTIMEOUTS\tERROR")
		for _, d := range info.Drives {
			free, total := "-", "-"
			if d.State == DriveOnline {
				free, total = bytesIEC(d.Free), bytesIEC(d.Total)
			}
			timeouts := "-"
			if d.Timeouts > 0 || d.Stuck > 0 {
				timeouts = strconv.FormatUint(d.Timeouts, 10)
				if d.Stuck > 0 {
					timeouts += fmt.Sprintf(" (%d stuck)", d.Stuck)
				}
			}
			fmt.Fprintf(t, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
				d.Index, d.Node, d.Endpoint, d.Set, d.Position, d.State, yesDash(d.Healing), free, total, timeouts, d.Error)
		}
	})

	fmt.Fprintf(&out, "\nGrid connections of %s: %d\n", orDash(info.Node), len(info.Grid))
	if len(info.Grid) > 0 {
		table(&out, func(t io.Writer) {
			fmt.Fprintln(t, "PEER\tSTATE\tRTT\tRECONNECTS\tIN FLIGHT\tLAST ACTIVE\tLAST ERROR")
			for _, g := range info.Grid {
				// The last error of a connection that is up again is
				// history (often a refused dial while the peer started);
				// shown beside "connected" it reads as a fault.
				lastErr := g.LastError
				if g.State == grid.StateConnected.String() {
					lastErr = ""
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n",
					g.Peer, g.State, duration(g.RTT), g.Reconnects, g.InFlight, duration(g.LastActive), lastErr)
			}
		})
	}

	writable, readable := 0, 0
	var noWrites []string
	for _, s := range info.Sets {
		if s.WriteQuorumAvailable {
			writable++
		} else {
			noWrites = append(noWrites, strconv.Itoa(s.Index))
		}
		if s.ReadQuorumAvailable {
			readable++
		}
	}
	fmt.Fprintf(&out, "\nSets: %d, %d readable, %d writable\n", len(info.Sets), readable, writable)
	table(&out, func(t io.Writer) {
		fmt.Fprintln(t, "SET\tDRIVES\tONLINE\tDATA+PARITY\tREAD QUORUM\tWRITE QUORUM\tREADS\tWRITES")
		for _, s := range info.Sets {
			fmt.Fprintf(t, "%d\t%d\t%d\t%d+%d\t%d\t%d\t%s\t%s\n",
				s.Index, s.Drives, s.Online, s.Drives-s.Parity, s.Parity, s.ReadQuorum, s.WriteQuorum,
				okFailed(s.ReadQuorumAvailable), okFailed(s.WriteQuorumAvailable))
		}
	})

	switch {
	case len(info.Sets) == 0:
		out.WriteString("\nWrites: unknown (no sets)\n")
	case len(noWrites) == 0:
		out.WriteString("\nWrites: possible on every set\n")
	default:
		sets := "set"
		if len(noWrites) > 1 {
			sets = "sets"
		}
		fmt.Fprintf(&out, "\nWrites: NOT possible on %s %s (write quorum lost): PUTs of objects placed there fail\n", sets, strings.Join(noWrites, ", "))
	}

	_, err := w.Write(out.Bytes())
	return err
}

// table lays out the rows fill writes, and trims the padding tabwriter
// leaves after the last non-empty cell of a row.
func table(out *bytes.Buffer, fill func(t io.Writer)) {
	var buf bytes.Buffer
	t := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fill(t)
	_ = t.Flush() // writes to a bytes.Buffer do not fail
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
}

func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

// bytesIEC formats a byte count with binary units and one decimal: "1.5 GiB".
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesDash(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func okFailed(b bool) string {
	if b {
		return "ok"
	}
	return "LOST"
}
