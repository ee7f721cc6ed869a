package node

// Keys are independent of one another and every key S3 accepts is stored
// (DESIGN §4, §7; issue 10), seen over HTTP by real clients: a single node
// and a cluster of 4 nodes × 2 drives, aws-sdk-go-v2 and raw signed
// requests, path-style URLs taken as they are on both sides (no cleaning of
// "//", "/./" or "/../", no redirect).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gridstore/gridstore/node/s3/sigv4"
)

const nsUUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

// nsHTTPKeys are keys S3 accepts that a path-per-key store cannot hold as
// they are, or only one of a related pair of; they all coexist in one
// bucket.
func nsHTTPKeys() []string {
	seg300 := strings.Repeat("s", 300)
	return []string{
		"dir/", "dir/f", "a", "a/", "a//b", "a/b",
		"x", "x/./y", "x/../y", "x/y", "y", "..", ".", "../x", "./x", "x/..", "x/.",
		"/lead", "//", "/", "trail/", "trail",
		"p", "p/q", "p/", "p-q",
		seg300, seg300 + "/c",
		"long/" + strings.Repeat("k", 1024-len("long/")),
		"ctl\x01", "ctl\n", "ctl\x7f", "\t",
		"%", "%2F", "a%2Fb", "%00",
		".meta", "meta", "x/meta", "part.1", "x/part.1", "x/" + nsUUID + "/part.1", nsUUID,
		"back\\slash",
		"ü/ሴ", "😀", "é", "e\u0301",
		"sp ace", "q?x#y&z=1+2;",
	}
}

// nsShow makes a key printable in a message.
func nsShow(k string) string {
	if len(k) > 50 {
		k = fmt.Sprintf("%s…(%d bytes)…%s", k[:20], len(k), k[len(k)-20:])
	}
	q := fmt.Sprintf("%q", k)
	return q[1 : len(q)-1]
}

// nsEscapeKey escapes a key for a path-style URL segment by segment: every
// byte but unreserved ones escaped, "/" kept, nothing cleaned. "." and ".."
// are unreserved and go on the wire as they are.
func nsEscapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// nsRaw sends signed S3 requests with net/http as is: the path escaped by
// nsEscapeKey, no redirect followed.
type nsRaw struct {
	c *http.Client
}

func newNSRaw(t testing.TB) *nsRaw {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &nsRaw{c: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends method on bucket/key (key "" for the bucket) with the raw
// query, and returns status, header and body; err only if no answer came.
func (r *nsRaw) do(ctx context.Context, n *testNode, method, bucket, key, query string, body []byte) (int, http.Header, []byte, error) {
	u := n.URL + "/" + bucket
	if key != "" {
		u += "/" + nsEscapeKey(key)
	}
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	wantPath := "/" + bucket
	if key != "" {
		wantPath += "/" + key
	}
	if req.URL.Path != wantPath {
		return 0, nil, nil, fmt.Errorf("net/http parsed %q as path %q", u, req.URL.Path)
	}
	req.ContentLength = int64(len(body))
	if err := signer.Sign(req, sigv4.PayloadSHA256Hex(body), time.Now()); err != nil {
		return 0, nil, nil, err
	}
	resp, err := r.c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// nsErrs collects failures by key, so that one run reports every key that
// went wrong, one line each.
type nsErrs struct {
	mu   sync.Mutex
	msgs []string
	keys map[string]bool
}

func (e *nsErrs) add(key, format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.keys == nil {
		e.keys = map[string]bool{}
	}
	if e.keys[key] { // the first failure of a key says it
		return
	}
	e.keys[key] = true
	e.msgs = append(e.msgs, fmt.Sprintf("\"%s\": %s", nsShow(key), nsOneLine(fmt.Sprintf(format, args...))))
}

// nsOneLine replaces the control characters of s (keys and XML inside
// messages) with '·', so that a report keeps one line per failure.
func nsOneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '·'
		}
		return r
	}, s)
}

func (e *nsErrs) report(t *testing.T, what string, of int) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.msgs) > 0 {
		t.Errorf("%s: %d of %d keys failed:\n  %s", what, len(e.msgs), of, strings.Join(e.msgs, "\n  "))
	}
}

func (e *nsErrs) failed(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keys[key]
}

