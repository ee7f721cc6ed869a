// Package testpki makes throw-away certificate authorities and node
// certificates for tests of gridstore over TLS: a CA, certificates it signs
// for 127.0.0.1 with both server and client usage (what a node presents to
// S3 clients and to its peers), and the PEM files of a node's certificates
// directory. Keys are ECDSA P-256, generated per call: nothing is stored.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

var serial atomic.Int64

// CA is a test certificate authority.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate in PEM: a ca.crt.
	PEM []byte
}

// NewCA makes a self-signed CA valid from an hour ago for a day.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Pool returns a pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Leaf describes a certificate to issue; the zero value is a node
// certificate for 127.0.0.1 with server and client usage, valid from an hour
// ago for a day.
type Leaf struct {
	CommonName string
	IPs        []net.IP
	DNSNames   []string
	// ExtKeyUsage nil means ServerAuth and ClientAuth.
	ExtKeyUsage []x509.ExtKeyUsage
	// NotAfter zero means a day from now; NotBefore is an hour ago, or an
	// hour before NotAfter for a certificate already expired.
	NotAfter time.Time
}

// Issued is an issued certificate, its key, and their PEM forms.
type Issued struct {
	Cert    *x509.Certificate
	CertPEM []byte // a public.crt
	KeyPEM  []byte // a private.key (PKCS #8)
	TLS     tls.Certificate
}

// Issue signs a certificate described by l.
func (ca *CA) Issue(t testing.TB, l Leaf) *Issued {
	t.Helper()
	if l.CommonName == "" {
		l.CommonName = "gridstore test node"
	}
	if l.IPs == nil && l.DNSNames == nil {
		l.IPs = []net.IP{net.ParseIP("127.0.0.1")}
	}
	if l.ExtKeyUsage == nil {
		l.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	notAfter := l.NotAfter
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	notBefore := time.Now().Add(-time.Hour)
	if notAfter.Before(notBefore) { // an expired certificate
		notBefore = notAfter.Add(-time.Hour)
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: l.CommonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  l.ExtKeyUsage,
		IPAddresses:  l.IPs,
		DNSNames:     l.DNSNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Issued{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
	}
}

// WriteDir writes a node's certificates directory under a new temporary
// directory and returns it: public.crt and private.key of leaf, and ca.crt
// when ca is not nil.
func WriteDir(t testing.TB, leaf *Issued, ca *CA) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("public.crt", leaf.CertPEM, 0o644)
	write("private.key", leaf.KeyPEM, 0o600)
	if ca != nil {
		write("ca.crt", ca.PEM, 0o644)
	}
	return dir
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
