package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStatusTable(t *testing.T) {
	for _, tc := range []struct {
		code   Code
		status int
	}{
		{NoSuchBucket, 404}, {NoSuchKey, 404}, {NoSuchUpload, 404}, {InvalidRange, 416},
		{SignatureDoesNotMatch, 403}, {RequestTimeTooSkewed, 403}, {AccessDenied, 403}, {InvalidAccessKeyID, 403},
		{EntityTooSmall, 400}, {EntityTooLarge, 400}, {InvalidPart, 400}, {InvalidPartOrder, 400},
		{InvalidBucketName, 400}, {BucketAlreadyOwnedByYou, 409}, {BucketAlreadyExists, 409}, {BucketNotEmpty, 409},
		{MalformedXML, 400}, {InvalidArgument, 400}, {InvalidDigest, 400}, {BadDigest, 400},
		{MissingContentLength, 411}, {NotImplemented, 501}, {MethodNotAllowed, 405}, {PreconditionFailed, 412},
		{NotModified, 304}, {SlowDown, 503}, {ServiceUnavailable, 503}, {InternalError, 500},
		{XAmzContentSHA256Mismatch, 400}, {KeyTooLongError, 400}, {MetadataTooLarge, 400},
		{RequestHeaderSectionTooLarge, 400}, {MaxMessageLengthExceeded, 400}, {IncompleteBody, 400},
		{InvalidObjectName, 400}, {AuthorizationHeaderMalformed, 400}, {AuthorizationQueryParametersError, 400},
		{Code("NoSuchThing"), 500},
	} {
		if got := tc.code.Status(); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.code, got, tc.status)
		}
	}
	for _, c := range Codes() {
		if !c.Known() || c.Message() == "" || http.StatusText(c.Status()) == "" {
			t.Errorf("%s: incomplete table entry", c)
		}
	}
	if InvalidAccessKeyID != "InvalidAccessKeyId" {
		t.Errorf("wire spelling of InvalidAccessKeyId changed: %q", InvalidAccessKeyID)
	}
}

func TestIsAsFrom(t *testing.T) {
	cause := errors.New("drive 3: read quorum")
	wrapped := fmt.Errorf("get: %w", Wrap(NoSuchKey, cause))
	if !errors.Is(wrapped, NoSuchKey) || errors.Is(wrapped, NoSuchBucket) {
		t.Fatal("errors.Is on codes")
	}
	if !errors.Is(wrapped, cause) {
		t.Fatal("the cause is lost")
	}
	var e *Error
	if !errors.As(wrapped, &e) || e.Code != NoSuchKey {
		t.Fatal("errors.As")
	}
	if got := From(fmt.Errorf("x: %w", SlowDown)); got.Code != SlowDown {
		t.Fatalf("bare code: %v", got)
	}
	if got := From(io.EOF); got.Code != InternalError || !errors.Is(got, io.EOF) {
		t.Fatalf("plain error: %v", got)
	}
	if From(nil) != nil || CodeOf(nil) != "" {
		t.Fatal("nil")
	}
	if CodeOf(Newf(InvalidArgument, "max-keys")) != InvalidArgument {
		t.Fatal("CodeOf")
	}
	if s := Wrap(NoSuchKey, cause).Error(); !strings.Contains(s, "NoSuchKey") || !strings.Contains(s, "drive 3") {
		t.Fatalf("Error() = %q", s)
	}
}

type xmlError struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	Key        string
	BucketName string
	Resource   string
	RequestID  string `xml:"RequestId"`
	ServerTime string
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		err      error
		status   int
		body     bool
		code     string
		message  string
		resource string
	}{
		{"plain code", "GET", NoSuchKey, 404, true, "NoSuchKey", NoSuchKey.Message(), "/b/k%20x"},
		{"message", "PUT", Newf(InvalidArgument, "bad <max-keys> & more"), 400, true, "InvalidArgument", "bad <max-keys> & more", "/b/k%20x"},
		{"internal hides cause", "GET", errors.New("secret path /data1/x"), 500, true, "InternalError", InternalError.Message(), "/b/k%20x"},
		{"head has no body", "HEAD", NoSuchKey, 404, false, "", "", ""},
		{"304 has no body", "GET", NotModified, 304, false, "", "", ""},
		{"range", "GET", InvalidRange, 416, true, "InvalidRange", InvalidRange.Message(), "/b/k%20x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/b/k%2520x", nil)
			w := httptest.NewRecorder()
			w.Header().Set("ETag", `"abc"`)
			Write(w, r, tc.err, "REQ123")
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("X-Amz-Request-Id"); got != "REQ123" {
				t.Errorf("request id header %q", got)
			}
			if !tc.body {
				if w.Body.Len() != 0 {
					t.Fatalf("body %q", w.Body)
				}
				if tc.status == 304 && w.Header().Get("ETag") == "" {
					t.Error("304 lost its ETag")
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/xml" {
				t.Errorf("content type %q", ct)
			}
			if w.Header().Get("ETag") != "" {
				t.Error("an error response kept the object's ETag")
			}
			if !strings.HasPrefix(w.Body.String(), xml.Header) {
				t.Errorf("no XML declaration: %q", w.Body)
			}
			var got xmlError
			if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if got.Code != tc.code || got.Message != tc.message || got.Resource != tc.resource || got.RequestID != "REQ123" {
				t.Fatalf("got %+v", got)
			}
			if strings.Contains(w.Body.String(), "secret") {
				t.Fatal("the cause leaked to the client")
			}
		})
	}
}

func TestWriteDetailsKeyBucket(t *testing.T) {
	e := &Error{Code: RequestTimeTooSkewed, BucketName: "b", Key: "k\x00\xff<",
		Details: []Detail{{"ServerTime", "2013-05-24T00:00:00Z"}, {"Bad Name>", "x"}, {"", "y"}}}
	w := httptest.NewRecorder()
	Write(w, nil, fmt.Errorf("wrapped: %w", e), "")
	var got xmlError
	if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if got.ServerTime != "2013-05-24T00:00:00Z" || got.BucketName != "b" || got.Key != "k\uFFFD\uFFFD<" {
		t.Fatalf("got %+v from %q", got, w.Body)
	}
	if strings.Contains(w.Body.String(), "Bad Name") {
		t.Fatal("an invalid detail name was written")
	}
	Write(w, nil, nil, "") // no-op
}

// TestWriteKeepsUnsatisfiedRange: a 416 keeps a "bytes */length"
// Content-Range (RFC 9110 §15.5.17); any other error drops Content-Range,
// which described a body that is not being sent.
func TestWriteKeepsUnsatisfiedRange(t *testing.T) {
	for _, tc := range []struct {
		code Code
		set  string
		want string
	}{
		{InvalidRange, "bytes */42", "bytes */42"},
		{InvalidRange, "bytes 0-9/42", ""},
		{NoSuchKey, "bytes */42", ""},
	} {
		w := httptest.NewRecorder()
		w.Header().Set("Content-Range", tc.set)
		Write(w, httptest.NewRequest("GET", "/b/k", nil), New(tc.code), "id")
		if got := w.Header().Get("Content-Range"); got != tc.want {
			t.Errorf("%s with Content-Range %q: sent %q, want %q", tc.code, tc.set, got, tc.want)
		}
	}
}
