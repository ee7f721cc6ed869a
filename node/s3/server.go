package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
	"github.com/gridstore/gridstore/node/s3/sigv2"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// Objects is what the server needs of the object layer; *object.Layer is
// the implementation.
type Objects interface {
	MakeBucket(ctx context.Context, bucket string) error
	HeadBucket(ctx context.Context, bucket string) (object.BucketInfo, error)
	ListBuckets(ctx context.Context) ([]object.BucketInfo, error)
	DeleteBucket(ctx context.Context, bucket string) error

	PutObject(ctx context.Context, bucket, key string, data io.Reader, size int64, opts object.PutOptions) (object.ObjectInfo, error)
	GetObject(ctx context.Context, bucket, key string, opts object.GetOptions) (*object.ObjectReader, error)
	GetObjectInfo(ctx context.Context, bucket, key string) (object.ObjectInfo, error)
	DeleteObject(ctx context.Context, bucket, key string) error
	DeleteObjects(ctx context.Context, bucket string, keys []string) []object.DeleteResult
	CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, opts object.CopyOptions) (object.ObjectInfo, error)
	ListObjects(ctx context.Context, bucket string, opts object.ListOptions) (object.ListResult, error)

	NewMultipartUpload(ctx context.Context, bucket, key string, opts object.PutOptions) (string, error)
	PutObjectPart(ctx context.Context, bucket, key, uploadID string, partNumber int, data io.Reader, size int64, opts object.PartOptions) (object.PartInfo, error)
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []object.CompletePart, opts object.CompleteOptions) (object.ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	ListParts(ctx context.Context, bucket, key, uploadID string, partNumberMarker, maxParts int) (object.ListPartsResult, error)
	ListMultipartUploads(ctx context.Context, bucket, prefix, keyMarker, uploadIDMarker, delimiter string, maxUploads int) (object.ListMultipartUploadsResult, error)
}

// Config configures a Server.
type Config struct {
	// Objects is the object layer requests are served from. Required.
	Objects Objects
	// Credentials are the access keys requests may be signed with. Required.
	Credentials sigv4.Credentials
	// Region is the region signatures must be scoped to, and what
	// GetBucketLocation answers; "" means us-east-1.
	Region string
	// Domains are the base domains of virtual-host-style addressing: a
	// request for host "photos.s3.example.com" with Domains
	// ["s3.example.com"] is for bucket "photos". A request for a host that
	// is not under one of them is path style. Ports are ignored.
	Domains []string
	// StorageClass resolves x-amz-storage-class to the parity objects of
	// that class are written with (layout.StorageClasses.Parity). Nil
	// offers STANDARD only, at the sets' parity.
	StorageClass func(class string) (parity int, err error)
	// ReservedBuckets are bucket names the server refuses for every
	// operation (the node's own endpoints live under them).
	ReservedBuckets []string
	// Owner is the owner ID and display name listings and ListBuckets show
	// (every bucket belongs to the root user); "" means "gridstore".
	Owner string
	// Logger receives one line per failed request (server faults at warn,
	// client errors at debug). Nil logs nothing.
	Logger *zap.Logger
	// Reserve, if set, is called by a GET once it has resolved its object
	// and before it sends anything, with the object's size: it reserves
	// the buffers the read will take from the node's budget. An error
	// refuses the request with 503 SlowDown (Retry-After: 1).
	Reserve func(ctx context.Context, objectSize int64) error
	// Observe, if set, is called once per request when its response is
	// complete, from the request's goroutine: what metrics count.
	Observe func(RequestInfo)
	// Now is the clock signatures (SigV4 and SigV2) are checked against;
	// nil is time.Now.
	Now func() time.Time
	// MaxSkew is the allowed distance between a request's signing time and
	// Now, for both signature versions; 0 means sigv4.MaxSkew (15 minutes).
	MaxSkew time.Duration
}

