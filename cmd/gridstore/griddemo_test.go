package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestGridDemo runs the whole demo for two nodes on ephemeral ports and checks
// it exercised both directions and shut down cleanly, leaving no goroutines.
func TestGridDemo(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv(envGridSecret, "")
	var stdout, stderr bytes.Buffer
	args := []string{
		"-nodes", "2", "-base-port", "0",
		"-requests", "50", "-stream-msgs", "20",
		"-duration", "500ms", "-interval", "100ms",
		"-log-level", "warn",
	}
	code := runGridDemo(context.Background(), args, &stdout, &stderr)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, &stderr)
	}
	for _, want := range []string{
		"all nodes connected",
		"20 msgs x 1024 B",
		"elapsed, shutting down",
		"2 nodes closed cleanly",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "msgs x"); n != 2 {
		t.Errorf("exercised %d pairs, want 2 (each direction):\n%s", n, out)
	}
}

// TestGridDemoCancelled checks the demo stops, cleanly and at once, when its
// context is cancelled (what SIGINT does) before the nodes even connected.
func TestGridDemoCancelled(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := runGridDemo(ctx, []string{"-nodes", "2", "-base-port", "0"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d for an interrupted demo\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	for _, want := range []string{"interrupted", "context canceled", "2 nodes closed cleanly"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout does not contain %q:\n%s", want, &stdout)
		}
	}
}

func TestClusterSecret(t *testing.T) {
	t.Setenv(envGridSecret, "short")
	if _, _, err := clusterSecret(); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short secret: err = %v", err)
	}
	t.Setenv(envGridSecret, "0123456789abcdef0123")
	s, from, err := clusterSecret()
	if err != nil || string(s) != "0123456789abcdef0123" || strings.Contains(from, string(s)) {
		t.Errorf("env secret: %q, %q, %v", s, from, err)
	}
	t.Setenv(envGridSecret, "")
	a, _, err1 := clusterSecret()
	b, _, err2 := clusterSecret()
	if err1 != nil || err2 != nil || len(a) < 16 || bytes.Equal(a, b) {
		t.Errorf("random secrets: %x, %x, %v, %v", a, b, err1, err2)
	}
}
