package remote

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/internal/testpki"
	"github.com/gridstore/gridstore/storage"
)

// testPKI is a test CA and one certificate it signed for 127.0.0.1, usable
// as server and client certificate, with the TLS configurations a node
// builds from them.
type testPKI struct {
	pool   *x509.CertPool
	cert   tls.Certificate
	server *tls.Config // VerifyClientCertIfGiven with the CA
	client *tls.Config // trusts the CA, presents cert
}

// newTestPKI makes a CA and a node certificate signed by it.
func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	ca := testpki.NewCA(t, "remote test CA")
	p := &testPKI{pool: ca.Pool(), cert: ca.Issue(t, testpki.Leaf{}).TLS}
	p.server = &tls.Config{
		Certificates: []tls.Certificate{p.cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    p.pool,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	p.client = &tls.Config{Certificates: []tls.Certificate{p.cert}, RootCAs: p.pool, MinVersion: tls.VersionTLS13}
	return p
}

// TestReadOverTLS: with OverTLS, drive calls over wss and range reads over
// https work, the zero-copy and the plain paths alike; the read endpoint
// refuses requests without a verified client certificate (even correctly
// signed ones), plain http, and a certificate of another CA.
func TestReadOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	c := startTestCluster(t, pki)
	dir := t.TempDir()
	data := writeTestFile(t, dir, "f", 300_000)
	for _, plain := range []bool{false, true} {
		d := c.serve(t, &fileDrive{endpoint: "/tls/" + map[bool]string{false: "ranged", true: "plain"}[plain], dir: dir, plain: plain})
		for _, r := range [][2]int64{{0, -1}, {4096, 200_000}, {299_999, 1}} {
			got, err := readAll(t, d, rangeVolume, "f", r[0], r[1])
			end := r[0] + r[1]
			if r[1] < 0 {
				end = int64(len(data))
			}
			if err != nil || !bytes.Equal(got, data[r[0]:end]) {
				t.Fatalf("plain=%v range %v over TLS: %d bytes, %v", plain, r, len(got), err)
			}
		}
	}
	// A grid call over wss, then a read of what it wrote.
	ld := c.serve(t, newLocalDrive(t))
	if err := ld.CreateFile(t.Context(), storage.TmpVolume, "g", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, ld, storage.TmpVolume, "g", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back a file written over wss: %d bytes, %v", len(got), err)
	}

	query := readQuery{drive: "/tls/ranged", volume: rangeVolume, path: "f", length: 10}.encode()
	signed := func(scheme string) *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, scheme+c.server.addr+ReadPath+"?"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.client.m.SignHTTP(req, c.server.addr)
		return req
	}
	// Trusts the server, presents nothing.
	anon := NewHTTPClient(&tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12})
	t.Cleanup(anon.CloseIdleConnections)
	resp, err := anon.Do(signed("https://"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("signed read without a client certificate: %d, want 403", resp.StatusCode)
	}
	rc, err := NewClient(c.client.m, c.server.addr, "/tls/ranged", anon, OverTLS())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, rc, rangeVolume, "f", 0, 1); !errors.Is(err, grid.ErrTLSRequired) {
		t.Errorf("Client without a certificate: %v, want grid.ErrTLSRequired", err)
	}

	// Plain http on the TLS port: net/http answers 400 before any handler.
	resp, err = http.DefaultClient.Do(signed("http://"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain http to the TLS port: %d, want 400", resp.StatusCode)
	}

	// A certificate the server's CA did not sign fails the handshake.
	other := newTestPKI(t)
	stranger := NewHTTPClient(&tls.Config{Certificates: []tls.Certificate{other.cert}, RootCAs: pki.pool, MinVersion: tls.VersionTLS13})
	t.Cleanup(stranger.CloseIdleConnections)
	// TLS 1.3 reports a refused client certificate on the first read,
	// which for net/http is the response: the request fails either way.
	if resp, err := stranger.Do(signed("https://")); err == nil {
		resp.Body.Close()
		t.Errorf("a certificate of another CA was accepted: %d", resp.StatusCode)
	}

	if _, err := NewClient(c.client.m, c.server.addr, "/x", nil, OverTLS()); err == nil {
		t.Error("NewClient accepted OverTLS without an HTTP client")
	}
}
