package clusterproc

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestClientTrace: the trace of two requests on one connection says the
// second reused it and when the server's answer began.
func TestClientTrace(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	ct := &clientTrace{start: time.Now()}
	ctx := ct.with(context.Background())
	for _, path := range []string{"/fast", "/slow"} {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	got := ct.String()
	parts := strings.Split(got, "; ")
	if len(parts) != 2 || !strings.Contains(parts[0], "(new)") || !strings.Contains(parts[1], "(reused)") {
		t.Fatalf("trace %q: want a new connection, then the same reused", got)
	}
	ex := ct.exchanges[1]
	if ex.firstByte-ex.wrote < 250*time.Millisecond {
		t.Fatalf("trace %q: the slow answer's first byte came %s after the request", got, ex.firstByte-ex.wrote)
	}
}
