package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gobwas/ws"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/internal/testpki"
	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/storage/remote"
)

// TestLoadTLS: a good certificates directory gives the server and client
// configurations the node needs, with or without ca.crt.
func TestLoadTLS(t *testing.T) {
	ca := testpki.NewCA(t, "load CA")
	leaf := ca.Issue(t, testpki.Leaf{})
	nt, err := loadTLS(testpki.WriteDir(t, leaf, ca))
	if err != nil {
		t.Fatal(err)
	}
	if err := nt.checkPeers("127.0.0.1"); err != nil {
		t.Fatalf("checkPeers: %v", err)
	}
	s, c := nt.server, nt.client
	switch {
	case s.ClientAuth != tls.VerifyClientCertIfGiven || s.ClientCAs == nil || s.MinVersion < tls.VersionTLS12:
		t.Errorf("server config: ClientAuth %v, ClientCAs set %v, MinVersion %x", s.ClientAuth, s.ClientCAs != nil, s.MinVersion)
	case !slices.Equal(s.NextProtos, []string{"http/1.1"}):
		t.Errorf("server NextProtos %q: the grid's upgrade needs HTTP/1.1", s.NextProtos)
	case c.RootCAs == nil || len(c.Certificates) != 1 || c.MinVersion != tls.VersionTLS13:
		t.Errorf("client config: RootCAs set %v, %d certificates, MinVersion %x", c.RootCAs != nil, len(c.Certificates), c.MinVersion)
	case !bytes.Equal(c.Certificates[0].Certificate[0], leaf.Cert.Raw):
		t.Error("the client presents another certificate than public.crt")
	}

	// Without ca.crt the system roots are trusted: nil pools. Our test CA
	// is not among them, so peers could not verify this certificate, which
	// checkPeers says.
	nt, err = loadTLS(testpki.WriteDir(t, leaf, nil))
	if err != nil {
		t.Fatal(err)
	}
	if nt.cas != nil || nt.server.ClientCAs != nil || nt.client.RootCAs != nil {
		t.Error("without ca.crt the pools must be nil (system roots)")
	}
	if err := nt.checkPeers("127.0.0.1"); err == nil || !strings.Contains(err.Error(), "system roots") {
		t.Errorf("checkPeers against the system roots: %v", err)
	}
}

// TestLoadTLSErrors: every broken directory is refused with an error that
// names the file and the problem, and never shows the key.
func TestLoadTLSErrors(t *testing.T) {
	ca := testpki.NewCA(t, "errors CA")
	leaf := ca.Issue(t, testpki.Leaf{})
	other := ca.Issue(t, testpki.Leaf{})
	// A directory from good parts, with one file replaced.
	dirWith := func(name string, data []byte) string {
		dir := testpki.WriteDir(t, leaf, ca)
		path := filepath.Join(dir, name)
		if data == nil {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("not really")})
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte("x")})
	badDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	expired := ca.Issue(t, testpki.Leaf{NotAfter: time.Now().Add(-time.Minute)})

	for _, tc := range []struct {
		name, dir string
		want      []string // all in the error
	}{
		{"missing directory", filepath.Join(t.TempDir(), "nope"), []string{"certificates directory", "no such file"}},
		{"not a directory", notADir, []string{"not a directory"}},
		{"missing public.crt", dirWith(CertFileName, nil), []string{CertFileName, "no such file"}},
		{"missing private.key", dirWith(KeyFileName, nil), []string{KeyFileName, "no such file"}},
		{"public.crt not PEM", dirWith(CertFileName, []byte("hello")), []string{CertFileName, "no PEM certificate"}},
		{"public.crt bad DER", dirWith(CertFileName, badDER), []string{CertFileName, "certificate 1"}},
		{"key in public.crt", dirWith(CertFileName, leaf.KeyPEM), []string{CertFileName, `"PRIVATE KEY"`, "want CERTIFICATE"}},
		{"private.key not PEM", dirWith(KeyFileName, []byte("hello")), []string{KeyFileName, "no PEM data"}},
		{"certificate in private.key", dirWith(KeyFileName, leaf.CertPEM), []string{KeyFileName, `"CERTIFICATE"`, "want a private key"}},
		{"encrypted key", dirWith(KeyFileName, encrypted), []string{KeyFileName, "encrypted"}},
		{"legacy encrypted key", dirWith(KeyFileName, legacyEncrypted), []string{KeyFileName, "encrypted"}},
		{"key of another certificate", dirWith(KeyFileName, other.KeyPEM), []string{CertFileName, KeyFileName, "does not match"}},
		{"ca.crt not PEM", dirWith(CAFileName, []byte("hello")), []string{CAFileName, "no PEM certificate"}},
		{"expired", testpki.WriteDir(t, expired, ca), []string{CertFileName, "expired"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadTLS(tc.dir)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, key := range [][]byte{leaf.KeyPEM, other.KeyPEM} {
				b, _ := pem.Decode(key)
				if strings.Contains(err.Error(), "PRIVATE KEY-----") || bytes.Contains([]byte(err.Error()), b.Bytes[:16]) {
					t.Errorf("error shows key material: %q", err)
				}
			}
		})
	}

	if os.Geteuid() != 0 { // root reads any file
		dir := testpki.WriteDir(t, leaf, ca)
		if err := os.Chmod(filepath.Join(dir, KeyFileName), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := loadTLS(dir); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("unreadable key: %v", err)
		}
	}
}

