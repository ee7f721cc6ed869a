package s3

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// putObject stores the request body as the object's new version.
func (s *Server) putObject(w http.ResponseWriter, r *http.Request, rq *request) error {
	pre, err := writePrecondition(r.Header)
	if err != nil {
		return err
	}
	size := rq.auth.ContentLength
	if err := limits.CheckContentLength(size, limits.MaxPutObjectSize); err != nil {
		return err
	}
	opts, err := s.putOptions(r.Header)
	if err != nil {
		return err
	}
	opts.Precondition = pre
	data, err := payload(r, rq, size)
	if err != nil {
		return err
	}
	info, err := s.cfg.Objects.PutObject(r.Context(), rq.bucket, rq.key, data, size, opts)
	if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	h := w.Header()
	h.Set("ETag", s3xml.QuoteETag(info.ETag))
	echoChecksum(h, r.Header, rq.body)
	w.WriteHeader(http.StatusOK)
	return nil
}

// selection is the part of an object a GET or HEAD asks for.
type selection struct {
	opts object.GetOptions
	// rangeHeader is the Range header that selected opts.Range (or that
	// asked for the empty suffix), for error messages.
	rangeHeader string
	// emptySuffix is "bytes=-0": well formed, but no object has a
	// satisfiable last-zero-bytes range (RFC 9110 §14.1.2), and
	// object.Range has no way to say it.
	emptySuffix bool
}

// partial reports whether the answer is a 206 with a Content-Range: for a
// range, and for a part of a multipart object (S3 answers part 1 of an
// object uploaded in one piece with a plain 200).
func (sel selection) partial(info object.ObjectInfo) bool {
	return sel.opts.Range != nil || (sel.opts.PartNumber > 0 && info.PartsCount > 0)
}

// parseSelection reads the Range header and the partNumber parameter.
func parseSelection(r *http.Request, rq *request) (selection, error) {
	var sel selection
	rangeHeader := r.Header.Get("Range")
	if rq.query.Has("partNumber") {
		n, err := strconv.Atoi(rq.query.Get("partNumber"))
		if err != nil || n < 1 || n > limits.MaxPartNumber {
			return sel, s3err.Newf(s3err.InvalidArgument, "Part number must be an integer between 1 and %d, inclusive.", limits.MaxPartNumber)
		}
		if rangeHeader != "" {
			return sel, s3err.Newf(s3err.InvalidRequest, "Cannot specify both Range header and partNumber query parameter.")
		}
		sel.opts.PartNumber = n
		return sel, nil
	}
	rng, emptySuffix, ok := parseRange(rangeHeader)
	if ok {
		sel.opts.Range, sel.emptySuffix, sel.rangeHeader = rng, emptySuffix, rangeHeader
	}
	return sel, nil
}

// parseRange parses a Range header of one byte range: "bytes=a-b",
// "bytes=a-" or "bytes=-n". ok is false for anything else (absent,
// malformed, another unit, several ranges): such a header is ignored and
// the whole object sent, as RFC 9110 §14.2 allows and S3 does. emptySuffix
// reports "bytes=-0", which is well formed but never satisfiable.
func parseRange(v string) (rng *object.Range, emptySuffix, ok bool) {
	const unit = "bytes="
	if len(v) <= len(unit) || !strings.EqualFold(v[:len(unit)], unit) {
		return nil, false, false
	}
	spec := strings.TrimSpace(v[len(unit):])
	firstStr, lastStr, found := strings.Cut(spec, "-")
	if !found {
		return nil, false, false
	}
	if firstStr == "" {
		n, ok := parseDigits(lastStr)
		switch {
		case !ok:
			return nil, false, false
		case n == 0:
			return nil, true, true
		}
		return &object.Range{SuffixLength: n}, false, true
	}
	first, ok := parseDigits(firstStr)
	if !ok {
		return nil, false, false
	}
	if lastStr == "" {
		return &object.Range{First: first, Last: -1}, false, true
	}
	last, ok := parseDigits(lastStr)
	if !ok || last < first {
		// RFC 9110 §14.1.1: a last-pos below the first-pos makes the
		// range invalid, not unsatisfiable.
		return nil, false, false
	}
	return &object.Range{First: first, Last: last}, false, true
}

