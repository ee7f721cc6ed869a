package remote

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns an http.Client for range reads. Compared with
// http.DefaultClient it keeps many idle connections per peer (an erasure
// GET reads from every drive of a node at once, and a new connection per
// read would cost a handshake each), never asks for compression, and bounds
// dialing, the TLS handshake and the wait for headers so that a node that
// vanished from the network fails the read instead of hanging it. The body
// has no timeout of its own: the caller's context bounds it.
//
// With tlsConfig (the grid's client configuration: the peers' CAs and this
// node's certificate) the client speaks https, HTTP/1.1 only: one
// connection per concurrent read, so that shard streams never queue behind
// each other in one connection. nil gives plain http.
func NewHTTPClient(tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       4 << 10,
		ReadBufferSize:        64 << 10,
	}
	if tlsConfig != nil {
		// A custom TLS configuration without ForceAttemptHTTP2 keeps the
		// transport on HTTP/1.1.
		tr.TLSClientConfig = tlsConfig.Clone()
		tr.TLSHandshakeTimeout = 5 * time.Second
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