// RequestInfo describes an answered request, for metrics.
type RequestInfo struct {
	// API is the S3 operation ("GetObject", "PutObject", ...), or
	// "NotImplemented" and "Unknown" for requests that matched none; the
	// set of values is small and fixed, so it can label metrics.
	API string
	// Status is the HTTP status sent.
	Status int
	// Duration runs from the request's arrival to the end of its response.
	Duration time.Duration
	// BytesIn counts the request body bytes read (as sent on the wire);
	// BytesOut the response body bytes written.
	BytesIn, BytesOut int64
	// QuorumLost reports a request that failed because a read or write
	// quorum of drives was not available.
	QuorumLost bool
	// ID is the request's X-Amz-Request-Id; Bucket and Key name what it
	// was for ("" where it was for none).
	ID, Bucket, Key string
	// FirstByte is when the response's status was sent, since the
	// request's arrival (0 if never).
	FirstByte time.Duration
	// BodyRead and ResponseWrite are the time spent waiting on the client:
	// reading the request body, and writing response bytes to it (a
	// client that reads slowly makes a long GET that is not the server's).
	BodyRead, ResponseWrite time.Duration
	// Steps says where the object layer spent the request's time, as far
	// as it was slow (object.Trace); "" when no step was.
	Steps string
}

// Server is the S3 API as an http.Handler. It is safe for concurrent use.
type Server struct {
	cfg      Config
	verifier *sigv4.Verifier
	v2       *sigv2.Verifier
	log      *zap.Logger
	idPrefix string
	idSeq    atomic.Uint64
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Objects == nil {
		return nil, errors.New("s3: Config.Objects is required")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("s3: Config.Credentials is required")
	}
	if cfg.Region == "" {
		cfg.Region = sigv4.DefaultRegion
	}
	if cfg.Owner == "" {
		cfg.Owner = "gridstore"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	for i, d := range cfg.Domains {
		if d == "" || d[0] == '.' || d[len(d)-1] == '.' {
			return nil, fmt.Errorf("s3: domain %q is not a host name", d)
		}
		cfg.Domains[i] = d
	}
	var prefix [4]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return nil, fmt.Errorf("s3: request ID prefix: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		verifier: &sigv4.Verifier{Region: cfg.Region, Credentials: cfg.Credentials, Now: cfg.Now, MaxSkew: cfg.MaxSkew},
		log:      cfg.Logger,
		idPrefix: hex.EncodeToString(prefix[:]),
	}
	s.v2 = &sigv2.Verifier{Credentials: cfg.Credentials, Now: cfg.Now, MaxSkew: cfg.MaxSkew, HostBucket: s.virtualHostBucket}
	return s, nil
}

// request is what a handler knows about the request beyond http.Request.
type request struct {
	id     string
	api    string
	bucket string
	key    string
	query  url.Values
	auth   *sigv4.Auth
	// body is the verified payload (nil before authentication).
	body *sigv4.Body
}

// handler serves one S3 operation. It returns an error instead of writing
// one, unless it has already started the response (then it can only return
// the error for the log).
type handler func(s *Server, w http.ResponseWriter, r *http.Request, rq *request) error

// ServeHTTP serves one S3 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w, start: start}
	in := &countingReader{r: r.Body}
	// The object layer notes its slow steps in the request's trace.
	trace := object.NewTrace(start)
	r = r.WithContext(object.WithTrace(r.Context(), trace))
	if r.Body != nil {
		// On the shallow copy: net/http looks at the original request's
		// body type after the handler to decide whether to drain it or to
		// send 100 Continue, and must not find our wrapper there (it would
		// read up to 256 KiB of an upload it should refuse before
		// answering).
		r.Body = in
	}
	rq := &request{id: s.nextID(), api: "Unknown"}
	h := rw.Header()
	h.Set("X-Amz-Request-Id", rq.id)
	h.Set("Server", "gridstore")

	err := s.serve(rw, r, rq)
	abort := false
	if err != nil {
		abort = s.fail(rw, r, rq, err)
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(RequestInfo{
			API: rq.api, Status: rw.status(), Duration: time.Since(start),
			BytesIn: in.n, BytesOut: rw.written,
			QuorumLost: errors.Is(err, object.ErrReadQuorum) || errors.Is(err, object.ErrWriteQuorum),
			ID:         rq.id, Bucket: rq.bucket, Key: rq.key,
			FirstByte: rw.firstByte, BodyRead: in.waited, ResponseWrite: rw.waited,
			Steps: trace.String(),
		})
	}
	if abort {
		// Too late for an error document: the status and part of the body
		// are out. Cutting the connection is how the client learns that the
		// body is incomplete (its Content-Length is not reached); net/http
		// recovers this sentinel without logging.
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) serve(w *responseWriter, r *http.Request, rq *request) error {
	if err := limits.CheckHeaders(r); err != nil {
		return err
	}
	bucket, key, err := s.bucketAndKey(r)
	if err != nil {
		return err
	}
	rq.bucket, rq.key, rq.query = bucket, key, r.URL.Query()
	api, h := route(r, rq)
	rq.api = api
	auth, err := s.authenticate(r)
	if err != nil {
		return err
	}
	rq.auth = auth
	if r.Body != nil {
		rq.body = auth.Body(r.Body)
	}
	if rq.bucket != "" {
		if err := limits.CheckBucketName(rq.bucket); err != nil {
			return err
		}
		if slices.Contains(s.cfg.ReservedBuckets, rq.bucket) {
			return &s3err.Error{Code: s3err.InvalidBucketName, BucketName: rq.bucket,
				Message: "The specified bucket name is reserved for gridstore's own endpoints."}
		}
	}
	if rq.key != "" {
		if err := limits.CheckObjectName(rq.key); err != nil {
			return err
		}
	}
	return h(s, w, r, rq)
}

// authenticate verifies r's signature: SigV2 when r carries one and no
// SigV4 one (sigv2.Signed), SigV4 otherwise, which also refuses anonymous
// and ambiguous requests. Either way the handlers get a *sigv4.Auth and read
// the body through it.
func (s *Server) authenticate(r *http.Request) (*sigv4.Auth, error) {
	if sigv2.Signed(r) {
		return s.v2.Verify(r)
	}
	return s.verifier.Verify(r)
}

// fail answers err and logs it. It reports whether the response had already
// begun, so that the connection must be cut instead.
func (s *Server) fail(w *responseWriter, r *http.Request, rq *request, err error) (abort bool) {
	e := s.toS3(err, rq)
	clientGone := r.Context().Err() != nil
	fields := []zap.Field{
		zap.String("request_id", rq.id), zap.String("api", rq.api),
		zap.String("bucket", rq.bucket), zap.String("key", clip(rq.key)),
		zap.String("code", string(e.Code)), zap.Error(err),
	}
	switch {
	case clientGone:
		s.log.Debug("s3 request abandoned by the client", fields...)
	case e.Status() >= 500 && e.Code != s3err.SlowDown:
		s.log.Warn("s3 request failed", fields...)
	default:
		s.log.Debug("s3 request refused", fields...)
	}
	if w.wroteHeader {
		return !clientGone
	}
	if e.Code == s3err.InvalidRange {
		for _, d := range e.Details {
			if d.Name == "ActualObjectSize" {
				w.Header().Set("Content-Range", "bytes */"+d.Value)
			}
		}
	}
	s3err.Write(w, r, e, rq.id)
	return false
}

// nextID returns a request ID: this server's random prefix and a counter,
// 16 upper-case hex digits in all, unique per process start.
func (s *Server) nextID() string {
	n := s.idSeq.Add(1)
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return s.idPrefix + hex.EncodeToString(b[4:])
}

// responseWriter records the status and the body bytes of a response.
type responseWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	written     int64
	// start is the request's arrival; firstByte when the status went,
	// since start; waited the time spent in Write (on the client).
	start             time.Time
	firstByte, waited time.Duration
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
		if !w.start.IsZero() {
			w.firstByte = time.Since(w.start)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	began := time.Now()
	n, err := w.ResponseWriter.Write(p)
	w.waited += time.Since(began)
	w.written += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile, bigger
// copies) reachable through the wrapper.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	w.written += n
	return n, err
}

// Flush lets streaming responses push what they have.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}

// countingReader counts the bytes of a request body.
type countingReader struct {
	r      io.ReadCloser
	n      int64
	waited time.Duration
}

func (c *countingReader) Read(p []byte) (int, error) {
	began := time.Now()
	n, err := c.r.Read(p)
	c.waited += time.Since(began)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// writeXML sends an XML document with status 200.
func writeXML(w http.ResponseWriter, v any) error {
	if err := s3xml.Write(w, http.StatusOK, v); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	return nil
}

// clip shortens a client-supplied string for a log line.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// itoa is strconv.Itoa, for headers.
func itoa(n int) string { return strconv.Itoa(n) }
