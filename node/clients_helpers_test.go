package node

// Shared helpers of the real-client tests (minio_test.go, awssdk_test.go):
// deterministic payloads, a RoundTripper that records what the clients put
// on the wire, a TLS listener for the node, and plain net/http requests for
// presigned URLs.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientRegion is the region every client signs for (the node's default).
const clientRegion = "us-east-1"

// payload returns n deterministic pseudo-random bytes for seed.
func payload(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	r := mrand.NewChaCha8(s)
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// md5Hex is the hex MD5 of b: a single-part object's ETag.
func md5Hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// wireRecord is what recorder saw of one request.
type wireRecord struct {
	Method, Path, RawQuery, Host string
	ContentSHA256                string // x-amz-content-sha256
	ContentEncoding              string
	DecodedLength                string // x-amz-decoded-content-length
	Trailer                      string // x-amz-trailer
	ChecksumHeaders              []string
	AuthScheme                   string // first word of Authorization ("AWS4-HMAC-SHA256", "AWS")
	Status                       int
}

// recorder is an http.RoundTripper that records every request a client
// sends (and the status it got) before passing it to its transport.
type recorder struct {
	next *http.Transport
	mu   sync.Mutex
	recs []wireRecord
}

// newRecorder returns a recorder over a fresh transport; dial, if set,
// replaces the transport's dialer (virtual-host tests map every host to the
// node). The transport's idle connections are closed at the end of the
// test, so that goleak sees no connection goroutine left.
func newRecorder(t testing.TB, dial func(ctx context.Context, network, addr string) (net.Conn, error), tlsCfg *tls.Config) *recorder {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
		TLSClientConfig:     tlsCfg,
		ForceAttemptHTTP2:   false,
	}
	if dial != nil {
		tr.DialContext = dial
	} else {
		tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &recorder{next: tr}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := wireRecord{
		Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery, Host: req.Host,
		ContentSHA256:   req.Header.Get("X-Amz-Content-Sha256"),
		ContentEncoding: req.Header.Get("Content-Encoding"),
		DecodedLength:   req.Header.Get("X-Amz-Decoded-Content-Length"),
		Trailer:         req.Header.Get("X-Amz-Trailer"),
	}
	rec.AuthScheme, _, _ = strings.Cut(req.Header.Get("Authorization"), " ")
	if rec.Host == "" {
		rec.Host = req.URL.Host
	}
	for k := range req.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
			rec.ChecksumHeaders = append(rec.ChecksumHeaders, strings.ToLower(k))
		}
	}
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		rec.Status = resp.StatusCode
	}
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return resp, err
}

// client is a plain HTTP client over the recorder.
func (r *recorder) client() *http.Client { return &http.Client{Transport: r} }

// find returns the records of method ("" for any) whose path ends with
// pathSuffix and whose raw query contains query.
func (r *recorder) find(method, pathSuffix, query string) []wireRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wireRecord
	for _, rec := range r.recs {
		if (method == "" || rec.Method == method) && strings.HasSuffix(rec.Path, pathSuffix) && strings.Contains(rec.RawQuery, query) {
			out = append(out, rec)
		}
	}
	return out
}

// last returns the last record find returns, failing the test if none.
func (r *recorder) last(t testing.TB, method, pathSuffix, query string) wireRecord {
	t.Helper()
	recs := r.find(method, pathSuffix, query)
	if len(recs) == 0 {
		t.Fatalf("no %s %s?%s request was sent", method, pathSuffix, query)
	}
	return recs[len(recs)-1]
}

// localTLS returns a TLS listener on 127.0.0.1 with a fresh self-signed
// certificate for 127.0.0.1 and localhost, and a client configuration that
// trusts it. The node serves HTTP/1.1 on it (no h2 in NextProtos).
func localTLS(t testing.TB) (net.Listener, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gridstore test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inner.Close() })
	ln := tls.NewListener(inner, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	})
	return ln, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// dialTo returns a dialer that connects to addr whatever host was asked
// for: how virtual-host-style clients reach the node without DNS.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
}

// httpDo sends a request with a plain client (no S3 signing: presigned
// URLs) and returns the status, the headers and the body.
func httpDo(t testing.TB, c *http.Client, method, url string, hdr http.Header, body []byte) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// testCtx returns a context for one client step, bounded well below the
// test binary's timeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
