package loadgen

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Run runs cfg: creates the bucket if needed, puts the objects the mix
// needs (not measured), runs the load, and cleans up unless cfg.Keep.
// When ctx is cancelled (Ctrl-C) the load stops, the result covers what
// ran (Result.Interrupted) and the cleanup still happens. The error is
// non-nil when the run could not start, or when the cleanup failed (then
// with the result).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r, err := newRun(cfg)
	if err != nil {
		return nil, err
	}
	defer r.closeIdle()

	if err := r.setupBucket(ctx); err != nil {
		return nil, err
	}
	res, runErr := r.prepareAndMeasure(ctx)
	if res != nil {
		res.Bucket, res.Prefix = r.bucket, r.prefix
	}
	if r.cfg.Keep {
		if res != nil {
			res.Kept = true
		}
		return res, runErr
	}
	deleted, cleanErr := r.cleanup()
	if res != nil {
		res.Deleted = deleted
	}
	if cleanErr != nil {
		cleanErr = fmt.Errorf("clean up bucket %s: %w", r.bucket, cleanErr)
	}
	return res, errors.Join(runErr, cleanErr)
}

type run struct {
	cfg        Config
	clients    []*minio.Core // one per endpoint
	transports []*http.Transport
	secure     bool
	putOpts    minio.PutObjectOptions
	signing    string

	bucket        string
	prefix        string
	createdBucket bool

	src  *source
	pool pool
	seq  atomic.Int64 // the number in the next object's name

	live   [numOps]liveCounters
	errMu  sync.Mutex
	errors [numOps]map[string]*ErrorCount
}

// liveCounters are the totals the progress line and the time series read
// while the run goes; the latency percentiles come from the workers' own
// histograms, merged at the end.
type liveCounters struct {
	ops, bytes, errors, slowdown atomic.Int64
	latency                      atomic.Int64 // sum, nanoseconds
	maxLatency                   atomic.Int64 // since the last series point
}

func newRun(cfg Config) (*run, error) {
	r := &run{cfg: cfg}
	for i, e := range cfg.Endpoints {
		u, err := parseEndpoint(e)
		if err != nil {
			return nil, err
		}
		secure := u.Scheme == "https"
		if i == 0 {
			r.secure = secure
		} else if secure != r.secure {
			return nil, fmt.Errorf("%w: endpoints mix http and https", ErrConfig)
		}
		t := newTransport(cfg.Clients, secure && cfg.Insecure)
		c, err := minio.NewCore(u.Host, &minio.Options{
			Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure:    secure,
			Transport: t,
			Region:    cfg.Region,
			// A retry would hide the store's SlowDown and stretch latencies;
			// the benchmark counts each answer as it comes.
			MaxRetries:   1,
			BucketLookup: minio.BucketLookupPath,
		})
		if err != nil {
			t.CloseIdleConnections()
			r.closeIdle()
			return nil, fmt.Errorf("%w: endpoint %s: %w", ErrConfig, e, err)
		}
		r.clients = append(r.clients, c)
		r.transports = append(r.transports, t)
	}
	r.putOpts = minio.PutObjectOptions{
		ContentType:          "application/octet-stream",
		DisableContentSha256: cfg.UnsignedPayload,
	}
	switch {
	case r.secure:
		r.signing = "UNSIGNED-PAYLOAD (https)"
	case cfg.UnsignedPayload:
		r.signing = "UNSIGNED-PAYLOAD (http, --unsigned-payload)"
	default:
		r.signing = "streaming SigV4, SHA-256 of the body (http)"
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	r.cfg.Seed = seed
	var id [4]byte
	binary.LittleEndian.PutUint32(id[:], uint32(seed^seed>>32))
	runID := hex.EncodeToString(id[:])
	r.bucket = cfg.Bucket
	if r.bucket == "" {
		r.bucket = "gridstore-bench-" + runID
	}
	r.prefix = "bench-" + runID + "/"
	r.src = newSource(cfg.Sizes.Max, seed)
	for i := range r.errors {
		r.errors[i] = map[string]*ErrorCount{}
	}
	return r, nil
}

func parseEndpoint(e string) (*url.URL, error) {
	if !strings.Contains(e, "://") {
		e = "http://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("%w: endpoint %q: %w", ErrConfig, e, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("%w: endpoint %q: want http(s)://host:port", ErrConfig, e)
	}
	return u, nil
}

// newTransport keeps as many idle connections as there are clients, so
// that every client reuses its connection instead of dialling per request
// (the default of 2 idle connections per host would).
func newTransport(clients int, insecure bool) *http.Transport {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          2 * clients,
		MaxIdleConnsPerHost:   2 * clients,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		// Object data is random: compression would spend both sides' CPU.
		DisableCompression: true,
		WriteBufferSize:    64 << 10,
		ReadBufferSize:     64 << 10,
	}
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it (--insecure)
	}
	return t
}

