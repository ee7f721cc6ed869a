package admin

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// codeNotFound is the code of the 404 answer to an unknown admin path. S3's
// table has no code for "no such API" (NoSuchKey would speak of objects),
// so the status is set here rather than derived from the code.
const codeNotFound s3err.Code = "NotFound"

// handler serves the admin API; see the package documentation.
type handler struct {
	src    Sources
	verify *sigv4.Verifier
	log    *zap.Logger
}

// NewHandler returns the admin API over src: GET PathPrefix+"info" answers
// Collect(src) as JSON, GET PathPrefix+"heal" src.Heal(). Every request must be signed, in the header form,
// by creds (the root credentials) for region ("" means us-east-1). log may
// be nil.
func NewHandler(src Sources, creds sigv4.Credentials, region string, log *zap.Logger) http.Handler {
	if log == nil {
		log = zap.NewNop()
	}
	return &handler{
		src:    src,
		verify: &sigv4.Verifier{Region: region, Credentials: creds},
		log:    log.Named("admin"),
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	auth, err := h.verify.Verify(r)
	if err == nil && auth.Presigned {
		// Presigned URLs are valid for up to a week and end up in logs
		// and shell history; admin requests must be signed when sent.
		err = s3err.Newf(s3err.AccessDenied, "the admin API accepts header-signed requests only")
	}
	if err != nil {
		// The code and the remote address only: the request's headers
		// carry the signature and are no business of the log.
		h.log.Info("admin request refused",
			zap.String("code", string(s3err.CodeOf(err))),
			zap.String("remote", r.RemoteAddr),
			zap.String("method", r.Method),
			zap.String("requestID", id))
		s3err.Write(w, r, err, id)
		return
	}

	switch strings.TrimPrefix(r.URL.Path, PathPrefix) {
	case "info":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			s3err.Write(w, r, s3err.Newf(s3err.MethodNotAllowed, "%s is not allowed on %s; use GET", r.Method, r.URL.Path), id)
			return
		}
		h.info(w, r, id)
	case "heal":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			s3err.Write(w, r, s3err.Newf(s3err.MethodNotAllowed, "%s is not allowed on %s; use GET", r.Method, r.URL.Path), id)
			return
		}
		info := HealInfo{Node: h.src.Self}
		if h.src.Heal != nil {
			info = h.src.Heal()
		}
		h.reply(w, r, id, &info)
	default:
		h.notFound(w, r, id)
	}
}

func (h *handler) info(w http.ResponseWriter, r *http.Request, id string) {
	info := Collect(r.Context(), h.src)
	h.reply(w, r, id, &info)
}

// reply answers v as JSON.
func (h *handler) reply(w http.ResponseWriter, r *http.Request, id string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// The answers hold only strings, numbers, bools and times:
		// unreachable, but an answer is owed.
		h.log.Error("admin answer not encoded", zap.Error(err), zap.String("requestID", id))
		s3err.Write(w, r, s3err.Wrap(s3err.InternalError, err), id)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Amz-Request-Id", id)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(append(body, '\n')); err != nil {
		h.log.Debug("admin answer not sent", zap.Error(err), zap.String("requestID", id))
	}
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request, id string) {
	body := s3err.Marshal(&s3err.Error{Code: codeNotFound, Message: "no admin API at this path"}, r, id)
	hdr := w.Header()
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("X-Amz-Request-Id", id)
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// requestID returns a random request ID, as S3 gives every answer, so that
// a refusal a user reports can be found in the log.
func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
