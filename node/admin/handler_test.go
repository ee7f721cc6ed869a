package admin

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

const (
	testAccessKey = "gridstoreadmin"
	testSecretKey = "s3cr3t-do-not-print-me"
)

func newTestServer(t *testing.T, src Sources) *httptest.Server {
	h := NewHandler(src, sigv4.StaticCredentials{testAccessKey: testSecretKey}, "", zaptest.NewLogger(t))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// send sends method on path, signed with secret unless it is "".
func send(t *testing.T, method, url, secret string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		s := sigv4.Signer{AccessKey: testAccessKey, SecretKey: secret}
		if err := s.Sign(req, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type errorDoc struct {
	Code, Message string
	RequestID     string `xml:"RequestId"`
}

func wantError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	var doc errorDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("error body is no XML error document: %v\n%s", err, body)
	}
	if doc.Code != code {
		t.Fatalf("code %q, want %q: %s", doc.Code, code, body)
	}
	if doc.RequestID == "" || doc.RequestID != resp.Header.Get("X-Amz-Request-Id") {
		t.Errorf("request ID %q in the body, %q in the header", doc.RequestID, resp.Header.Get("X-Amz-Request-Id"))
	}
	if strings.Contains(string(body), testSecretKey) {
		t.Errorf("error body holds the secret key: %s", body)
	}
}

func TestHandlerInfo(t *testing.T) {
	srv := newTestServer(t, testSources(t))
	resp := send(t, http.MethodGet, srv.URL+PathPrefix+"info", testSecretKey)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var info Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Node != "node1:9000" || len(info.Nodes) != 4 || len(info.Drives) != 8 || len(info.Sets) != 2 || len(info.Grid) != 3 {
		t.Fatalf("info %+v", info)
	}
	if info.Nodes[3].State != NodeDown || info.Drives[6].State != DriveOffline || info.Sets[1].WriteQuorumAvailable {
		t.Errorf("info %+v", info)
	}
}

func TestHandlerRefuses(t *testing.T) {
	srv := newTestServer(t, testSources(t))
	info := srv.URL + PathPrefix + "info"

	t.Run("unsigned", func(t *testing.T) {
		wantError(t, send(t, http.MethodGet, info, ""), http.StatusForbidden, "AccessDenied")
	})
	t.Run("unsigned unknown path", func(t *testing.T) {
		// The signature is checked first: no probing for paths.
		wantError(t, send(t, http.MethodGet, srv.URL+PathPrefix+"nope", ""), http.StatusForbidden, "AccessDenied")
	})
	t.Run("wrong secret", func(t *testing.T) {
		wantError(t, send(t, http.MethodGet, info, "not-the-secret"), http.StatusForbidden, "SignatureDoesNotMatch")
	})
	t.Run("unknown key", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, info, nil)
		s := sigv4.Signer{AccessKey: "someone", SecretKey: testSecretKey}
		if err := s.Sign(req, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		wantError(t, resp, http.StatusForbidden, "InvalidAccessKeyId")
	})
	t.Run("presigned", func(t *testing.T) {
		s := sigv4.Signer{AccessKey: testAccessKey, SecretKey: testSecretKey}
		u, err := s.Presign(http.MethodGet, info, nil, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, send(t, http.MethodGet, u, ""), http.StatusForbidden, "AccessDenied")
	})
	t.Run("unknown path", func(t *testing.T) {
		wantError(t, send(t, http.MethodGet, srv.URL+PathPrefix+"nope", testSecretKey), http.StatusNotFound, "NotFound")
		wantError(t, send(t, http.MethodGet, srv.URL+"/gridstore/admin/v2/info", testSecretKey), http.StatusNotFound, "NotFound")
	})
	t.Run("wrong method", func(t *testing.T) {
		resp := send(t, http.MethodPost, info, testSecretKey)
		if allow := resp.Header.Get("Allow"); allow != http.MethodGet {
			t.Errorf("Allow %q", allow)
		}
		wantError(t, resp, http.StatusMethodNotAllowed, "MethodNotAllowed")
	})
}

func TestClientInfo(t *testing.T) {
	src := testSources(t)
	srv := newTestServer(t, src)
	c := &Client{Endpoint: srv.URL + "/", AccessKey: testAccessKey, SecretKey: testSecretKey}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Collect(context.Background(), src)
	got, _ := json.Marshal(info)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("client info\n got %s\nwant %s", got, exp)
	}

	// A bare host:port means http.
	c.Endpoint = strings.TrimPrefix(srv.URL, "http://")
	if _, err := c.Info(context.Background()); err != nil {
		t.Errorf("host:port endpoint: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	srv := newTestServer(t, testSources(t))
	c := &Client{Endpoint: srv.URL, AccessKey: testAccessKey, SecretKey: "wrong-secret-key"}
	_, err := c.Info(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T), want *APIError", err, err)
	}
	if apiErr.StatusCode != http.StatusForbidden || apiErr.Code != "SignatureDoesNotMatch" || apiErr.RequestID == "" {
		t.Errorf("%+v", apiErr)
	}
	if !errors.Is(err, s3err.SignatureDoesNotMatch) || errors.Is(err, s3err.AccessDenied) {
		t.Errorf("errors.Is does not follow the code: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "SignatureDoesNotMatch") || strings.Contains(msg, "wrong-secret-key") {
		t.Errorf("error text %q", msg)
	}

	if _, err := (&Client{}).Info(context.Background()); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("no endpoint: %v", err)
	}

	// Something that is not a gridstore node answers.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer other.Close()
	c.Endpoint = other.URL
	_, err = c.Info(context.Background())
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != "" || apiErr.Message != "bad gateway" {
		t.Errorf("non-S3 answer: %v", err)
	}

	// Garbage with a 200.
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>"))
	}))
	defer garbage.Close()
	c.Endpoint = garbage.URL
	if _, err := c.Info(context.Background()); err == nil || !strings.Contains(err.Error(), "decoding") {
		t.Errorf("garbage answer: %v", err)
	}
}
