package clusterproc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Client returns an S3 client of node i (NewClient).
func (c *Cluster) Client(i int) *minio.Client {
	c.t.Helper()
	return NewClient(c.t, c.Addr(i), c.opts.User, c.opts.Password)
}

// NewClient returns an S3 client of the server at addr (host:port): AWS
// Signature V4 with these credentials, path-style, and no retries (a retry
// would hide a refusal and the time it took). Its idle connections are
// closed when the test ends.
func NewClient(t testing.TB, addr, user, password string) *minio.Client {
	t.Helper()
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	transportsMu.Lock()
	transports = append(transports, tr)
	transportsMu.Unlock()
	mc, err := minio.New(addr, &minio.Options{
		Creds:        credentials.NewStaticV4(user, password, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		Transport:    tr,
		MaxRetries:   1,
	})
	if err != nil {
		t.Fatalf("clusterproc: S3 client of %s: %v", addr, err)
	}
	return mc
}

// transports are those of every client NewClient made.
var (
	transportsMu sync.Mutex
	transports   []*http.Transport
)

// CloseIdleConnections closes the idle connections of every client
// NewClient made, so that a server's count of goroutines and file
// descriptors shows what it holds of its own.
func CloseIdleConnections() {
	transportsMu.Lock()
	defer transportsMu.Unlock()
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
}

// Servers is what a Workload runs against: a Cluster of processes, or any
// other set of S3 servers of one deployment (containers of
// docker-compose.yml, say).
type Servers interface {
	// Nodes is the number of servers; they are numbered from 0.
	Nodes() int
	// Client is an S3 client of server i (NewClient).
	Client(i int) *minio.Client
}

// WorkloadConfig configures a Workload; zero fields take the defaults.
type WorkloadConfig struct {
	// Clients is the number of concurrent clients (16).
	Clients int
	// Bucket is created by NewWorkload ("chaos").
	Bucket string
	// Keys is the number of distinct keys the clients share (256): small
	// enough that keys are overwritten, deleted and read back often.
	Keys int
	// MaxSize bounds an object's size (4 MiB). Sizes are spread from 0 B
	// to MaxSize, most of them small.
	MaxSize int
	// Mix weighs the operations (PUT 35, GET 45, DELETE 10, LIST 10,
	// MULTIPART 2).
	Mix [numOps]int
	// PartSize is the size of every part of a multipart upload but the
	// last, which is up to as big again (5 MiB: S3's least, which the
	// server enforces).
	PartSize int
	// RequestTimeout is the client's patience with one request (60 s): a
	// request not answered by then is recorded as CodeClientTimeout. It is
	// long so that a hang is measured, not cut short.
	RequestTimeout time.Duration
	// HangAfter is how long a request may be in flight before OnHang is
	// called (20 s).
	HangAfter time.Duration
	// OnHang, if set, is called once, from the watchdog's goroutine, with
	// the first request found in flight for longer than HangAfter (Dur is
	// its age): the place to take goroutine dumps of the nodes.
	OnHang func(Sample)
	// Seed makes the choice of operations, keys and sizes repeatable (the
	// timing is not); 0 picks one at random.
	Seed uint64
}

func (cfg *WorkloadConfig) fill() {
	if cfg.Clients <= 0 {
		cfg.Clients = 16
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "chaos"
	}
	if cfg.Keys <= 0 {
		cfg.Keys = 256
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 4 << 20
	}
	if cfg.Mix == [numOps]int{} {
		cfg.Mix = [numOps]int{OpPut: 35, OpGet: 45, OpDelete: 10, OpList: 10, OpMultipart: 2}
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = 5 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.HangAfter <= 0 {
		cfg.HangAfter = 20 * time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = mrand.Uint64()
	}
}

// Workload runs S3 clients against a Cluster and records what they were
// told (History) and how long it took (Stats). Every GET's answer is checked
// against the History as it comes; Verify checks every key once the load has
// stopped.
type Workload struct {
	cfg     WorkloadConfig
	clients []*minio.Client // one per node
	cores   []minio.Core    // the same, for multipart calls
	hist    *History
	stats   *Stats

	targets  atomic.Pointer[[]int] // the nodes new requests go to
	inflight []atomic.Int64        // requests in flight per node

	mu         sync.Mutex
	violations []error
	current    []Sample // per client: the request in flight, Start zero if none
	hung       bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewWorkload prepares a workload on c (every node a target) and creates its
// bucket, retrying for up to 30 s while the cluster settles.
func NewWorkload(t testing.TB, c Servers, cfg WorkloadConfig) *Workload {
	t.Helper()
	cfg.fill()
	w := &Workload{cfg: cfg, hist: NewHistory(), stats: &Stats{}, inflight: make([]atomic.Int64, c.Nodes())}
	for i := range c.Nodes() {
		mc := c.Client(i)
		w.clients = append(w.clients, mc)
		w.cores = append(w.cores, minio.Core{Client: mc})
	}
	all := make([]int, c.Nodes())
	for i := range all {
		all[i] = i
	}
	w.targets.Store(&all)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.clients[0].MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{})
		cancel()
		if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clusterproc: create bucket %s: %v", cfg.Bucket, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return w
}

// History is the record of every write.
func (w *Workload) History() *History { return w.hist }

// Stats is the record of every request.
func (w *Workload) Stats() *Stats { return w.stats }

// Config is the workload's configuration with the defaults filled in.
func (w *Workload) Config() WorkloadConfig { return w.cfg }

// Violations are the reads found wrong so far (see History.Check).
func (w *Workload) Violations() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.violations)
}