func (r *run) closeIdle() {
	for _, t := range r.transports {
		t.CloseIdleConnections()
	}
}

func (r *run) setupBucket(ctx context.Context) error {
	c := r.clients[0].Client
	exists, err := c.BucketExists(ctx, r.bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", r.bucket, err)
	}
	if exists {
		return nil
	}
	if err := c.MakeBucket(ctx, r.bucket, minio.MakeBucketOptions{Region: r.cfg.Region}); err != nil {
		return fmt.Errorf("create bucket %s: %w", r.bucket, err)
	}
	r.createdBucket = true
	return nil
}

// newObject draws the next object to put.
func (r *run) newObject(rng *rand.Rand) *object {
	size := r.cfg.Sizes.sample(rng)
	offset := rng.Int64N(int64(len(r.src.buf)))
	return &object{
		name:   fmt.Sprintf("%s%09d", r.prefix, r.seq.Add(1)),
		size:   size,
		offset: offset,
		sum:    r.src.checksum(offset, size),
	}
}

// put uploads o from pl (reset to o's bytes).
func (r *run) put(ctx context.Context, c *minio.Core, pl *payload, o *object) error {
	pl.reset(r.src, o.offset, o.size)
	_, err := c.Client.PutObject(ctx, r.bucket, o.name, pl, o.size, r.putOpts)
	return err
}

// prepareAndMeasure puts the objects the mix needs, then runs the load.
func (r *run) prepareAndMeasure(ctx context.Context) (*Result, error) {
	res := &Result{
		Endpoints: r.cfg.Endpoints,
		Mix:       r.cfg.Mix.String(),
		Sizes:     r.cfg.Sizes.String(),
		Clients:   r.cfg.Clients,
		Verify:    r.cfg.Verify,
		Signing:   r.signing,
		Seed:      r.cfg.Seed,
	}
	if r.cfg.Mix.needsObjects() {
		start := time.Now()
		if err := r.prepare(ctx); err != nil {
			return nil, err
		}
		res.Prepared = r.pool.len()
		res.PrepareSeconds = time.Since(start).Seconds()
	}
	if ctx.Err() != nil {
		res.Interrupted = true
		return res, nil
	}
	r.measure(ctx, res)
	return res, nil
}

// prepare puts cfg.Objects objects with cfg.Clients clients. A few failed
// PUTs are tolerated (the store may shed load); more than a tenth is an
// error, as the measurement would not mean what it says.
func (r *run) prepare(ctx context.Context) error {
	var (
		next, failed atomic.Int64
		firstErr     error
		errOnce      sync.Once
		wg           sync.WaitGroup
		done         = make(chan struct{})
	)
	total := int64(r.cfg.Objects)
	for i := range r.cfg.Clients {
		c := r.clients[i%len(r.clients)]
		rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)<<32|1))
		wg.Go(func() {
			var pl payload
			for next.Add(1) <= total && ctx.Err() == nil {
				o := r.newObject(rng)
				if err := r.put(ctx, c, &pl, o); err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					continue
				}
				r.pool.add(o)
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	r.progressUntil(done, func() string {
		return fmt.Sprintf("prepare: %d of %d objects put, %d failed", r.pool.len(), total, failed.Load())
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if f := failed.Load(); f*10 > total || r.pool.len() == 0 {
		return fmt.Errorf("prepare: %d of %d PUTs failed, the first: %w", f, total, firstErr)
	}
	return nil
}

// progressUntil prints line() every interval until done is closed.
func (r *run) progressUntil(done <-chan struct{}, line func() string) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			r.printProgress(line(), true)
			return
		case <-t.C:
			r.printProgress(line(), false)
		}
	}
}

func (r *run) printProgress(line string, last bool) {
	w := r.cfg.Progress
	if w == nil {
		return
	}
	if r.cfg.ProgressTTY {
		// \r and erase to the end of the line: one line, rewritten.
		fmt.Fprintf(w, "\r%s\x1b[K", line)
		if last {
			fmt.Fprintln(w)
		}
		return
	}
	fmt.Fprintln(w, line)
}

