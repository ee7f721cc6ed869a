package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// The profiling listener serves the runtime's profiles, block and mutex
// included, and never the command line (it may hold a password).
func TestPprofListener(t *testing.T) {
	addr, stop, err := startPprof("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []struct{ path, want string }{
		{"/debug/pprof/heap?debug=1", "heap profile"},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile"},
		{"/debug/pprof/block?debug=1", "contention"},
		{"/debug/pprof/mutex?debug=1", "sampling period=100"},
		{"/debug/pprof/profile?seconds=1", ""},
	} {
		code, body := get(p.path)
		if code != http.StatusOK || !strings.Contains(body, p.want) {
			t.Errorf("GET %s: %d, %.80q; want 200 with %q", p.path, code, body, p.want)
		}
	}
	if code, body := get("/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline: %d %.80q, want 404", code, body)
	}
}