// SetTargets sends new requests to these nodes only.
func (w *Workload) SetTargets(nodes ...int) {
	ns := slices.Clone(nodes)
	w.targets.Store(&ns)
}

// Exclude takes node i out of the targets, as a load balancer would, and
// waits up to timeout for the requests in flight to it to end. It returns
// how many were still in flight at the timeout.
func (w *Workload) Exclude(i int, timeout time.Duration) int64 {
	var rest []int
	for _, n := range *w.targets.Load() {
		if n != i {
			rest = append(rest, n)
		}
	}
	w.SetTargets(rest...)
	deadline := time.Now().Add(timeout)
	for w.inflight[i].Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return w.inflight[i].Load()
}

// Include puts node i back among the targets.
func (w *Workload) Include(i int) {
	ns := *w.targets.Load()
	if !slices.Contains(ns, i) {
		w.SetTargets(append(slices.Clone(ns), i)...)
	}
}

// Start starts the clients; Stop ends them.
func (w *Workload) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.current = make([]Sample, w.cfg.Clients)
	for id := range w.cfg.Clients {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.runClient(ctx, id)
		}()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.watchdog(ctx)
	}()
}

// Stop stops the clients and waits for their requests in flight to end
// (each ends within RequestTimeout).
func (w *Workload) Stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	w.wg.Wait()
}

// watchdog calls OnHang once for the first request in flight longer than
// HangAfter.
func (w *Workload) watchdog(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.mu.Lock()
		var found *Sample
		for _, cur := range w.current {
			if !cur.Start.IsZero() && time.Since(cur.Start) > w.cfg.HangAfter && !w.hung {
				cur.Dur = time.Since(cur.Start)
				found = &cur
				w.hung = true
				break
			}
		}
		w.mu.Unlock()
		if found != nil && w.cfg.OnHang != nil {
			w.cfg.OnHang(*found)
		}
	}
}

// clientState is one client's own random source.
type clientState struct {
	id  int
	rng *mrand.Rand
}

func (w *Workload) runClient(ctx context.Context, id int) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], w.cfg.Seed)
	binary.LittleEndian.PutUint64(seed[8:], uint64(id))
	cs := &clientState{id: id, rng: mrand.New(mrand.NewChaCha8(seed))}
	total := 0
	for _, m := range w.cfg.Mix {
		total += m
	}
	for ctx.Err() == nil {
		pick := cs.rng.IntN(total)
		op := OpPut
		for o, m := range w.cfg.Mix {
			if pick < m {
				op = Op(o)
				break
			}
			pick -= m
		}
		node, ok := w.acquire(cs)
		if !ok {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		w.do(ctx, cs, op, node)
		w.inflight[node].Add(-1)
	}
}