// parseDigits parses a run of ASCII digits. Values beyond int64 saturate:
// a position that large is past the end of any object, which is what the
// client asked for, not a syntax error.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// emptySuffixError is the 416 of "bytes=-0", with the details the layer's
// RangeError would have given.
func emptySuffixError(sel selection, size int64) error {
	return s3err.New(s3err.InvalidRange).
		WithDetail("RangeRequested", sel.rangeHeader).
		WithDetail("ActualObjectSize", strconv.FormatInt(size, 10))
}

// getObject streams an object, or the part or range of it asked for.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := checkVersionID(rq); err != nil {
		return err
	}
	sel, err := parseSelection(r, rq)
	if err != nil {
		return err
	}
	reader, err := s.cfg.Objects.GetObject(r.Context(), rq.bucket, rq.key, sel.opts)
	if err != nil {
		return s.selectionFailed(w, r, rq, err)
	}
	defer reader.Close()
	// The conditions are judged on exactly the version whose bytes are
	// sent: the reader streams the version it resolved, or fails.
	info := reader.Info()
	if err := checkConditions(r.Header, info); err != nil {
		setValidators(w.Header(), info)
		return err
	}
	if sel.emptySuffix {
		return emptySuffixError(sel, info.Size)
	}
	if s.cfg.Reserve != nil {
		if err := s.cfg.Reserve(r.Context(), info.Size); err != nil {
			w.Header().Set("Retry-After", "1")
			return s3err.Wrap(s3err.SlowDown, err)
		}
	}
	offset, length := reader.Range()
	fw := &firstByteWriter{w: w, header: make(http.Header)}
	fw.status = writeObjectHeaders(fw.header, rq, sel, info, offset, length)
	if _, err := reader.WriteTo(fw); err != nil {
		if !fw.started {
			// Nothing is out: the client gets the error (503 for a read
			// quorum lost since the version was chosen), not a cut.
			return fmt.Errorf("get object: %w", err)
		}
		// After the status is out an error can only be returned:
		// ServeHTTP cuts the connection, which is how the client learns
		// the body is short.
		return fmt.Errorf("get object: send body: %w", err)
	}
	fw.start() // an empty body
	return nil
}

// firstByteWriter sends a GET's status and headers with the first byte of
// its body, not before. The layer reads no shard until WriteTo, so a read
// quorum lost since the version was chosen (drives gone, a shard missing
// on one of the few left) shows only there: with the status out, the
// server could only cut the connection, and a client that got nothing on
// a reused connection takes that for a stale keep-alive and sends the GET
// again at once (Go's transport does, over and over while the quorum stays
// lost; seen as one 10 s GET with two nodes of four killed). Before the
// first byte the error is still an answer: 503, at once.
type firstByteWriter struct {
	w       http.ResponseWriter
	header  http.Header
	status  int
	started bool
}

func (f *firstByteWriter) start() {
	if f.started {
		return
	}
	f.started = true
	h := f.w.Header()
	for k, v := range f.header {
		h[k] = v
	}
	f.w.WriteHeader(f.status)
}

// Write sends the status first. w is the server's *responseWriter, whose
// byte count stays in the path.
func (f *firstByteWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	f.start()
	return f.w.Write(p)
}

// headObject answers the headers a GET of the same request would send.
func (s *Server) headObject(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := checkVersionID(rq); err != nil {
		return err
	}
	sel, err := parseSelection(r, rq)
	if err != nil {
		return err
	}
	info, offset, length, err := s.headSelection(w, r, rq, sel)
	if err != nil {
		return err
	}
	status := writeObjectHeaders(w.Header(), rq, sel, info, offset, length)
	w.WriteHeader(status)
	return nil
}

