package grid

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ProtocolVersion is the grid wire protocol spoken by this build. Peers with a
// different version are refused at the handshake, on both sides.
const ProtocolVersion = 3

// Handshake headers. The upgrade request carries who is calling whom, when,
// a random nonce and an HMAC over all of it; the 101 answer carries the
// server's proof that it knows the secret too.
const (
	hdrVersion = "X-Grid-Version"
	hdrFrom    = "X-Grid-From"
	hdrTo      = "X-Grid-To"
	hdrTime    = "X-Grid-Time"
	hdrNonce   = "X-Grid-Nonce"
	hdrAuth    = "Authorization"
	hdrProof   = "X-Grid-Proof"
	authScheme = "GridHMAC "
)

// authenticator makes and checks handshake tokens. The HMAC key is derived
// from the cluster secret so that the secret itself keys nothing else here.
type authenticator struct {
	key     []byte
	maxSkew time.Duration
	now     func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // MACs already accepted, until they expire
}

func newAuthenticator(secret []byte, maxSkew time.Duration) *authenticator {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gridstore grid connection key v1"))
	return &authenticator{key: m.Sum(nil), maxSkew: maxSkew, now: time.Now, seen: map[string]time.Time{}}
}

func (a *authenticator) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.key)
	for _, p := range parts {
		// Length-prefix every field so that no two field lists hash alike.
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{':'})
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// requestHeaders returns the headers a dialer sends to peer `to`.
func (a *authenticator) requestHeaders(from, to string) http.Header {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails on supported platforms
	ts := strconv.FormatInt(a.now().Unix(), 10)
	n := hex.EncodeToString(nonce[:])
	h := http.Header{}
	h.Set(hdrVersion, strconv.Itoa(ProtocolVersion))
	h.Set(hdrFrom, from)
	h.Set(hdrTo, to)
	h.Set(hdrTime, ts)
	h.Set(hdrNonce, n)
	h.Set(hdrAuth, authScheme+a.mac("request", from, to, ts, n))
	return h
}

// verifyRequest checks an upgrade request addressed to self. It returns the
// caller's address, or an error wrapping ErrUnauthorized.
func (a *authenticator) verifyRequest(h http.Header, self string) (from string, err error) {
	from, to, ts, n := h.Get(hdrFrom), h.Get(hdrTo), h.Get(hdrTime), h.Get(hdrNonce)
	auth := h.Get(hdrAuth)
	if from == "" || to == "" || ts == "" || n == "" || len(auth) <= len(authScheme) || auth[:len(authScheme)] != authScheme {
		return "", fmt.Errorf("%w: missing or malformed token", ErrUnauthorized)
	}
	if to != self {
		return "", fmt.Errorf("%w: token addressed to %q, this node is %q", ErrUnauthorized, to, self)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: malformed time", ErrUnauthorized)
	}
	now := a.now()
	skew := now.Sub(time.Unix(sec, 0))
	if skew > a.maxSkew || skew < -a.maxSkew {
		return "", fmt.Errorf("%w: clock skew %v exceeds %v", ErrUnauthorized, skew.Round(time.Second), a.maxSkew)
	}
	want := a.mac("request", from, to, ts, n)
	got := auth[len(authScheme):]
	if !hmac.Equal([]byte(got), []byte(want)) {
		return "", fmt.Errorf("%w: bad token from %q", ErrUnauthorized, from)
	}
	if !a.firstUse(want, now) {
		return "", fmt.Errorf("%w: replayed token from %q", ErrUnauthorized, from)
	}
	return from, nil
}

// firstUse records a valid MAC and reports whether it was new. Entries are
// kept for twice the skew window: any older token fails the time check anyway.
func (a *authenticator) firstUse(mac string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, exp := range a.seen {
		if now.After(exp) {
			delete(a.seen, k)
		}
	}
	if _, dup := a.seen[mac]; dup {
		return false
	}
	a.seen[mac] = now.Add(2 * a.maxSkew)
	return true
}

// proof is what the server answers to show it holds the secret as well.
func (a *authenticator) proof(requestAuth string) string {
	return a.mac("accept", requestAuth)
}

// Internode HTTP requests (bulk shard reads, served with sendfile outside the
// websocket) are signed with the same key: the HMAC covers the caller, the
// target, the time, the method and the full request URI, so a signature is
// good for one request on one node for MaxClockSkew. Reads are not
// replay-protected beyond that window: anyone able to replay one could read
// the answer off the wire anyway.
const hdrHTTPAuth = "X-Grid-Signature"

func (a *authenticator) signHTTP(r *http.Request, from, to string) {
	ts := strconv.FormatInt(a.now().Unix(), 10)
	r.Header.Set(hdrFrom, from)
	r.Header.Set(hdrTime, ts)
	r.Header.Set(hdrHTTPAuth, a.mac("http", from, to, ts, r.Method, r.URL.RequestURI()))
}

func (a *authenticator) verifyHTTP(r *http.Request, self string) (from string, err error) {
	from, ts, sig := r.Header.Get(hdrFrom), r.Header.Get(hdrTime), r.Header.Get(hdrHTTPAuth)
	if from == "" || ts == "" || sig == "" {
		return "", fmt.Errorf("%w: missing signature", ErrUnauthorized)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: malformed time", ErrUnauthorized)
	}
	if skew := a.now().Sub(time.Unix(sec, 0)); skew > a.maxSkew || skew < -a.maxSkew {
		return "", fmt.Errorf("%w: clock skew %v exceeds %v", ErrUnauthorized, skew.Round(time.Second), a.maxSkew)
	}
	want := a.mac("http", from, self, ts, r.Method, r.URL.RequestURI())
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", fmt.Errorf("%w: bad signature from %q", ErrUnauthorized, from)
	}
	return from, nil
}