// nsPrefixRace is issue 10 over HTTP: rounds of two concurrent PUTs of rN
// and rN/c (through two nodes when there are several), both acknowledged,
// then DELETE rN; rN/c must still GET byte-exact from another node and rN
// answer 404.
func nsPrefixRace(t *testing.T, nodes []*testNode, rounds int) {
	raw := newNSRaw(t)
	ctx := testCtx(t)
	const b = "ns-race"
	if code, _, body, err := raw.do(ctx, nodes[0], "PUT", b, "", "", nil); err != nil || code != http.StatusOK {
		t.Fatalf("create bucket: %d %s %v", code, body, err)
	}
	node := func(i int) *testNode { return nodes[i%len(nodes)] }
	both, survived := 0, 0
	var failures []string
	for n := range rounds {
		k, c := fmt.Sprintf("r%d", n), fmt.Sprintf("r%d/c", n)
		dk, dc := payload(uint64(n)<<1, 10+n), payload(uint64(n)<<1|1, 20+n)
		var codes [2]int
		var bodies [2][]byte
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, kv := range [][2]any{{k, dk}, {c, dc}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				code, _, body, err := raw.do(ctx, node(n+i), "PUT", b, kv[0].(string), "", kv[1].([]byte))
				if err != nil {
					code, body = -1, []byte(err.Error())
				}
				codes[i], bodies[i] = code, body
			}()
		}
		close(start)
		wg.Wait()
		if codes != [2]int{200, 200} {
			failures = append(failures, fmt.Sprintf("round %d: PUT %s %d, PUT %s %d: %.200s", n, k, codes[0], c, codes[1], string(bodies[0])+"|"+string(bodies[1])))
			continue
		}
		both++
		if code, _, body, err := raw.do(ctx, node(n+2), "DELETE", b, k, "", nil); err != nil || code != http.StatusNoContent {
			failures = append(failures, fmt.Sprintf("round %d: DELETE %s: %d %.200s %v", n, k, code, body, err))
			continue
		}
		code, _, got, err := raw.do(ctx, node(n+3), "GET", b, c, "", nil)
		if err != nil || code != http.StatusOK || !bytes.Equal(got, dc) {
			failures = append(failures, fmt.Sprintf("round %d: GET %s after DELETE %s: %d, %d bytes of %d, %v", n, c, k, code, len(got), len(dc), err))
			continue
		}
		if code, _, _, err := raw.do(ctx, node(n+1), "GET", b, k, "", nil); err != nil || code != http.StatusNotFound {
			failures = append(failures, fmt.Sprintf("round %d: GET %s after its DELETE: %d %v", n, k, code, err))
			continue
		}
		survived++
	}
	for i := range failures {
		failures[i] = nsOneLine(failures[i])
	}
	if both != rounds || survived != rounds {
		t.Errorf("both PUTs acknowledged in %d of %d rounds; rN/c intact after DELETE rN in %d; first failures:\n  %s",
			both, rounds, survived, strings.Join(failures[:min(len(failures), 5)], "\n  "))
	}
}

