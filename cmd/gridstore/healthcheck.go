package main

// healthcheck: a probe for container runtimes, which have no curl in a
// FROM scratch image. It runs next to the node it probes (the container's
// HEALTHCHECK, exec form) with the node's environment, so by default it asks
// the address and scheme the node serves: GRIDSTORE_ADDRESS's port, over
// https when GRIDSTORE_CERTS_DIR is set.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gridstore/gridstore/node"
)

// envHealthcheckURL overrides the URL the probe derives from the node's
// settings.
const envHealthcheckURL = "GRIDSTORE_HEALTHCHECK_URL"

// errNotOwnCertificate: the TLS server that answered the probe is not the
// node whose certificates directory the probe was given.
var errNotOwnCertificate = errors.New("the server's certificate is not the node's own " + node.CertFileName)

func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("healthcheck", "Ask a node's health endpoint; exit 0 if it answers 200, 1 otherwise.\n"+
		"Without --url it asks the node configured by the same environment as `gridstore server`:\n"+
		"127.0.0.1 on "+envAddress+"'s port (default 9000), over https with the certificate of\n"+
		envCertsDir+" when that is set.", stderr)
	url := fs.String("url", os.Getenv(envHealthcheckURL), "health URL to ask; derived from --address and --certs-dir when empty ("+envHealthcheckURL+")")
	address := fs.String("address", envOr(envAddress, node.DefaultConfig().Address), "the node's listen address host:port ("+envAddress+")")
	certsDir := fs.String("certs-dir", os.Getenv(envCertsDir), "the node's certificates directory: probe over https and accept only the\nnode's own certificate ("+envCertsDir+")")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	target := *url
	if target == "" {
		var err error
		if target, err = healthURL(*address, *certsDir != ""); err != nil {
			fmt.Fprintf(stderr, "gridstore healthcheck: %v\n", err)
			return exitUsage
		}
	}
	client, err := healthClient(*certsDir)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore healthcheck: %v\n", err)
		return exitUsage
	}
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore healthcheck: %v\n", err)
		return exitUsage
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore healthcheck: %v\n", err)
		return exitError
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	fmt.Fprintf(stdout, "%s: %s", resp.Status, body)
	if resp.StatusCode != http.StatusOK {
		return exitError
	}
	return exitOK
}

// healthURL is the readiness URL of a node listening on address: on
// loopback when the node listens on every interface (the usual ":9000"),
// else on the host it listens on.
func healthURL(address string, tlsOn bool) (string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", address, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("listen address %q: no fixed port to probe", address)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + node.PathReady, nil
}

// healthClient returns the probe's HTTP client. With a certificates
// directory it accepts exactly the node's own certificate (its leaf, first
// in CertFileName) and nothing else: the probe dials 127.0.0.1, a name the
// certificate need not carry, and the node's certificate may be signed by
// a CA that is neither in the system roots nor in CAFileName.
func healthClient(certsDir string) (*http.Client, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	if certsDir != "" {
		want, err := ownLeaf(certsDir)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The chain and name checks are replaced by the pin below,
			// which is stricter: one certificate, byte for byte.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], want) {
					return errNotOwnCertificate
				}
				return nil
			},
		}
	}
	return &http.Client{Transport: tr}, nil
}

// ownLeaf reads the DER of the node's certificate from its certificates
// directory.
func ownLeaf(certsDir string) ([]byte, error) {
	path := filepath.Join(certsDir, node.CertFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("node certificate %s: no PEM CERTIFICATE block", path)
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
}
