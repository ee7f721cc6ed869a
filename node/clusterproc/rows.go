package clusterproc

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Row is the one-line verdict of a chaos scenario, checked once the
// cluster is whole again (issue 13's promises): nothing acknowledged lost
// or corrupted, no acknowledged delete undone, no stale read, a listing
// that agrees, how long the cluster went without progress and the slowest
// request, how long until every object had all its shards again, and what
// the nodes were left holding.
type Row struct {
	Scenario      string
	Acked         int // writes acknowledged
	Lost          int // reads that found an acknowledged write lost or content never written
	UndoneDeletes int // reads that found an acknowledged delete undone
	StaleReads    int // reads of a superseded write
	Listing       int // listing entries that disagree with the writes
	VerifyErrors  int // reads of the verification that failed
	Stall         time.Duration
	Slowest       time.Duration
	// Redundant is the time from the end of the fault until every object
	// was held in full on every drive; 0 if that was not seen.
	Redundant       time.Duration
	Crashes         int
	GoroutineGrowth int // the most any node held more, idle, than before the scenario
	FDGrowth        int
	Failed          bool
}

// WriteRows writes rows as an aligned table with a header.
func WriteRows(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tacked writes\tlost\tdeletes undone\tstale reads\tlisting\tverify errors\tlongest stall\tslowest\tfull redundancy\tcrashes\t+goroutines\t+fds\tverdict\t")
	for _, r := range rows {
		redundant := "NOT SEEN"
		if r.Redundant > 0 {
			redundant = secs(r.Redundant)
		}
		verdict := "pass"
		if r.Failed {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", r.Scenario, r.Acked, r.Lost, r.UndoneDeletes,
			r.StaleReads, r.Listing, r.VerifyErrors, secs(r.Stall), ms(r.Slowest), redundant, r.Crashes, r.GoroutineGrowth, r.FDGrowth, verdict)
	}
	_ = tw.Flush()
}
