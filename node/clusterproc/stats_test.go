package clusterproc

import (
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var s Stats
	ms := time.Millisecond
	// 100 GETs of 1..100 ms, one a second from base; a PUT that fails
	// with SlowDown; no success between base+40s and base+61s.
	for i := range 100 {
		if i > 40 && i <= 60 {
			continue
		}
		s.Record(Sample{Op: OpGet, Start: base.Add(time.Duration(i) * time.Second), Dur: time.Duration(i+1) * ms})
	}
	s.Record(Sample{Op: OpPut, Node: 2, Start: base.Add(45 * time.Second), Dur: 3 * ms, Code: "SlowDown"})
	sum := s.Summarize(base, base.Add(100*time.Second))
	g := sum.Ops[OpGet]
	if g.Count != 80 || g.OK != 80 {
		t.Errorf("GET count/ok = %d/%d, want 80/80", g.Count, g.OK)
	}
	if g.Max != 100*ms || g.P50 != 40*ms {
		t.Errorf("GET max %s p50 %s; want 100ms and 40ms", g.Max, g.P50)
	}
	p := sum.Ops[OpPut]
	if p.Count != 1 || p.OK != 0 || p.Errors["SlowDown"] != 1 {
		t.Errorf("PUT summary %+v", p)
	}
	// Last success before the gap ends at 40 s + 41 ms, first after at
	// 61 s + 62 ms.
	if want := 21*time.Second + 21*ms; sum.LongestStall != want {
		t.Errorf("longest stall %s, want %s", sum.LongestStall, want)
	}
	table := sum.Table("test", Issue12Targets)
	for _, want := range []string{"GET", "SlowDown 1 (refusal)", "): meets"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if sum := s.Summarize(base, base.Add(200*time.Second)); !strings.Contains(sum.Table("t", Issue12Targets), "MISSES: window without progress") {
		t.Errorf("a 100 s tail without success should miss the targets")
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 5}, {90, 9}, {99, 10}, {100, 10}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%d = %d, want %d", c.p, got, c.want)
		}
	}
	if percentile(nil, 99) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}