// measure runs the workers and fills res.
func (r *run) measure(ctx context.Context, res *Result) {
	var (
		issued atomic.Int64
		wg     sync.WaitGroup
		done   = make(chan struct{})
	)
	workers := make([]*worker, r.cfg.Clients)
	start := time.Now()
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = start.Add(r.cfg.Duration)
	}
	for i := range workers {
		w := &worker{
			r:   r,
			c:   r.clients[i%len(r.clients)],
			rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)<<32|2)),
		}
		workers[i] = w
		wg.Go(func() { w.loop(ctx, deadline, &issued) })
	}
	go func() { wg.Wait(); close(done) }()

	var (
		prev     [numOps]counterSnapshot
		lastTick = start
	)
	point := func(now time.Time) string {
		interval := now.Sub(lastTick).Seconds()
		lastTick = now
		elapsed := now.Sub(start).Seconds()
		var ops, bytes, errs, slow int64
		var perOp strings.Builder
		for op := range numOps {
			if r.cfg.Mix[op] == 0 {
				continue
			}
			s := r.live[op].snapshot()
			d := s.minus(prev[op])
			prev[op] = s
			p := SeriesPoint{
				Second: elapsed, Op: Op(op).String(), Ops: d.ops, Bytes: d.bytes,
				Errors: d.errors, SlowDown: d.slowdown, MaxLatencyMs: ms(time.Duration(d.maxLatency)),
			}
			if interval > 0 {
				p.OpsPerSec = float64(d.ops) / interval
				p.MiBPerSec = float64(d.bytes) / interval / (1 << 20)
			}
			if d.ops > 0 {
				p.MeanLatencyMs = ms(time.Duration(d.latency / d.ops))
			}
			res.Series = append(res.Series, p)
			ops, bytes, errs, slow = ops+d.ops, bytes+d.bytes, errs+d.errors, slow+d.slowdown
			fmt.Fprintf(&perOp, " %s %.0f", Op(op), p.OpsPerSec)
		}
		if interval <= 0 {
			interval = 1
		}
		of := ""
		if r.cfg.Duration > 0 {
			of = fmt.Sprintf("/%.0fs", r.cfg.Duration.Seconds())
		} else {
			of = fmt.Sprintf(", %d/%d ops", min(issued.Load(), r.cfg.Count), r.cfg.Count)
		}
		return fmt.Sprintf("[%4.0fs%s] %8.0f ops/s %9.1f MiB/s  errors %d  slowdown %d  |%s",
			elapsed, of, float64(ops)/interval, float64(bytes)/interval/(1<<20), errs, slow, perOp.String())
	}
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
loop:
	for {
		select {
		case <-done:
			break loop
		case now := <-t.C:
			r.printProgress(point(now), false)
		}
	}
	end := time.Now()
	point(end) // the last, partial interval's series point
	res.Seconds = end.Sub(start).Seconds()
	var ops, bytes, errs, slow int64
	for op := range numOps {
		ops += r.live[op].ops.Load()
		bytes += r.live[op].bytes.Load()
		errs += r.live[op].errors.Load()
		slow += r.live[op].slowdown.Load()
	}
	r.printProgress(fmt.Sprintf("[done %.1fs] %8.0f ops/s %9.1f MiB/s  errors %d  slowdown %d  (averages)",
		res.Seconds, float64(ops)/res.Seconds, float64(bytes)/res.Seconds/(1<<20), errs, slow), true)

	res.Interrupted = ctx.Err() != nil
	var hists [numOps]histogram
	var verified [numOps]int64
	for _, w := range workers {
		for op := range numOps {
			hists[op].merge(&w.hist[op])
			verified[op] += w.verified[op]
		}
	}
	r.errMu.Lock()
	defer r.errMu.Unlock()
	for op := range numOps {
		if r.cfg.Mix[op] == 0 {
			continue
		}
		res.Ops = append(res.Ops, summarize(Op(op), &hists[op], &r.live[op], r.errors[op], verified[op], res.Seconds))
	}
}

type counterSnapshot struct{ ops, bytes, errors, slowdown, latency, maxLatency int64 }

func (l *liveCounters) snapshot() counterSnapshot {
	return counterSnapshot{
		ops: l.ops.Load(), bytes: l.bytes.Load(), errors: l.errors.Load(), slowdown: l.slowdown.Load(),
		latency: l.latency.Load(), maxLatency: l.maxLatency.Swap(0),
	}
}

