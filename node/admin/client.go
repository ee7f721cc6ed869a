package admin

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// Limits on what the Client reads, so that a wrong endpoint answering
// something huge costs bounded memory.
const (
	maxInfoBytes  = 64 << 20 // an Info of thousands of drives is a few MiB
	maxErrorBytes = 64 << 10
)

// ErrNoEndpoint is returned by a Client without an Endpoint.
var ErrNoEndpoint = errors.New("admin: no endpoint")

// Client calls a node's admin API, signing with the root credentials.
type Client struct {
	// Endpoint is the node's base URL, "http://node1:9000"; a bare
	// host:port means http.
	Endpoint string
	// AccessKey and SecretKey are the root credentials; Region the
	// deployment's ("" means us-east-1).
	AccessKey, SecretKey, Region string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// APIError is a refusal from the admin API: an S3 error document.
// errors.Is(err, s3err.AccessDenied) and the like match its Code.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code and Message are the S3 error's; Code is empty when the answer
	// was not an S3 error document (then Message is the start of the body).
	Code, Message string
	// RequestID identifies the request in the node's log.
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "admin: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// Is matches the S3 code of the error.
func (e *APIError) Is(target error) bool {
	c, ok := target.(s3err.Code)
	return ok && e.Code != "" && c == s3err.Code(e.Code)
}

// Info asks the node for its Info.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	resp, err := c.get(ctx, "info")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var info Info
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInfoBytes)).Decode(&info); err != nil {
		return nil, fmt.Errorf("admin: info from %s: decoding the answer: %w", c.Endpoint, err)
	}
	return &info, nil
}

// get sends a signed GET for PathPrefix+name and returns a 200 answer;
// anything else becomes an *APIError.
func (c *Client) get(ctx context.Context, name string) (*http.Response, error) {
	base := strings.TrimRight(c.Endpoint, "/")
	if base == "" {
		return nil, ErrNoEndpoint
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+PathPrefix+name, nil)
	if err != nil {
		return nil, fmt.Errorf("admin: %s: %w", name, err)
	}
	s := sigv4.Signer{AccessKey: c.AccessKey, SecretKey: c.SecretKey, Region: c.Region}
	if err := s.Sign(req, "", time.Now()); err != nil {
		return nil, fmt.Errorf("admin: %s: signing: %w", name, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds no credentials: the
		// signature is in a header.
		return nil, fmt.Errorf("admin: %s: %w", name, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, apiError(resp)
}

func apiError(resp *http.Response) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var doc struct {
		Code      string
		Message   string
		RequestID string `xml:"RequestId"`
	}
	if xml.Unmarshal(body, &doc) == nil && doc.Code != "" {
		e.Code, e.Message = doc.Code, doc.Message
		if doc.RequestID != "" {
			e.RequestID = doc.RequestID
		}
		return e
	}
	// Not an S3 error document: another server answered (a proxy, a node
	// of another version); the start of its answer says which.
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	e.Message = strings.ToValidUTF8(msg, "?")
	return e
}