// nsTrickyKeys stores every key of nsHTTPKeys through the SDK (and a few
// through raw requests), then reads each back from every node with the
// SDK (GET, HEAD) and raw GET, finds it in listings, deletes everything and
// deletes the bucket.
func nsTrickyKeys(t *testing.T, nodes []*testNode) {
	ctx := testCtx(t)
	raw := newNSRaw(t)
	clients := make([]*s3.Client, len(nodes))
	recs := make([]*recorder, len(nodes))
	for i, n := range nodes {
		clients[i], recs[i] = newAWS(t, n, awsOpts{})
	}
	const b = "ns-keys"
	if _, err := clients[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	keys := nsHTTPKeys()
	bodies := map[string][]byte{}
	for i, k := range keys {
		size := 1 + i*13
		if i%9 == 4 {
			size = 200<<10 + i // beyond the inline limit: shard files
		}
		bodies[k] = payload(uint64(5000+i), size)
	}
	// Keys only raw requests write, so that what the server took from a
	// plain net/http client is checked by the SDK.
	rawKeys := []string{"raw/a//b", "raw/x/./y", "raw/x/../y", "raw/..", "raw//lead", "raw/.", "raw/%2F"}
	for i, k := range rawKeys {
		bodies[k] = payload(uint64(6000+i), 30+i)
	}
	all := append(slices.Clone(keys), rawKeys...)
	slices.Sort(all)

	var errs nsErrs
	// PUT: one key at a time, each through the next node.
	for i, k := range keys {
		if _, err := clients[i%len(nodes)].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(bodies[k])}); err != nil {
			errs.add(k, "SDK PutObject through node %d: %v", i%len(nodes), err)
		}
	}
	for i, k := range rawKeys {
		if code, _, body, err := raw.do(ctx, nodes[i%len(nodes)], "PUT", b, k, "", bodies[k]); err != nil || code != http.StatusOK {
			errs.add(k, "raw PUT: %d %.200s %v", code, body, err)
		}
	}
	// The SDK sent the keys as they are: no "//", "/./" or "/../" cleaned
	// on the client side.
	for _, k := range []string{"a//b", "x/./y", "x/../y", "..", "/lead"} {
		found := false
		for _, rec := range recs {
			for _, w := range rec.find("PUT", "/"+b+"/"+k, "") {
				found = found || w.Path == "/"+b+"/"+k
			}
		}
		if !found {
			t.Errorf("the SDK's PUT of %q did not go to path %q: cleaned on the client side", k, "/"+b+"/"+k)
		}
	}

	// Read back from every node: SDK GET and HEAD, raw GET.
	for _, k := range all {
		want := bodies[k]
		for i, c := range clients {
			got, _, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
			if err != nil || !bytes.Equal(got, want) {
				errs.add(k, "SDK GetObject from node %d: %d bytes of %d, %v", i, len(got), len(want), err)
				break
			}
			h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
			if err != nil || aws.ToInt64(h.ContentLength) != int64(len(want)) || aws.ToString(h.ETag) != quoted(md5Hex(want)) {
				errs.add(k, "SDK HeadObject from node %d: %+v, %v", i, h, err)
				break
			}
			code, _, got, err := raw.do(ctx, nodes[i], "GET", b, k, "", nil)
			if err != nil || code != http.StatusOK || !bytes.Equal(got, want) {
				errs.add(k, "raw GET from node %d: %d, %d bytes of %d, %v", i, code, len(got), len(want), err)
				break
			}
		}
	}
	// Nothing was cleaned on the server's side either: the cleaned forms
	// of the dot-segment keys that are not keys themselves are absent.
	for _, k := range []string{"raw/y", "raw/x/y", "raw/lead", "raw", "raw/"} {
		if code, _, _, err := raw.do(ctx, nodes[0], "GET", b, k, "", nil); err != nil || code != http.StatusNotFound {
			errs.add(k, "GET of a key never written: %d %v, want 404", code, err)
		}
	}

	// Listings: each key with itself as prefix first, and the whole bucket
	// in binary order, through every node (url encoding, as control
	// characters cannot go in XML 1.0).
	for i, k := range all {
		if errs.failed(k) {
			continue
		}
		got, err := nsListSDK(ctx, clients[i%len(clients)], b, k, 1000)
		if err != nil || len(got) == 0 || got[0] != k {
			errs.add(k, "ListObjectsV2 prefix=key through node %d: %q, %v", i%len(clients), got[:min(len(got), 3)], err)
		}
	}
	var stored []string
	for _, k := range all {
		if !errs.failed(k) {
			stored = append(stored, k)
		}
	}
	for i, c := range clients {
		got, err := nsListSDK(ctx, c, b, "", 7)
		if err != nil {
			t.Errorf("ListObjectsV2 of the bucket through node %d: %v", i, err)
			continue
		}
		var gotStored []string // keys that failed before may or may not be listed
		for _, k := range got {
			if !errs.failed(k) {
				gotStored = append(gotStored, k)
			}
		}
		if !slices.Equal(gotStored, stored) {
			t.Errorf("listing through node %d (pages of 7): %d keys %q\nwant %d %q", i, len(gotStored), gotStored, len(stored), stored)
		}
	}
	errs.report(t, "tricky keys over HTTP", len(all))
	if len(stored) == 0 {
		t.Error("no key was stored")
	}

	// Delete everything, then the bucket.
	for i, k := range all {
		if _, err := clients[(i+1)%len(clients)].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(k)}); err != nil && !errs.failed(k) {
			t.Errorf("DeleteObject %q: %v", nsShow(k), err)
		}
	}
	for i, k := range stored {
		_, err := clients[(i+2)%len(clients)].HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if awsStatus(err) != http.StatusNotFound {
			t.Errorf("HeadObject %q after its delete: %v, want 404", nsShow(k), err)
		}
	}
	if left, err := nsListSDK(ctx, clients[0], b, "", 1000); err != nil || len(left) != 0 {
		t.Errorf("listing after deleting every key: %q, %v", left[:min(len(left), 5)], err)
	}
	if _, err := clients[len(clients)-1].DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("DeleteBucket after deleting every key: %v", err)
	}
}

