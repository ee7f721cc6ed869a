package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/internal/testpki"
)

// TestHealthURL: without --url the probe asks the node the server's own
// settings describe, on loopback when the node listens on every interface.
func TestHealthURL(t *testing.T) {
	for _, tc := range []struct {
		address string
		tls     bool
		want    string
	}{
		{address: ":9000", want: "http://127.0.0.1:9000/health/ready"},
		{address: ":9000", tls: true, want: "https://127.0.0.1:9000/health/ready"},
		{address: "0.0.0.0:9100", want: "http://127.0.0.1:9100/health/ready"},
		{address: "[::]:9100", want: "http://127.0.0.1:9100/health/ready"},
		{address: "10.1.2.3:9000", tls: true, want: "https://10.1.2.3:9000/health/ready"},
		{address: "[::1]:9000", want: "http://[::1]:9000/health/ready"},
		{address: "node1:9000", want: "http://node1:9000/health/ready"},
	} {
		got, err := healthURL(tc.address, tc.tls)
		if err != nil || got != tc.want {
			t.Errorf("healthURL(%q, %v) = %q, %v; want %q", tc.address, tc.tls, got, err, tc.want)
		}
	}
	for _, bad := range []string{"9000", "", "127.0.0.1:0", ":"} {
		if got, err := healthURL(bad, false); err == nil {
			t.Errorf("healthURL(%q) = %q, want an error", bad, got)
		}
	}
}

// TestHealthcheckTLS: a node serving TLS is probed over https with only its
// environment (GRIDSTORE_ADDRESS, GRIDSTORE_CERTS_DIR), although its
// certificate names "node1", not 127.0.0.1, and its CA is in no trust
// store; a server showing another certificate fails the probe, and so does
// a plain-http probe, which is what the probe did before it followed the
// node's scheme.
func TestHealthcheckTLS(t *testing.T) {
	t.Setenv(envRootUser, "cmdtest")
	t.Setenv(envRootPassword, "healthcheck-tls-password")
	ca := testpki.NewCA(t, "healthcheck CA")
	certs := testpki.WriteDir(t, ca.Issue(t, testpki.Leaf{DNSNames: []string{"node1"}}), nil)
	t.Setenv(envCertsDir, certs)
	addr := freeAddr(t)
	t.Setenv(envAddress, addr)
	t.Setenv(envHealthcheckURL, "")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"server", "--log-level", "warn", filepath.Join(t.TempDir(), "d{1...4}")}, &stdout, &stderr)
	}()
	defer func() {
		stop()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Error("server did not exit")
		}
	}()
	waitServerUp(t, &stdout, &stderr, exited)

	probe := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"healthcheck"}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := probe(); code != exitOK || !strings.Contains(out, "200") {
		t.Fatalf("probe with the node's environment: exit %d: %s", code, out)
	}

	other := testpki.NewCA(t, "another CA")
	otherCerts := testpki.WriteDir(t, other.Issue(t, testpki.Leaf{DNSNames: []string{"node1"}}), nil)
	if code, out := probe("--certs-dir", otherCerts); code != exitError || !strings.Contains(out, "not the node's own") {
		t.Fatalf("probe pinned to another certificate: exit %d, want %d and a reason: %s", code, exitError, out)
	}
	if code, out := probe("--certs-dir", ""); code != exitError {
		t.Fatalf("plain-http probe of a TLS node: exit %d, want %d: %s", code, exitError, out)
	}
	if code, out := probe("--certs-dir", t.TempDir()); code != exitUsage || !strings.Contains(out, "public.crt") {
		t.Fatalf("probe with a certificates directory without public.crt: exit %d, want %d: %s", code, exitUsage, out)
	}
}