// acquire picks a target node and counts a request in flight to it; the
// count is taken before the target is confirmed, so Exclude never misses a
// request.
func (w *Workload) acquire(cs *clientState) (int, bool) {
	for range 10 {
		ts := *w.targets.Load()
		if len(ts) == 0 {
			return 0, false
		}
		node := ts[cs.rng.IntN(len(ts))]
		w.inflight[node].Add(1)
		if slices.Contains(*w.targets.Load(), node) {
			return node, true
		}
		w.inflight[node].Add(-1)
	}
	return 0, false
}

// size picks an object size: a quarter up to 1 KiB (a tenth of those
// empty), half up to 64 KiB, the rest up to MaxSize.
func (w *Workload) size(cs *clientState) int {
	switch r := cs.rng.IntN(100); {
	case r < 3:
		return 0
	case r < 25:
		return cs.rng.IntN(1 << 10)
	case r < 75:
		return cs.rng.IntN(64 << 10)
	default:
		return cs.rng.IntN(w.cfg.MaxSize + 1)
	}
}

func (w *Workload) key(cs *clientState) string {
	return fmt.Sprintf("obj-%04d", cs.rng.IntN(w.cfg.Keys))
}

// do runs one request and records it.
func (w *Workload) do(ctx context.Context, cs *clientState, op Op, node int) {
	start := time.Now()
	w.mu.Lock()
	w.current[cs.id] = Sample{Op: op, Node: node, Start: start}
	w.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	ct := &clientTrace{start: start}
	rctx = ct.with(rctx)
	mc := w.clients[node]
	key := w.key(cs)
	var err error
	switch op {
	case OpPut:
		n := w.size(cs)
		// A fresh buffer each time: net/http may still be sending the
		// body after the answer came (a server that refuses early), so
		// a reused one would be overwritten under it.
		data := make([]byte, n)
		fill(cs.rng, data)
		rec := w.hist.BeginPut(key, sha256.Sum256(data), int64(n), node)
		start = rec.Start
		_, err = mc.PutObject(rctx, w.cfg.Bucket, key, bytes.NewReader(data), int64(n), minio.PutObjectOptions{DisableMultipart: true})
		w.hist.End(rec, err)
	case OpMultipart:
		// Each request of the upload is a sample of its own (and is
		// what the watchdog times): an upload is several requests.
		w.multipart(rctx, cs, node, key, func(start time.Time) {
			w.mu.Lock()
			w.current[cs.id] = Sample{Op: op, Node: node, Start: start}
			w.mu.Unlock()
		}, func(start time.Time, err error) {
			w.record(ctx, Sample{Op: op, Node: node, Start: start, Dur: time.Since(start), Code: errorCode(err)})
		})
		w.mu.Lock()
		w.current[cs.id] = Sample{}
		w.mu.Unlock()
		return
	case OpDelete:
		rec := w.hist.BeginDelete(key, node)
		start = rec.Start
		err = mc.RemoveObject(rctx, w.cfg.Bucket, key, minio.RemoveObjectOptions{})
		w.hist.End(rec, err)
	case OpGet:
		var obs Observation
		obs, err = getObject(rctx, mc, w.cfg.Bucket, key)
		if err == nil {
			if verr := w.hist.Check(key, obs, start, time.Now()); verr != nil {
				w.mu.Lock()
				w.violations = append(w.violations, fmt.Errorf("GET via node %d: %w", node, verr))
				w.mu.Unlock()
				err = errBadContent
			}
		}
	case OpList:
		err = listAll(rctx, mc, w.cfg.Bucket, func(string) {})
	}
	dur := time.Since(start)
	w.mu.Lock()
	w.current[cs.id] = Sample{}
	w.mu.Unlock()
	sm := Sample{Op: op, Node: node, Start: start, Dur: dur, Code: errorCode(err)}
	if dur > slowTrace {
		sm.Client = ct.String()
	}
	w.record(ctx, sm)
}

