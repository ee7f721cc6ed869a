package node

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"
)

// Files of a certificates directory (Config.CertsDir).
const (
	// CertFileName holds the node's certificate, PEM, leaf first, then any
	// intermediates peers and clients need to reach the CA.
	CertFileName = "public.crt"
	// KeyFileName holds the certificate's private key, PEM, unencrypted
	// (PKCS #8, PKCS #1 or SEC 1).
	KeyFileName = "private.key"
	// CAFileName, optional, holds the CA certificates (PEM) that sign the
	// nodes' certificates: what this node trusts in a peer, as server and
	// as client. Without it the system's roots are used.
	CAFileName = "ca.crt"
)

// nodeTLS is what a certificates directory gives a node: the server side of
// its listener and the client side of its connections to peers (the grid's
// wss dials and the shard reads).
type nodeTLS struct {
	dir   string
	leaf  *x509.Certificate
	chain []*x509.Certificate // after the leaf, from CertFileName
	cas   *x509.CertPool      // nil: the system roots
	// server asks for, but does not require, a client certificate: S3
	// clients present none, peers present theirs, and the grid and the
	// read endpoint refuse requests without a verified one.
	server *tls.Config
	client *tls.Config
}

// loadTLS reads a certificates directory and checks what the node itself
// needs: readable files, well-formed PEM, a key that matches the
// certificate, a certificate still valid. What peers need of it is checked
// by checkPeers, once the node knows it has peers. Errors name the file and
// never include key material. The files are read once: a renewed
// certificate takes a restart.
func loadTLS(dir string) (*nodeTLS, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("certificates directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("certificates directory %s is not a directory", dir)
	}
	certPath, keyPath := filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	certs, err := parseCertsPEM(certPEM, certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if err := checkKeyPEM(keyPEM, keyPath); err != nil {
		return nil, err
	}
	// X509KeyPair parses the key and checks it belongs to the certificate;
	// its errors say what is wrong, never what the key is.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certPath, keyPath, err)
	}
	t := &nodeTLS{dir: dir, leaf: certs[0], chain: certs[1:]}
	pair.Leaf = t.leaf
	if time.Now().After(t.leaf.NotAfter) {
		return nil, fmt.Errorf("%s: the certificate expired on %s", certPath, t.leaf.NotAfter.UTC().Format(time.RFC3339))
	}

	caPath := filepath.Join(dir, CAFileName)
	switch caPEM, err := os.ReadFile(caPath); {
	case errors.Is(err, fs.ErrNotExist):
		// nil pools make crypto/tls use the system roots.
	case err != nil:
		return nil, fmt.Errorf("CA certificates: %w", err)
	default:
		cas, err := parseCertsPEM(caPEM, caPath)
		if err != nil {
			return nil, err
		}
		t.cas = x509.NewCertPool()
		for _, c := range cas {
			t.cas.AddCert(c)
		}
	}

	t.server = &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    t.cas,
		// S3 clients may be old; TLS 1.3 is negotiated whenever they
		// offer it.
		MinVersion: tls.VersionTLS12,
		// HTTP/1.1 only: the grid's websocket upgrade takes over the
		// connection, which HTTP/2 cannot do, and the S3 API is tested
		// over HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}
	t.client = &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      t.cas,
		// Both ends are gridstore nodes of one build: nothing older than
		// TLS 1.3 is ever needed between them.
		MinVersion: tls.VersionTLS13,
	}
	return t, nil
}

// checkPeers checks that peers will accept this node's certificate: it
// chains to the CAs for both server and client use, and names selfHost (the
// host of this node in the endpoint list), which peers verify when they
// dial it.
func (t *nodeTLS) checkPeers(selfHost string) error {
	certPath := filepath.Join(t.dir, CertFileName)
	trust := "the CA certificates in " + filepath.Join(t.dir, CAFileName)
	if t.cas == nil {
		trust = "the system roots (there is no " + CAFileName + ")"
	}
	inter := x509.NewCertPool()
	for _, c := range t.chain {
		inter.AddCert(c)
	}
	for _, use := range []struct {
		eku  x509.ExtKeyUsage
		what string
	}{
		{x509.ExtKeyUsageServerAuth, "server authentication (peers dial this node)"},
		{x509.ExtKeyUsageClientAuth, "client authentication (this node dials peers with it)"},
	} {
		_, err := t.leaf.Verify(x509.VerifyOptions{Roots: t.cas, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{use.eku}})
		if err != nil {
			return fmt.Errorf("%s does not verify against %s for %s: %w", certPath, trust, use.what, err)
		}
	}
	if err := t.leaf.VerifyHostname(selfHost); err != nil {
		return fmt.Errorf("%s does not name this node's host %q as the endpoints write it (peers check it when they dial): %w",
			certPath, selfHost, err)
	}
	return nil
}

// logFields describe the certificate for the start-up log: names and
// validity, nothing secret.
func (t *nodeTLS) logFields() []zap.Field {
	ips := make([]string, 0, len(t.leaf.IPAddresses))
	for _, ip := range t.leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	cas := CAFileName
	if t.cas == nil {
		cas = "system roots"
	}
	return []zap.Field{
		zap.String("certs_dir", t.dir),
		zap.String("subject", t.leaf.Subject.String()),
		zap.Strings("dns_names", t.leaf.DNSNames),
		zap.Strings("ip_addresses", ips),
		// A string: the console encoder would print a zap.Time as the
		// time of day only, hiding the date that matters here.
		zap.String("not_after", t.leaf.NotAfter.UTC().Format(time.RFC3339)),
		zap.String("trusted_cas", cas),
	}
}

// parseCertsPEM parses every CERTIFICATE block of a PEM file (text between
// blocks, as openssl writes it, is skipped) and wants at least one.
func parseCertsPEM(data []byte, path string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i := 1; ; i++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			// The type names what is there (a key in the wrong file,
			// say) without showing it.
			return nil, fmt.Errorf("%s: PEM block %d is %q, want CERTIFICATE", path, i, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, i, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return out, nil
}

// checkKeyPEM gives clear errors for the usual mistakes with a key file
// before X509KeyPair parses it: no PEM at all, a certificate in its place,
// an encrypted key (the node has nobody to ask for a passphrase).
func checkKeyPEM(data []byte, path string) error {
	b, _ := pem.Decode(data)
	switch {
	case b == nil:
		return fmt.Errorf("%s: no PEM data found", path)
	case b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] == "4,ENCRYPTED":
		return fmt.Errorf("%s: the key is encrypted; give it unencrypted and protect the file instead", path)
	case !slices.Contains([]string{"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"}, b.Type):
		return fmt.Errorf("%s: PEM block is %q, want a private key", path, b.Type)
	}
	return nil
}

// hostOf returns the host of a host:port (an address in the endpoint list).
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
