package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/healqueue"
	"github.com/gridstore/gridstore/storage"
)

// Namespace prefixes every metric name.
const Namespace = "gridstore"

// SourceTimeout bounds each source's call during a scrape: Prometheus' own
// scrape timeout defaults to 10 s, and a slow drive or set probe must not
// make the whole scrape fail.
const SourceTimeout = 2 * time.Second

// DurationBuckets are the buckets of s3_request_duration_seconds: from 1 ms
// (a small GET served from the page cache) to 60 s (a large upload part or a
// request waiting out a drive deadline).
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Sources are pulled at scrape time; any may be nil.
type Sources struct {
	// Grid returns this node's grid peers (grid.Manager.Stats).
	Grid func() []grid.PeerStats
	// LocalDrives returns this node's drives (Online false when unreachable).
	LocalDrives func(ctx context.Context) []storage.DiskInfo
	// Sets returns the state of every erasure set (object.Layer.Health).
	Sets func(ctx context.Context) []object.SetHealth
	// Heal returns the heal queue's counters (healqueue.Queue.Stats). It
	// must not block: it is called on the scrape's goroutine.
	Heal func() healqueue.Stats
	// HealInfo returns what the node heals (admin heal's answer): the
	// heal_* families by reason, rebuild progress, the scanner. It must
	// not block.
	HealInfo func() admin.HealInfo
	// Timeout bounds each source's call during a scrape; 0 means
	// SourceTimeout.
	Timeout time.Duration
}

// Metrics holds a node's metrics and the registry they are served from.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	received   *prometheus.CounterVec
	sent       *prometheus.CounterVec
	quorumErrs *prometheus.CounterVec
	refused    prometheus.Counter

	// children caches the child metrics of each (api, status) pair:
	// WithLabelValues hashes the labels and (for status) needs the number
	// formatted, which allocates; a map lookup under a read lock does not.
	mu       sync.RWMutex
	children map[reqKey]*reqChildren
}

type reqKey struct {
	api    string
	status int
}

type reqChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
	received prometheus.Counter
	sent     prometheus.Counter
	quorum   prometheus.Counter
}

// New returns the metrics of a node, registered in a registry of their own
// together with the Go runtime and process collectors.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "s3_requests_total",
			Help: "S3 requests served, by API and HTTP status.",
		}, []string{"api", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "s3_request_duration_seconds",
			Help:    "Time to serve an S3 request, from its headers to the last byte of the answer.",
			Buckets: DurationBuckets,
		}, []string{"api"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "s3_received_bytes_total",
			Help: "Bytes of S3 request bodies received.",
		}, []string{"api"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "s3_sent_bytes_total",
			Help: "Bytes of S3 response bodies sent.",
		}, []string{"api"}),
		quorumErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "quorum_errors_total",
			Help: "S3 requests that failed because a set lacked read or write quorum.",
		}, []string{"api"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "s3_requests_refused_total",
			Help: "S3 requests refused with SlowDown because the node was at its limit of requests or request memory.",
		}),
		children: make(map[reqKey]*reqChildren),
	}
	m.reg.MustRegister(
		m.requests, m.duration, m.received, m.sent, m.quorumErrs, m.refused,
		newPullCollector(src),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "io_buffer_bytes", ConstLabels: prometheus.Labels{"state": "in_use"},
			Help: "Bytes of the data path's I/O buffers (outside the Go heap, internal/iobuf), by state: in_use by requests, idle kept for reuse.",
		}, func() float64 { return float64(iobuf.ReadStats().InUse) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "io_buffer_bytes", ConstLabels: prometheus.Labels{"state": "idle"},
			Help: "Bytes of the data path's I/O buffers (outside the Go heap, internal/iobuf), by state: in_use by requests, idle kept for reuse.",
		}, func() float64 { return float64(iobuf.ReadStats().Idle) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "io_buffer_maps_total",
			Help: "I/O buffers mapped because none of their size was idle.",
		}, func() float64 { return float64(iobuf.ReadStats().Maps) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "io_buffer_bad_returns_total",
			Help: "Returns of an I/O buffer that was not out (returned twice): a bug wherever it is not 0.",
		}, func() float64 { return float64(iobuf.ReadStats().BadPuts) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// RequestRefused counts an S3 request refused at admission.
func (m *Metrics) RequestRefused() { m.refused.Inc() }

// ObserveRequest records one S3 request: api is the operation name (one of
// a small fixed set: it becomes a label), status the HTTP status answered,
// d the time it took, bytesIn and bytesOut the body bytes received and
// sent, quorumLost whether it failed for lack of read or write quorum.
func (m *Metrics) ObserveRequest(api string, status int, d time.Duration, bytesIn, bytesOut int64, quorumLost bool) {
	c := m.child(api, status)
	c.requests.Inc()
	c.duration.Observe(d.Seconds())
	if bytesIn > 0 {
		c.received.Add(float64(bytesIn))
	}
	if bytesOut > 0 {
		c.sent.Add(float64(bytesOut))
	}
	if quorumLost {
		c.quorum.Inc()
	}
}

func (m *Metrics) child(api string, status int) *reqChildren {
	k := reqKey{api, status}
	m.mu.RLock()
	c := m.children[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.children[k]; c != nil {
		return c
	}
	c = &reqChildren{
		requests: m.requests.WithLabelValues(api, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(api),
		received: m.received.WithLabelValues(api),
		sent:     m.sent.WithLabelValues(api),
		quorum:   m.quorumErrs.WithLabelValues(api),
	}
	m.children[k] = c
	return c
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector error (which the pull collector does not produce,
		// but the process collector can on unusual systems) should cost
		// its own metrics, not the whole page.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// Registry returns the registry the metrics are registered in, for tests
// and for callers that add metrics of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