// record records a request's sample unless Stop (ctx) cut it: such a
// request says nothing about the server.
func (w *Workload) record(ctx context.Context, sm Sample) {
	if ctx.Err() != nil && sm.Code != "" {
		return
	}
	w.stats.Record(sm)
}

var errBadContent = errors.New("content the history does not allow")

// multipart uploads key in two or three parts through node and records it
// in the history as one PUT, from the creation of the upload to its
// completion (the object may appear at any point of that). Each request
// (create, every part, complete) is begun with begin and ended with done,
// which time it. An upload that fails is aborted, best effort: what it
// leaves is the server's to expire.
func (w *Workload) multipart(ctx context.Context, cs *clientState, node int, key string, begin func(time.Time), done func(time.Time, error)) {
	core := w.cores[node]
	nparts := 2 + cs.rng.IntN(2)
	sizes := make([]int, nparts)
	total := 0
	for i := range sizes {
		sizes[i] = w.cfg.PartSize
		if i == nparts-1 {
			sizes[i] = 1 + cs.rng.IntN(w.cfg.PartSize)
		}
		total += sizes[i]
	}
	data := make([]byte, total)
	fill(cs.rng, data)
	rec := w.hist.BeginPut(key, sha256.Sum256(data), int64(total), node)
	// request runs one request of the upload as a sample.
	request := func(f func() error) error {
		start := time.Now()
		begin(start)
		err := f()
		done(start, err)
		return err
	}
	err := func() error {
		var id string
		if err := request(func() (err error) {
			id, err = core.NewMultipartUpload(ctx, w.cfg.Bucket, key, minio.PutObjectOptions{})
			return err
		}); err != nil {
			return err
		}
		parts := make([]minio.CompletePart, nparts)
		off := 0
		for i, n := range sizes {
			if err := w.stillTargeted(key, id, node); err != nil {
				return err
			}
			var p minio.ObjectPart
			if err := request(func() (err error) {
				p, err = core.PutObjectPart(ctx, w.cfg.Bucket, key, id, i+1, bytes.NewReader(data[off:off+n]), int64(n), minio.PutObjectPartOptions{})
				return err
			}); err != nil {
				w.abort(key, id, node)
				return err
			}
			parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: p.ETag}
			off += n
		}
		if err := w.stillTargeted(key, id, node); err != nil {
			return err
		}
		if err := request(func() error {
			_, err := core.CompleteMultipartUpload(ctx, w.cfg.Bucket, key, id, parts, minio.PutObjectOptions{})
			return err
		}); err != nil {
			if code := minio.ToErrorResponse(err).Code; code == "InvalidPart" || code == "NoSuchUpload" {
				// Every part was acknowledged with the ETag sent: the
				// server lost one, or the upload.
				w.mu.Lock()
				w.violations = append(w.violations, fmt.Errorf("%w: multipart upload %s of %q via node %d: every part acknowledged, Complete says %s: %v",
					ErrLost, id, key, node, code, err))
				w.mu.Unlock()
			}
			w.abort(key, id, node)
			return err
		}
		return nil
	}()
	w.hist.End(rec, err)
}

// errDrained: an upload gave up because its node left the targets.
var errDrained = errors.New("multipart upload given up: its node left the targets")

// stillTargeted aborts the upload and returns errDrained if node is no
// longer a target. An upload is several requests to one node, which can
// take longer together than Exclude waits on a loaded machine; a client
// whose node is drained starts again elsewhere rather than going on.
func (w *Workload) stillTargeted(key, id string, node int) error {
	if slices.Contains(*w.targets.Load(), node) {
		return nil
	}
	w.abort(key, id, node)
	return errDrained
}

// abort aborts an upload that failed, on a context of its own (the
// request's may be what ended it), without waiting for long.
func (w *Workload) abort(key, id string, node int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.cores[node].AbortMultipartUpload(ctx, w.cfg.Bucket, key, id)
}

// fill writes random bytes into b (incompressible, unique per PUT).
func fill(rng *mrand.Rand, b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, rng.Uint64())
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