// nsListSDK lists all pages of a ListObjectsV2 with encoding-type=url and
// returns the decoded keys (aws-sdk-go-v2 leaves them encoded).
func nsListSDK(ctx context.Context, c *s3.Client, bucket, prefix string, pageSize int32) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(pageSize), EncodingType: types.EncodingTypeUrl}
	var out []string
	for page := 0; ; page++ {
		if page > 1000 {
			return out, fmt.Errorf("the listing does not end")
		}
		res, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			return out, err
		}
		for _, o := range res.Contents {
			k, err := url.QueryUnescape(aws.ToString(o.Key))
			if err != nil {
				return out, fmt.Errorf("key %q: %w", aws.ToString(o.Key), err)
			}
			out = append(out, k)
		}
		if !aws.ToBool(res.IsTruncated) {
			return out, nil
		}
		in.ContinuationToken = res.NextContinuationToken
	}
}

// nsNUL: a key with a NUL is refused as InvalidObjectName or stored like
// any other; never a 5xx, never stored damaged.
func nsNUL(t *testing.T, n *testNode) {
	ctx := testCtx(t)
	raw := newNSRaw(t)
	const b = "ns-nul"
	if code, _, body, err := raw.do(ctx, n, "PUT", b, "", "", nil); err != nil || code != http.StatusOK {
		t.Fatalf("create bucket: %d %s %v", code, body, err)
	}
	code, _, body, err := raw.do(ctx, n, "PUT", b, "nul\x00", "", []byte("x"))
	switch {
	case err != nil:
		t.Fatal(err)
	case code == http.StatusBadRequest && bytes.Contains(body, []byte("InvalidObjectName")):
		t.Logf("a NUL is refused: %s", body)
	case code == http.StatusOK:
		if code, _, got, err := raw.do(ctx, n, "GET", b, "nul\x00", "", nil); err != nil || code != http.StatusOK || string(got) != "x" {
			t.Fatalf("GET of the key with a NUL: %d %q %v", code, got, err)
		}
		if code, _, _, err := raw.do(ctx, n, "GET", b, "nul", "", nil); err != nil || code != http.StatusNotFound {
			t.Fatalf("GET of the key without its NUL: %d %v, want 404", code, err)
		}
		_, _, _, _ = raw.do(ctx, n, "DELETE", b, "nul\x00", "", nil)
	default:
		t.Fatalf("PUT of a key with a NUL: %d %s", code, body)
	}
}

// TestNamespaceHTTPSingleNode: the prefix race, every tricky key and the
// NUL case against one node of 4 drives (EC 2+2).
func TestNamespaceHTTPSingleNode(t *testing.T) {
	n := startLocal(t, nil)
	nodes := []*testNode{n}
	t.Run("prefix race", func(t *testing.T) { nsPrefixRace(t, nodes, 100) })
	t.Run("tricky keys", func(t *testing.T) { nsTrickyKeys(t, nodes) })
	t.Run("NUL", func(t *testing.T) { nsNUL(t, n) })
}

// TestNamespaceHTTPCluster: the same against 4 nodes of 2 drives (one set
// of 8, EC 4+4): racing PUTs through different nodes, every key readable
// from every node.
func TestNamespaceHTTPCluster(t *testing.T) {
	nodes := startCluster(t, 4, 2, nil)
	t.Run("prefix race", func(t *testing.T) { nsPrefixRace(t, nodes, 40) })
	t.Run("tricky keys", func(t *testing.T) { nsTrickyKeys(t, nodes) })
}
