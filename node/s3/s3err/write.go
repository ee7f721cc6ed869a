package s3err

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// Write sends err as S3's error response: the status of its code and,
// unless the request is a HEAD or the status is 304 Not Modified (neither
// may carry a body), the XML error document. requestID goes into
// <RequestId> and the x-amz-request-id header. r may be nil (no Resource,
// body written). A nil err writes nothing.
//
// Write must be called before anything else of the response was written;
// a handler that already sent a status can only log.
func Write(w http.ResponseWriter, r *http.Request, err error, requestID string) {
	e := From(err)
	if e == nil {
		return
	}
	status := e.Status()
	h := w.Header()
	if requestID != "" {
		h.Set("X-Amz-Request-Id", requestID)
	}
	if status == http.StatusNotModified {
		// A 304 keeps the validators (ETag, Last-Modified) the handler
		// set, as RFC 9110 asks; it has no body.
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(status)
		return
	}
	// Headers a success path may have set describe an object that is not
	// what this response carries.
	unsatisfied := ""
	if status == http.StatusRequestedRangeNotSatisfiable {
		// RFC 9110 §15.5.17: a 416 says the representation's length as
		// "bytes */length"; keep that form if the handler set it.
		if v := h.Get("Content-Range"); strings.HasPrefix(v, "bytes */") {
			unsatisfied = v
		}
	}
	for _, name := range []string{"Content-Encoding", "Content-Range", "Content-Disposition", "Accept-Ranges", "ETag", "Last-Modified"} {
		h.Del(name)
	}
	if unsatisfied != "" {
		h.Set("Content-Range", unsatisfied)
	}
	if r != nil && r.Method == http.MethodHead {
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(status)
		return
	}
	body := Marshal(e, r, requestID)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away: nothing left to tell it
}

// Marshal returns the XML error document of e for request r (which may be
// nil), with the XML declaration.
func Marshal(e *Error, r *http.Request, requestID string) []byte {
	resource := e.Resource
	if resource == "" && r != nil && r.URL != nil {
		resource = r.URL.Path
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error>")
	element(&b, "Code", string(e.Code))
	element(&b, "Message", e.ClientMessage())
	for _, d := range e.Details {
		if validName(d.Name) {
			element(&b, d.Name, d.Value)
		}
	}
	if e.Key != "" {
		element(&b, "Key", e.Key)
	}
	if e.BucketName != "" {
		element(&b, "BucketName", e.BucketName)
	}
	if resource != "" {
		element(&b, "Resource", resource)
	}
	element(&b, "RequestId", requestID)
	b.WriteString("</Error>")
	return b.Bytes()
}

func element(b *bytes.Buffer, name, value string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	// EscapeText also replaces bytes XML cannot carry (invalid UTF-8,
	// control characters) with U+FFFD, so a key of any bytes stays a
	// well-formed document.
	_ = xml.EscapeText(b, []byte(value)) // writes to a bytes.Buffer cannot fail
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// validName accepts the element names Details may use: ASCII letters and
// digits, starting with a letter.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