// getObject reads key whole and returns what it found: absent for
// NoSuchKey, else the content's hash and size.
func getObject(ctx context.Context, mc *minio.Client, bucket, key string) (Observation, error) {
	obj, err := mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return Observation{}, err
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return Observation{}, nil
		}
		return Observation{}, err
	}
	o := Observation{Found: true, Size: n}
	h.Sum(o.Sum[:0])
	return o, nil
}

// listAll lists the bucket whole, calling fn with every key.
func listAll(ctx context.Context, mc *minio.Client, bucket string, fn func(string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine if we return early
	for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		fn(obj.Key)
	}
	return ctx.Err()
}

// errorCode is the S3 error code of err, or one of the workload's own codes,
// "" for nil.
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, errBadContent) {
		return CodeBadContent
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return CodeClientTimeout
	}
	if code := minio.ToErrorResponse(err).Code; code != "" {
		return code
	}
	var nerr net.Error
	var operr *net.OpError
	if errors.As(err, &operr) || errors.As(err, &nerr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return CodeConnection
	}
	return CodeOther
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Keys       int     // keys checked
	Present    int     // keys found with content
	Violations []error // reads the history does not allow
	Listing    []error // listing entries it does not allow, and keys missing from the listing
	Errors     []error // reads that failed (no verdict)
	Took       time.Duration
}

// Verify reads every key the workload wrote (through node, with the load
// stopped) and checks each against the history, then lists the bucket and
// checks that it shows exactly the keys that must be there. A read that
// fails is retried for up to 10 s before it counts as an error.
func (w *Workload) Verify(ctx context.Context, node int) VerifyReport {
	start := time.Now()
	var rep VerifyReport
	mc := w.clients[node]
	for _, key := range w.hist.Keys() {
		rep.Keys++
		var obs Observation
		var err error
		var gs time.Time
		for deadline := time.Now().Add(10 * time.Second); ; {
			gs = time.Now()
			rctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
			obs, err = getObject(rctx, mc, w.cfg.Bucket, key)
			cancel()
			if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Errorf("verify GET %q via node %d: %w", key, node, err))
			continue
		}
		if obs.Found {
			rep.Present++
		}
		if verr := w.hist.Check(key, obs, gs, time.Now()); verr != nil {
			rep.Violations = append(rep.Violations, fmt.Errorf("verify: %w", verr))
		}
	}
	listed := map[string]bool{}
	ls := time.Now()
	rctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	err := listAll(rctx, mc, w.cfg.Bucket, func(k string) { listed[k] = true })
	cancel()
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Errorf("verify LIST via node %d: %w", node, err))
	} else {
		for _, key := range w.hist.Keys() {
			switch p := w.hist.PresenceAt(key, ls); {
			case p == Present && !listed[key]:
				rep.Listing = append(rep.Listing, fmt.Errorf("verify: %w: listing lacks %q, whose acknowledged PUT is its latest write", ErrLost, key))
			case p == Absent && listed[key]:
				rep.Listing = append(rep.Listing, fmt.Errorf("verify: %w: listing shows %q, whose acknowledged DELETE is its latest write", ErrStale, key))
			}
			delete(listed, key)
		}
		for k := range listed {
			rep.Listing = append(rep.Listing, fmt.Errorf("verify: %w: listing shows %q, never written", ErrCorrupt, k))
		}
	}
	rep.Took = time.Since(start)
	return rep
}

// Verified fails t for every violation and error of rep and logs a line of
// what was checked.
func (rep VerifyReport) Verified(t testing.TB) {
	t.Helper()
	t.Logf("verify: %d keys read (%d present), listing compared, in %s: %d violations, %d listing mismatches, %d errors",
		rep.Keys, rep.Present, rep.Took.Round(time.Millisecond), len(rep.Violations), len(rep.Listing), len(rep.Errors))
	for _, v := range rep.Violations {
		t.Errorf("%v", v)
	}
	for _, v := range rep.Listing {
		t.Errorf("%v", v)
	}
	for _, e := range rep.Errors {
		t.Errorf("%v", e)
	}
}