// headSelection describes the version a HEAD asks about and the bytes its
// selection covers, conditions checked. GetObject reads no shard before
// WriteTo, but only GetObjectInfo queues the drives it finds stale for
// healing and needs no reader; so the reader is used only for a part,
// whose bounds only the layer knows.
func (s *Server) headSelection(w http.ResponseWriter, r *http.Request, rq *request, sel selection) (info object.ObjectInfo, offset, length int64, err error) {
	if sel.opts.PartNumber > 0 {
		reader, err := s.cfg.Objects.GetObject(r.Context(), rq.bucket, rq.key, sel.opts)
		if err != nil {
			return info, 0, 0, s.selectionFailed(w, r, rq, err)
		}
		info = reader.Info()
		offset, length = reader.Range()
		if err := reader.Close(); err != nil {
			return info, 0, 0, fmt.Errorf("head object: close reader: %w", err)
		}
		if err := checkConditions(r.Header, info); err != nil {
			setValidators(w.Header(), info)
			return info, 0, 0, err
		}
		return info, offset, length, nil
	}
	info, err = s.cfg.Objects.GetObjectInfo(r.Context(), rq.bucket, rq.key)
	if err != nil {
		return info, 0, 0, fmt.Errorf("head object: %w", err)
	}
	if err := checkConditions(r.Header, info); err != nil {
		setValidators(w.Header(), info)
		return info, 0, 0, err
	}
	switch {
	case sel.emptySuffix:
		return info, 0, 0, emptySuffixError(sel, info.Size)
	case sel.opts.Range != nil:
		if offset, length, err = sel.opts.Range.Resolve(info.Size); err != nil {
			return info, 0, 0, fmt.Errorf("head object: %w", err)
		}
		return info, offset, length, nil
	}
	return info, 0, info.Size, nil
}

// selectionFailed returns the error of a GetObject. When the range or part
// asked for does not fit the object, RFC 9110 §13.2.2 still has the
// preconditions decide first (a failed If-Match is a 412, not a 416), so
// they are evaluated against the object as GetObjectInfo now describes it.
// That is a second look, not the view the layer refused the range in; an
// overwrite in between can only make the answer that of the newer version,
// which a request arriving a moment later would have got anyway.
func (s *Server) selectionFailed(w http.ResponseWriter, r *http.Request, rq *request, err error) error {
	err = fmt.Errorf("get object: %w", err)
	if !errors.Is(err, object.ErrInvalidRange) && !errors.Is(err, object.ErrInvalidPartNumber) {
		return err
	}
	if !hasConditions(r.Header) {
		return err
	}
	info, ierr := s.cfg.Objects.GetObjectInfo(r.Context(), rq.bucket, rq.key)
	if ierr != nil {
		return err
	}
	if cerr := checkConditions(r.Header, info); cerr != nil {
		setValidators(w.Header(), info)
		return cerr
	}
	return err
}

// hasConditions reports whether a GET or HEAD carries a conditional header.
func hasConditions(h http.Header) bool {
	for _, name := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if h.Get(name) != "" {
			return true
		}
	}
	return false
}

// setValidators sets the headers a 304 keeps (RFC 9110 §15.4.5): the
// client refreshes its cached copy's validators from them. s3err.Write
// drops them again for any other error.
func setValidators(h http.Header, info object.ObjectInfo) {
	h.Set("ETag", s3xml.QuoteETag(info.ETag))
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
}

// writeObjectHeaders sets the headers of a GET or HEAD answer and returns
// its status: 206 with a Content-Range for a range or a part of a
// multipart object, else 200.
func writeObjectHeaders(h http.Header, rq *request, sel selection, info object.ObjectInfo, offset, length int64) int {
	setObjectHeaders(h, info)
	if sel.opts.PartNumber > 0 && info.PartsCount > 0 {
		// As S3: the part count answers a request for a part.
		h.Set("X-Amz-Mp-Parts-Count", itoa(info.PartsCount))
	}
	applyResponseOverrides(h, rq)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if !sel.partial(info) {
		return http.StatusOK
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, info.Size))
	return http.StatusPartialContent
}

// responseOverrides are the query parameters of a GET or HEAD that set a
// response header in place of the stored one (S3's response-* parameters,
// used by presigned download links).
var responseOverrides = []struct{ param, header string }{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

func applyResponseOverrides(h http.Header, rq *request) {
	for _, o := range responseOverrides {
		if v := rq.query.Get(o.param); v != "" {
			h.Set(o.header, v)
		}
	}
}

// deleteObject removes an object. Deleting an absent key succeeds, as S3
// deletes are idempotent; a missing bucket and a failed quorum do not.
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := checkVersionID(rq); err != nil {
		return err
	}
	err := s.cfg.Objects.DeleteObject(r.Context(), rq.bucket, rq.key)
	absent := errors.Is(err, object.ErrObjectNotFound) && !errors.Is(err, object.ErrBucketNotFound)
	if err != nil && !absent {
		return fmt.Errorf("delete object: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
