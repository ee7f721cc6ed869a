package clusterproc

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Op is an S3 operation of the workload.
type Op int

// The operations.
const (
	OpPut Op = iota
	OpGet
	OpDelete
	OpList
	// OpMultipart is a PUT by multipart upload: create, two or three
	// parts, complete. Each of those requests is a sample of its own in
	// the figures; the history has the upload as one write.
	OpMultipart
	numOps
)

func (o Op) String() string {
	switch o {
	case OpPut:
		return "PUT"
	case OpGet:
		return "GET"
	case OpDelete:
		return "DELETE"
	case OpList:
		return "LIST"
	case OpMultipart:
		return "MULTIPART"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Error codes the workload records besides the S3 ones.
const (
	// CodeClientTimeout: the request was not answered within the
	// workload's RequestTimeout.
	CodeClientTimeout = "ClientTimeout"
	// CodeConnection: the connection failed (refused, reset, closed early).
	CodeConnection = "ConnectionError"
	// CodeBadContent: a GET returned content the history does not allow
	// (stale, lost, corrupt): counted here as well as in the violations.
	CodeBadContent = "BadContent"
	// CodeOther: any other error without an S3 code.
	CodeOther = "OtherError"
)

// refusalCodes are the fast refusals a server may give under overload or
// without a quorum: not failures of the server, but no progress either.
var refusalCodes = map[string]bool{"SlowDown": true, "ServiceUnavailable": true}

// Sample is one request: what, which node, when it started, how long it
// took, and its error code ("" for a success).
type Sample struct {
	Op    Op
	Node  int
	Start time.Time
	Dur   time.Duration
	Code  string
	// Client says, for a request slower than slowTrace, when its HTTP
	// exchanges got a connection, wrote the request and got the first
	// byte of the answer (clientTrace); "" for the others.
	Client string
}

// slowTrace is the time after which a request's sample keeps its client
// trace.
const slowTrace = 2 * time.Second

func (s Sample) end() time.Time { return s.Start.Add(s.Dur) }

// Stats records every request of a workload.
type Stats struct {
	mu      sync.Mutex
	samples []Sample
}

// Record adds a request.
func (s *Stats) Record(sm Sample) {
	s.mu.Lock()
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
}

// Samples returns the requests that started in [from, to).
func (s *Stats) Samples(from, to time.Time) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sample
	for _, sm := range s.samples {
		if !sm.Start.Before(from) && sm.Start.Before(to) {
			out = append(out, sm)
		}
	}
	return out
}

// OpSummary sums up the requests of one operation.
type OpSummary struct {
	Op             Op
	Count, OK      int
	P50, P90, P99  time.Duration // of every request, failed ones included
	Max            time.Duration
	Errors         map[string]int // by code
	LongestNoOK    time.Duration  // longest window without a success of this op
	SlowestRequest Sample
}

// Summary is a workload's requests over a window.
type Summary struct {
	From, To time.Time
	Ops      [numOps]OpSummary
	// LongestStall is the longest window within [From, To] in which no
	// request of any kind succeeded; StallStart is where it began.
	LongestStall time.Duration
	StallStart   time.Time
	Max          Sample // the slowest request
}

// Summarize sums up the requests that started in [from, to). Windows
// without progress are measured over [from, to] by the ends of successful
// requests (whenever they started).
func (s *Stats) Summarize(from, to time.Time) Summary {
	sum := Summary{From: from, To: to}
	s.mu.Lock()
	all := slices.Clone(s.samples)
	s.mu.Unlock()
	var okEnds [numOps][]time.Time
	var anyOK []time.Time
	durs := make([][]time.Duration, numOps)
	for i := range sum.Ops {
		sum.Ops[i] = OpSummary{Op: Op(i), Errors: map[string]int{}}
	}
	for _, sm := range all {
		if sm.Code == "" {
			okEnds[sm.Op] = append(okEnds[sm.Op], sm.end())
			anyOK = append(anyOK, sm.end())
		}
		if sm.Start.Before(from) || !sm.Start.Before(to) {
			continue
		}
		o := &sum.Ops[sm.Op]
		o.Count++
		durs[sm.Op] = append(durs[sm.Op], sm.Dur)
		if sm.Code == "" {
			o.OK++
		} else {
			o.Errors[sm.Code]++
		}
		if sm.Dur > o.Max {
			o.Max, o.SlowestRequest = sm.Dur, sm
		}
		if sm.Dur > sum.Max.Dur {
			sum.Max = sm
		}
	}
	for i := range sum.Ops {
		o := &sum.Ops[i]
		slices.Sort(durs[i])
		o.P50, o.P90, o.P99 = percentile(durs[i], 50), percentile(durs[i], 90), percentile(durs[i], 99)
		o.LongestNoOK, _ = longestGap(okEnds[i], from, to)
	}
	sum.LongestStall, sum.StallStart = longestGap(anyOK, from, to)
	return sum
}

// percentile is the p-th percentile of sorted ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	rank := (p*len(ds) + 99) / 100
	return ds[max(rank-1, 0)]
}

