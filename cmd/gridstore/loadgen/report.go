package loadgen

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a run measured.
type Result struct {
	Endpoints []string `json:"endpoints"`
	Bucket    string   `json:"bucket"`
	Prefix    string   `json:"prefix"`
	Mix       string   `json:"mix"`
	Sizes     string   `json:"size"`
	Clients   int      `json:"clients"`
	Verify    float64  `json:"verify_fraction"`
	Signing   string   `json:"payload_signing"`
	Seed      uint64   `json:"seed"`

	Prepared       int     `json:"prepared_objects"`
	PrepareSeconds float64 `json:"prepare_seconds"`
	// Seconds is the measured phase's wall time: from the first operation
	// to the end of the last one.
	Seconds     float64 `json:"seconds"`
	Interrupted bool    `json:"interrupted"`

	Ops    []OpSummary   `json:"ops"`
	Series []SeriesPoint `json:"series"`

	Deleted int64 `json:"deleted_objects"`
	Kept    bool  `json:"kept"`
}

// OpSummary is one operation type's figures over the measured phase.
// Throughput and latencies count successful operations; errors are apart.
type OpSummary struct {
	Op        string  `json:"op"`
	Ops       int64   `json:"ops"`
	Bytes     int64   `json:"bytes"`
	OpsPerSec float64 `json:"ops_per_sec"`
	MiBPerSec float64 `json:"mib_per_sec"`
	MeanMs    float64 `json:"latency_mean_ms"`
	P50Ms     float64 `json:"latency_p50_ms"`
	P90Ms     float64 `json:"latency_p90_ms"`
	P99Ms     float64 `json:"latency_p99_ms"`
	MaxMs     float64 `json:"latency_max_ms"`
	// Errors counts the failed operations but SlowDown answers (the
	// store shedding load), which SlowDown counts.
	Errors     int64        `json:"errors"`
	SlowDown   int64        `json:"slowdown"`
	ErrorCodes []ErrorCount `json:"error_codes,omitempty"`
	// Verified is how many GETs had their bytes checked against the
	// checksum recorded at PUT.
	Verified int64 `json:"verified"`
}

// ErrorCount is how often one error code came, with the first message.
type ErrorCount struct {
	Code  string `json:"code"`
	Count int64  `json:"count"`
	First string `json:"first_message"`
}

// SeriesPoint is one operation type over one interval (a second by
// default) of the measured phase.
type SeriesPoint struct {
	Second        float64 `json:"second"` // elapsed at the interval's end
	Op            string  `json:"op"`
	Ops           int64   `json:"ops"`
	Bytes         int64   `json:"bytes"`
	OpsPerSec     float64 `json:"ops_per_sec"`
	MiBPerSec     float64 `json:"mib_per_sec"`
	Errors        int64   `json:"errors"`
	SlowDown      int64   `json:"slowdown"`
	MeanLatencyMs float64 `json:"latency_mean_ms"`
	MaxLatencyMs  float64 `json:"latency_max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func summarize(op Op, h *histogram, live *liveCounters, errs map[string]*ErrorCount, verified int64, seconds float64) OpSummary {
	s := OpSummary{
		Op:       op.String(),
		Ops:      live.ops.Load(),
		Bytes:    live.bytes.Load(),
		MeanMs:   ms(h.mean()),
		P50Ms:    ms(h.percentile(0.50)),
		P90Ms:    ms(h.percentile(0.90)),
		P99Ms:    ms(h.percentile(0.99)),
		MaxMs:    ms(h.max),
		Errors:   live.errors.Load(),
		SlowDown: live.slowdown.Load(),
		Verified: verified,
	}
	if seconds > 0 {
		s.OpsPerSec = float64(s.Ops) / seconds
		s.MiBPerSec = float64(s.Bytes) / seconds / (1 << 20)
	}
	for _, e := range errs {
		s.ErrorCodes = append(s.ErrorCodes, *e)
	}
	slices.SortFunc(s.ErrorCodes, func(a, b ErrorCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Code, b.Code)
	})
	return s
}

// WriteTable writes the human summary: one row per operation type, then
// the errors by code.
func (r *Result) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "\n%s, %d clients, size %s, %.1f s", r.Mix, r.Clients, r.Sizes, r.Seconds)
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintf(w, "\nendpoints %s, bucket %s, body %s\n", strings.Join(r.Endpoints, " "), r.Bucket, r.Signing)
	if r.Prepared > 0 {
		fmt.Fprintf(w, "prepared %d objects in %.1f s (not measured)\n", r.Prepared, r.PrepareSeconds)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tops\tops/s\tMiB/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tslowdown\tverified\t")
	for _, s := range r.Ops {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t\n",
			s.Op, s.Ops, s.OpsPerSec, s.MiBPerSec, s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs,
			s.Errors, s.SlowDown, s.Verified)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Ops {
		for _, e := range s.ErrorCodes {
			fmt.Fprintf(w, "  %s %s: %d (first: %s)\n", s.Op, e.Code, e.Count, e.First)
		}
	}
	switch {
	case r.Kept:
		fmt.Fprintf(w, "kept: bucket %s, objects under %s\n", r.Bucket, r.Prefix)
	default:
		fmt.Fprintf(w, "cleaned up: %d objects deleted\n", r.Deleted)
	}
	return nil
}

// WriteJSON writes the whole result, series included.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// summaryHeader is the per-operation CSV's columns.
var summaryHeader = []string{"op", "ops", "seconds", "ops_per_sec", "mib_per_sec",
	"latency_mean_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms",
	"errors", "slowdown", "verified", "clients", "size"}

// WriteSummaryCSV writes one row per operation type.
func (r *Result) WriteSummaryCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(summaryHeader)
	for _, s := range r.Ops {
		_ = cw.Write([]string{s.Op, itoa(s.Ops), ftoa(r.Seconds), ftoa(s.OpsPerSec), ftoa(s.MiBPerSec),
			ftoa(s.MeanMs), ftoa(s.P50Ms), ftoa(s.P90Ms), ftoa(s.P99Ms), ftoa(s.MaxMs),
			itoa(s.Errors), itoa(s.SlowDown), itoa(s.Verified), strconv.Itoa(r.Clients), r.Sizes})
	}
	cw.Flush()
	return cw.Error()
}

// WriteSeriesCSV writes the time series: one row per interval and
// operation type, for plots.
func (r *Result) WriteSeriesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"second", "op", "ops", "ops_per_sec", "mib_per_sec", "errors", "slowdown",
		"latency_mean_ms", "latency_max_ms"})
	for _, p := range r.Series {
		_ = cw.Write([]string{ftoa(p.Second), p.Op, itoa(p.Ops), ftoa(p.OpsPerSec), ftoa(p.MiBPerSec),
			itoa(p.Errors), itoa(p.SlowDown), ftoa(p.MeanLatencyMs), ftoa(p.MaxLatencyMs)})
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int64) string   { return strconv.FormatInt(n, 10) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