// TestCheckPeersErrors: a certificate peers would refuse stops a node of a
// multi-node deployment at start, with the reason.
func TestCheckPeersErrors(t *testing.T) {
	ca := testpki.NewCA(t, "peers CA")
	for _, tc := range []struct {
		name string
		leaf testpki.Leaf
		host string
		want string
	}{
		{"server only", testpki.Leaf{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, "127.0.0.1", "client authentication"},
		{"client only", testpki.Leaf{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, "127.0.0.1", "server authentication"},
		{"other host", testpki.Leaf{}, "10.1.2.3", `host "10.1.2.3"`},
		{"other name", testpki.Leaf{DNSNames: []string{"node1"}}, "node2", `host "node2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nt, err := loadTLS(testpki.WriteDir(t, ca.Issue(t, tc.leaf), ca))
			if err != nil {
				t.Fatal(err)
			}
			if err := nt.checkPeers(tc.host); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkPeers: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// Signed by another CA than ca.crt.
	nt, err := loadTLS(testpki.WriteDir(t, testpki.NewCA(t, "stranger").Issue(t, testpki.Leaf{}), ca))
	if err != nil {
		t.Fatal(err)
	}
	if err := nt.checkPeers("127.0.0.1"); err == nil || !strings.Contains(err.Error(), CAFileName) {
		t.Errorf("certificate of another CA: %v", err)
	}
}

// TestStartTLSConfigErrors: Start refuses, as ErrConfig, a broken
// certificates directory, a certificate peers would refuse, and https://
// endpoints without certificates.
func TestStartTLSConfigErrors(t *testing.T) {
	ca := testpki.NewCA(t, "start CA")
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
		want  string
	}{
		{"missing directory", func(c *Config) { c.CertsDir = filepath.Join(t.TempDir(), "none") }, "certificates directory"},
		{"https without certificates", func(c *Config) {
			for i, e := range c.Endpoints {
				c.Endpoints[i] = strings.Replace(e, "http://", "https://", 1)
			}
		}, "https://"},
		{"certificate for another host", func(c *Config) {
			c.CertsDir = testpki.WriteDir(t, ca.Issue(t, testpki.Leaf{DNSNames: []string{"elsewhere"}}), ca)
		}, "does not name this node's host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clusterConfigs(t, 2, 2)[0]
			cfg.Endpoints = slices.Clone(cfg.Endpoints)
			tc.tweak(&cfg)
			n, err := Start(context.Background(), cfg)
			if err == nil {
				_ = n.Shutdown(context.Background())
				t.Fatal("started")
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want ErrConfig saying %q", err, tc.want)
			}
		})
	}
}

// tlsCluster starts nodes nodes of two drives over TLS, each with its own
// certificate from one test CA, the endpoint list written with scheme.
func tlsCluster(t *testing.T, nodes int, scheme string) ([]*testNode, *testpki.CA) {
	t.Helper()
	ca := testpki.NewCA(t, "cluster CA")
	dirs := make([]string, nodes)
	for i := range dirs {
		dirs[i] = testpki.WriteDir(t, ca.Issue(t, testpki.Leaf{CommonName: "node" + string(rune('1'+i))}), ca)
	}
	return startCluster(t, nodes, 2, func(i int, c *Config) {
		c.CertsDir = dirs[i]
		eps := slices.Clone(c.Endpoints)
		for j, e := range eps {
			eps[j] = strings.Replace(e, "http://", scheme+"://", 1)
		}
		c.Endpoints = eps
	}), ca
}

// TestClusterOverTLS: four nodes with certificates serve S3 over https to a
// client that has none, run their grid and shard reads over TLS (a GET of an
// object with shards on every node succeeds from each), report their grid
// connections up, and refuse plain http, grid upgrades and shard reads
// without a client certificate. The endpoint list may say http:// (the
// nodes use TLS anyway) or https://.
func TestClusterOverTLS(t *testing.T) {
	for _, scheme := range []string{"https", "http"} {
		t.Run("endpoints="+scheme, func(t *testing.T) {
			nodes, ca := tlsCluster(t, 4, scheme)
			trust := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
			for _, n := range nodes {
				if !strings.HasPrefix(n.URL, "https://") {
					t.Fatalf("node URL %s", n.URL)
				}
			}
			clientVia := func(n *testNode) *s3.Client {
				c, _ := newAWS(t, n, awsOpts{rec: newRecorder(t, nil, trust)})
				return c
			}
			ctx := testCtx(t)
			const b = "tls-bucket"
			if _, err := clientVia(nodes[0]).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
				t.Fatal(err)
			}
			// 2.1 MB: several blocks, not inline, so shards are on every
			// node and GETs read most of them from peers over https.
			data := payload(7, 2_100_000)
			small := []byte("small object, inline in its metadata")
			if _, err := clientVia(nodes[1]).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("big"), Body: bytes.NewReader(data)}); err != nil {
				t.Fatal(err)
			}
			if _, err := clientVia(nodes[2]).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("dir/small"), Body: bytes.NewReader(small)}); err != nil {
				t.Fatal(err)
			}
			for i, n := range nodes {
				c := clientVia(n)
				if got := awsMustGet(t, c, b, "big"); !bytes.Equal(got, data) {
					t.Fatalf("GET big from node %d: %d bytes, not the object", i, len(got))
				}
				if got := awsMustGet(t, c, b, "dir/small"); !bytes.Equal(got, small) {
					t.Fatalf("GET small from node %d: %q", i, got)
				}
				l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
				if err != nil {
					t.Fatalf("list via node %d: %v", i, err)
				}
				var keys []string
				for _, o := range l.Contents {
					keys = append(keys, aws.ToString(o.Key))
				}
				if !slices.Equal(keys, []string{"big", "dir/small"}) {
					t.Fatalf("list via node %d: %q", i, keys)
				}
			}
			if _, err := clientVia(nodes[3]).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("big")}); err != nil {
				t.Fatal(err)
			}
			_, err := clientVia(nodes[0]).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("big")})
			if awsStatus(err) != http.StatusNotFound {
				t.Fatalf("HEAD after DELETE via another node: %v", err)
			}

			// Every node's grid is up to its three peers.
			tr := &http.Transport{TLSClientConfig: trust}
			t.Cleanup(tr.CloseIdleConnections)
			for i, n := range nodes {
				ac := admin.Client{Endpoint: n.URL, AccessKey: testUser, SecretKey: testPassword, HTTP: &http.Client{Transport: tr}}
				info, err := ac.Info(ctx)
				if err != nil {
					t.Fatalf("admin info of node %d over https: %v", i, err)
				}
				if len(info.Grid) != 3 {
					t.Fatalf("node %d: %d grid connections, want 3", i, len(info.Grid))
				}
				for _, g := range info.Grid {
					if g.State != grid.StateConnected.String() {
						t.Fatalf("node %d: grid connection %+v not connected", i, g)
					}
				}
			}

			refusals(t, nodes[0], ca)
		})
	}
}

// refusals checks what a TLS node refuses: plain http anywhere, a grid
// upgrade or a shard read over TLS without a client certificate; and that
// with a certificate the CA signed a grid upgrade gets past TLS to the
// token check.
func refusals(t *testing.T, n *testNode, ca *testpki.CA) {
	t.Helper()
	addr := n.Addr()
	gridPath := LocalConfig().Timing.Grid.Path
	ctx := testCtx(t)
	dial := func(d ws.Dialer, url string) int {
		t.Helper()
		conn, _, _, err := d.Dial(ctx, url)
		if err == nil {
			_ = conn.Close()
			t.Fatalf("websocket dial %s succeeded", url)
		}
		var se ws.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("websocket dial %s: %v, want an HTTP refusal", url, err)
		}
		return int(se)
	}
	// Plain ws to the TLS port: net/http answers an HTTP/1.0 400 before
	// any handler, which the websocket client takes for a broken
	// handshake (the table below sees the 400 itself).
	if conn, _, _, err := (ws.Dialer{Timeout: 5 * time.Second}).Dial(ctx, "ws://"+addr+gridPath); err == nil {
		_ = conn.Close()
		t.Error("plain ws grid dial to a TLS node succeeded")
	}
	trust := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	if code := dial(ws.Dialer{Timeout: 5 * time.Second, TLSConfig: trust}, "wss://"+addr+gridPath); code != http.StatusForbidden {
		t.Errorf("wss grid dial without a client certificate: %d, want 403", code)
	}
	withCert := trust.Clone()
	withCert.Certificates = []tls.Certificate{ca.Issue(t, testpki.Leaf{}).TLS}
	if code := dial(ws.Dialer{Timeout: 5 * time.Second, TLSConfig: withCert}, "wss://"+addr+gridPath); code != http.StatusUnauthorized {
		t.Errorf("wss grid dial with a certificate but no token: %d, want 401 (past TLS, refused by the token check)", code)
	}

	for _, c := range []struct {
		name   string
		scheme string
		cfg    *tls.Config
		path   string
		want   int
	}{
		{"plain http grid", "http", nil, gridPath, http.StatusBadRequest},
		{"plain http S3", "http", nil, "/", http.StatusBadRequest},
		{"plain http health", "http", nil, PathLive, http.StatusBadRequest},
		{"https health", "https", trust, PathLive, http.StatusOK},
		{"shard read without a client certificate", "https", trust, remote.ReadPath, http.StatusForbidden},
		{"shard read with a certificate, unsigned", "https", withCert, remote.ReadPath, http.StatusUnauthorized},
	} {
		tr := &http.Transport{TLSClientConfig: c.cfg}
		resp, err := (&http.Client{Transport: tr}).Get(c.scheme + "://" + addr + c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}

	// A certificate of another CA does not get through the handshake. (A
	// Go client given it in Certificates would not even send it, the
	// server's list of acceptable CAs not naming its issuer, and would be
	// an anonymous client: refused by the grid and the read endpoint as
	// above. GetClientCertificate sends it regardless.)
	strangerCert := testpki.NewCA(t, "stranger").Issue(t, testpki.Leaf{}).TLS
	stranger := trust.Clone()
	stranger.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &strangerCert, nil }
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, stranger)
	if err == nil {
		// TLS 1.3: the server's verdict on the client certificate
		// arrives after the client's handshake ends, on the first read.
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		_ = conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("client certificate of another CA: %v, want a handshake refusal", err)
	}
}