// longestGap is the longest interval of [from, to] containing none of
// marks, and where it starts.
func longestGap(marks []time.Time, from, to time.Time) (time.Duration, time.Time) {
	in := make([]time.Time, 0, len(marks)+2)
	in = append(in, from)
	for _, m := range marks {
		if m.After(from) && m.Before(to) {
			in = append(in, m)
		}
	}
	in = append(in, to)
	slices.SortFunc(in, func(a, b time.Time) int { return a.Compare(b) })
	var gap time.Duration
	var at time.Time
	for i := 1; i < len(in); i++ {
		if d := in[i].Sub(in[i-1]); d > gap {
			gap, at = d, in[i-1]
		}
	}
	return gap, at
}

// Targets are latency goals a summary is printed against (issue 12's).
type Targets struct {
	P99        time.Duration // per operation
	MaxRequest time.Duration
	MaxStall   time.Duration
}

// Issue12Targets are issue 12's goals for one paused or dead node.
var Issue12Targets = Targets{P99: 3 * time.Second, MaxRequest: 5 * time.Second, MaxStall: 30 * time.Second}

// Table renders the summary as a table, one row per operation, with the
// targets' verdicts when tg is not zero.
func (sum Summary) Table(title string, tg Targets) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s .. %s, %.1f s)\n", title, sum.From.Format("15:04:05.0"), sum.To.Format("15:04:05.0"), sum.To.Sub(sum.From).Seconds())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcount\tok\tp50\tp90\tp99\tmax\tlongest no-ok\terrors by code\t")
	for _, o := range sum.Ops {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", o.Op, o.Count, o.OK,
			ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max), secs(o.LongestNoOK), codes(o.Errors))
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "longest window without any successful request: %s (from %s)\n", secs(sum.LongestStall), sum.StallStart.Format("15:04:05.0"))
	if sum.Max.Dur > 0 {
		fmt.Fprintf(&b, "slowest request: %s to node %d at %s took %s (%s)\n", sum.Max.Op, sum.Max.Node, sum.Max.Start.Format("15:04:05.0"), ms(sum.Max.Dur), codeOrOK(sum.Max.Code))
	}
	if tg != (Targets{}) {
		var misses []string
		for _, o := range sum.Ops {
			if o.Count > 0 && o.P99 > tg.P99 {
				misses = append(misses, fmt.Sprintf("%s p99 %s > %s", o.Op, ms(o.P99), ms(tg.P99)))
			}
		}
		if sum.Max.Dur > tg.MaxRequest {
			misses = append(misses, fmt.Sprintf("slowest request %s > %s", ms(sum.Max.Dur), ms(tg.MaxRequest)))
		}
		if sum.LongestStall > tg.MaxStall {
			misses = append(misses, fmt.Sprintf("window without progress %s > %s", secs(sum.LongestStall), secs(tg.MaxStall)))
		}
		verdict := "meets"
		if len(misses) > 0 {
			verdict = "MISSES: " + strings.Join(misses, "; ")
		}
		fmt.Fprintf(&b, "targets (p99 < %s, no request over %s, no window over %s): %s\n", ms(tg.P99), ms(tg.MaxRequest), secs(tg.MaxStall), verdict)
	}
	return b.String()
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func codeOrOK(code string) string {
	if code == "" {
		return "ok"
	}
	return code
}

// codes renders errors by code, the most frequent first.
func codes(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		mark := ""
		if refusalCodes[k] {
			mark = " (refusal)"
		}
		parts[i] = fmt.Sprintf("%s %d%s", k, m[k], mark)
	}
	return strings.Join(parts, ", ")
}