func (s counterSnapshot) minus(p counterSnapshot) counterSnapshot {
	return counterSnapshot{
		ops: s.ops - p.ops, bytes: s.bytes - p.bytes, errors: s.errors - p.errors,
		slowdown: s.slowdown - p.slowdown, latency: s.latency - p.latency, maxLatency: s.maxLatency,
	}
}

// worker is one client: it runs operations one after another.
type worker struct {
	r        *run
	c        *minio.Core
	rng      *rand.Rand
	pl       payload
	hist     [numOps]histogram
	verified [numOps]int64
}

func (w *worker) loop(ctx context.Context, deadline time.Time, issued *atomic.Int64) {
	r := w.r
	for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
		op := r.cfg.Mix.pick(w.rng)
		var o *object
		switch op {
		case OpGet, OpStat, OpList:
			o = r.pool.acquire(w.rng)
		case OpDelete:
			o = r.pool.take(w.rng)
		}
		if o == nil && op != OpPut {
			// No object to work on: deletes emptied the pool, or the few
			// left are being read. Without PUTs to refill it, stop.
			if r.cfg.Mix[OpPut] == 0 && r.pool.len() == 0 {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if r.cfg.Count > 0 && issued.Add(1) > r.cfg.Count {
			w.giveBack(op, o)
			return
		}
		w.do(ctx, op, o)
	}
}

// giveBack returns an object picked for an operation that will not run.
func (w *worker) giveBack(op Op, o *object) {
	switch op {
	case OpGet, OpStat, OpList:
		w.r.pool.release(o)
	case OpDelete:
		w.r.pool.add(o)
	}
}

func (w *worker) do(ctx context.Context, op Op, o *object) {
	r := w.r
	var (
		bytes int64
		err   error
		start time.Time
	)
	switch op {
	case OpPut:
		o = r.newObject(w.rng)
		start = time.Now()
		if err = r.put(ctx, w.c, &w.pl, o); err == nil {
			bytes = o.size
			r.pool.add(o)
		}
	case OpGet:
		verify := r.cfg.Verify > 0 && w.rng.Float64() < r.cfg.Verify
		start = time.Now()
		var body io.ReadCloser
		body, _, _, err = w.c.GetObject(ctx, r.bucket, o.name, minio.GetObjectOptions{})
		if err == nil {
			bytes, err = readObject(body, o, verify)
			_ = body.Close()
			if err == nil && verify {
				w.verified[op]++
			}
		}
		r.pool.release(o)
	case OpStat:
		start = time.Now()
		var info minio.ObjectInfo
		info, err = w.c.StatObject(ctx, r.bucket, o.name, minio.StatObjectOptions{})
		if err == nil && info.Size != o.size {
			err = fmt.Errorf("%w: %s: HEAD says %d bytes, put %d", ErrVerify, o.name, info.Size, o.size)
		}
		r.pool.release(o)
	case OpDelete:
		start = time.Now()
		err = w.c.RemoveObject(ctx, r.bucket, o.name, minio.RemoveObjectOptions{})
		// A failed delete may or may not have removed the object; it stays
		// out of the pool, and the cleanup lists what is left.
	case OpList:
		r.pool.release(o) // only its name is used, as where the page starts
		start = time.Now()
		// minio-go's Core.ListObjectsV2 takes no context: a list is one
		// short request, so a Ctrl-C waits for at most that.
		_, err = w.c.ListObjectsV2(r.bucket, r.prefix, o.name, "", "", r.cfg.ListKeys)
	}
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return // cut by Ctrl-C: neither a result nor the store's error
		}
		r.recordError(op, err)
		return
	}
	l := &r.live[op]
	l.ops.Add(1)
	l.bytes.Add(bytes)
	l.latency.Add(int64(elapsed))
	for cur := l.maxLatency.Load(); int64(elapsed) > cur && !l.maxLatency.CompareAndSwap(cur, int64(elapsed)); {
		cur = l.maxLatency.Load()
	}
	w.hist[op].record(elapsed)
}

func (r *run) recordError(op Op, err error) {
	code := ErrorCode(err)
	slow := IsSlowDown(code)
	if slow {
		r.live[op].slowdown.Add(1)
	} else {
		r.live[op].errors.Add(1)
	}
	r.errMu.Lock()
	defer r.errMu.Unlock()
	e := r.errors[op][code]
	if e == nil {
		e = &ErrorCount{Code: code, First: err.Error()}
		r.errors[op][code] = e
	}
	e.Count++
}

