package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/internal/testpki"
	"github.com/gridstore/gridstore/node/admin"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitServerUp waits up to a minute for the server run writes to stdout to
// say it is up, failing the test if it exits first.
func waitServerUp(t *testing.T, stdout, stderr *syncBuffer, exited <-chan int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "is up") {
		select {
		case code := <-exited:
			t.Fatalf("server exited with %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not up after 60 s\nstderr: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr returns a loopback address nobody listens on (there is a small
// window in which another process could take it; tests accept that).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestServerCommand runs `gridstore server` in the test process: it comes up
// on local folders, prints where to connect (never the secret), answers
// `gridstore admin info` and `gridstore healthcheck`, and exits 0 when its
// context ends as SIGTERM ends it.
func TestServerCommand(t *testing.T) {
	const password = "server-command-test-password"
	t.Setenv(envRootUser, "cmdtest")
	t.Setenv(envRootPassword, password)
	addr := freeAddr(t)
	dir := t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"server", "--address", addr, "--log-level", "warn", filepath.Join(dir, "d{1...4}")}, &stdout, &stderr)
	}()

	waitServerUp(t, &stdout, &stderr, exited)
	out := stdout.String()
	if !strings.Contains(out, "http://"+addr) || !strings.Contains(out, "cmdtest") {
		t.Fatalf("banner does not say where and as whom to connect:\n%s", out)
	}
	if strings.Contains(out+stderr.String(), password) {
		t.Fatal("the secret key was printed")
	}

	var aout, aerr bytes.Buffer
	if code := run(ctx, []string{"admin", "info", "--endpoint", "http://" + addr}, &aout, &aerr); code != exitOK {
		t.Fatalf("admin info: exit %d: %s", code, aerr.String())
	}
	if !strings.Contains(aout.String(), "online") {
		t.Fatalf("admin info shows no online drive:\n%s", aout.String())
	}
	var hjout, hjerr bytes.Buffer
	if code := run(ctx, []string{"admin", "heal", "--json", "--endpoint", "http://" + addr}, &hjout, &hjerr); code != exitOK {
		t.Fatalf("admin heal --json: exit %d: %s", code, hjerr.String())
	}
	var heal admin.HealInfo
	if err := json.Unmarshal(hjout.Bytes(), &heal); err != nil || len(heal.Scan) != 1 || !heal.Scan[0].Owned || len(heal.Healed) != 4 {
		t.Fatalf("admin heal --json: %v\n%s", err, hjout.String())
	}
	var htout, hterr bytes.Buffer
	if code := run(ctx, []string{"admin", "heal", "--endpoint", "http://" + addr}, &htout, &hterr); code != exitOK ||
		!strings.Contains(htout.String(), "Scanner:") || !strings.Contains(htout.String(), "this node") {
		t.Fatalf("admin heal: exit %d: %s%s", code, htout.String(), hterr.String())
	}
	// The probe finds the node from the environment the server reads.
	t.Setenv(envAddress, addr)
	t.Setenv(envHealthcheckURL, "")
	var hout, herr bytes.Buffer
	if code := run(ctx, []string{"healthcheck"}, &hout, &herr); code != exitOK {
		t.Fatalf("healthcheck: exit %d: %s%s", code, hout.String(), herr.String())
	}

	stop() // what SIGTERM does through signal.NotifyContext
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("server exit code %d after SIGTERM\nstderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if _, err := http.Get("http://" + addr + "/health/live"); err == nil {
		t.Fatal("server still answers after exiting")
	}
}

// TestServerConfigErrors: a bad command line or environment stops the
// server before it touches anything, with exit code 2 and the reason.
func TestServerConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, env, val string
		args           []string
		want           string
	}{
		{name: "no endpoints", args: []string{"server"}, want: "no endpoints"},
		{name: "no credentials", env: envRootPassword, val: "", args: []string{"server", filepath.Join(dir, "a{1...4}")}, want: envRootUser},
		{name: "bad parity variable", env: envParity, val: "two", args: []string{"server", filepath.Join(dir, "b{1...4}")}, want: envParity},
		{name: "short password", env: envRootPassword, val: "short", args: []string{"server", "--address", "127.0.0.1:0", filepath.Join(dir, "c{1...4}")}, want: "at least 8"},
		{name: "bad endpoints", args: []string{"server", "--address", "127.0.0.1:0", filepath.Join(dir, "d{1...3}")}, want: "drive"},
		{name: "missing certificates directory", env: envCertsDir, val: filepath.Join(dir, "no-certs"), args: []string{"server", "--address", "127.0.0.1:0", filepath.Join(dir, "e{1...4}")}, want: "certificates directory"},
		{name: "certificates directory without files", args: []string{"server", "--address", "127.0.0.1:0", "--certs-dir", dir, filepath.Join(dir, "f{1...4}")}, want: "public.crt"},
		{name: "https endpoints without certificates", args: []string{"server", "--address", "127.0.0.1:0", "--self", "127.0.0.1:9", "https://127.0.0.1:{9...10}" + dir + "/g{1...2}"}, want: "https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envRootUser, "cmdtest")
			t.Setenv(envRootPassword, "long-enough-password")
			if tc.env != "" {
				t.Setenv(tc.env, tc.val)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr does not mention %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

// TestServerCommandTLS: with GRIDSTORE_CERTS_DIR the server serves https,
// says so in its banner, and a client that trusts the CA reaches it.
func TestServerCommandTLS(t *testing.T) {
	t.Setenv(envRootUser, "cmdtest")
	t.Setenv(envRootPassword, "server-command-tls-password")
	ca := testpki.NewCA(t, "command CA")
	t.Setenv(envCertsDir, testpki.WriteDir(t, ca.Issue(t, testpki.Leaf{}), ca))
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"server", "--address", addr, "--log-level", "warn", filepath.Join(t.TempDir(), "d{1...4}")}, &stdout, &stderr)
	}()
	waitServerUp(t, &stdout, &stderr, exited)
	if out := stdout.String(); !strings.Contains(out, "https://"+addr) {
		t.Fatalf("banner does not give the https endpoint:\n%s", out)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ready over https: %d", resp.StatusCode)
	}
	stop()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("server exit code %d\nstderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit")
	}
}