// ErrorCode names an error for the report: the S3 error code when the
// store answered, VerifyFailed for data that differs from what was put,
// else the kind of transport failure.
func ErrorCode(err error) string {
	var s3err minio.ErrorResponse
	switch {
	case errors.Is(err, ErrVerify):
		return "VerifyFailed"
	case errors.As(err, &s3err) && s3err.Code != "":
		if strings.Contains(s3err.Code, " ") {
			// HEAD answers have no body: minio-go puts the status text
			// ("503 Service Unavailable") where the code would be.
			return fmt.Sprintf("HTTP%d", s3err.StatusCode)
		}
		return s3err.Code
	case errors.As(err, &s3err) && s3err.StatusCode != 0:
		return fmt.Sprintf("HTTP%d", s3err.StatusCode)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "ConnectionRefused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "ConnectionReset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "UnexpectedEOF"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Timeout"
	}
	return "ClientError"
}

// IsSlowDown reports whether code is the store shedding load (SlowDown,
// or MinIO's SlowDownRead/SlowDownWrite), which the report counts apart
// from failures.
func IsSlowDown(code string) bool { return strings.HasPrefix(code, "SlowDown") }

// cleanup removes what the run put (everything under its prefix, listed,
// so objects of PUTs whose answer was lost go too), unfinished multipart
// uploads, and the bucket if the run created it. It runs on a context of
// its own: after Ctrl-C the run's context is done, and the cleanup must
// still happen.
func (r *run) cleanup() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.CleanupTimeout)
	defer cancel()
	c := r.clients[0].Client
	var errs []error
	for u := range c.ListIncompleteUploads(ctx, r.bucket, r.prefix, true) {
		if u.Err != nil {
			errs = append(errs, fmt.Errorf("list multipart uploads: %w", u.Err))
			break
		}
		if err := c.RemoveIncompleteUpload(ctx, r.bucket, u.Key); err != nil {
			errs = append(errs, fmt.Errorf("abort multipart upload of %s: %w", u.Key, err))
		}
	}

	deleted, delErrs := r.deletePrefix(ctx, c)
	errs = append(errs, delErrs...)
	if r.createdBucket && len(errs) == 0 {
		for pass := 1; ; pass++ {
			err := c.RemoveBucket(ctx, r.bucket)
			if err == nil {
				break
			}
			// A PUT cut off by Ctrl-C may still be committed by the store
			// after the listing (a store finishes a write whose body it
			// has whole, client or no client): list and delete again.
			if minio.ToErrorResponse(err).Code != "BucketNotEmpty" || pass == 5 {
				errs = append(errs, fmt.Errorf("remove bucket: %w", err))
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(pass) * 200 * time.Millisecond):
			}
			n, more := r.deletePrefix(ctx, c)
			deleted += n
			if len(more) > 0 {
				errs = append(errs, more...)
				break
			}
		}
	}
	return deleted, errors.Join(errs...)
}

// deletePrefix lists everything under the run's prefix and deletes it,
// returning how many objects went.
func (r *run) deletePrefix(ctx context.Context, c *minio.Client) (int64, []error) {
	var errs []error
	var (
		listed     int64
		listErr    error
		toDel      = make(chan minio.ObjectInfo)
		listerDone = make(chan struct{})
	)
	listCtx, stopListing := context.WithCancel(ctx)
	go func() {
		defer close(listerDone)
		defer close(toDel)
		for o := range c.ListObjects(listCtx, r.bucket, minio.ListObjectsOptions{Prefix: r.prefix, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			select {
			case toDel <- o:
				listed++
			case <-listCtx.Done():
				return
			}
		}
	}()
	var failed int64
	for e := range c.RemoveObjects(ctx, r.bucket, toDel, minio.RemoveObjectsOptions{}) {
		failed++
		if failed == 1 {
			errs = append(errs, fmt.Errorf("delete %s: %w", e.ObjectName, e.Err))
		}
	}
	// Should RemoveObjects have stopped reading early, the lister is not
	// left blocked on toDel.
	stopListing()
	<-listerDone
	if listErr != nil {
		errs = append(errs, fmt.Errorf("list objects: %w", listErr))
	}
	if failed > 1 {
		errs = append(errs, fmt.Errorf("%d deletes failed", failed))
	}
	return listed - failed, errs
}
