package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/gridstore/gridstore/node"
)

const (
	testUser     = "bench-test"
	testPassword = "bench-test-password"
)

// startNode starts a single in-process gridstore node on four folders
// (EC 2+2) and returns its S3 endpoint.
func startNode(t *testing.T) string {
	t.Helper()
	cfg := node.LocalConfig()
	cfg.Endpoints = []string{filepath.Join(t.TempDir(), "data{1...4}")}
	cfg.RootUser, cfg.RootPassword = testUser, testPassword
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	select {
	case <-n.Ready():
	case <-n.Failed():
		t.Fatalf("node failed: %v", n.Err())
	case <-time.After(60 * time.Second):
		t.Fatal("node not ready after 60 s")
	}
	return n.Scheme() + "://" + n.Addr()
}

func testConfig(endpoint string, mix Mix) Config {
	return Config{
		Endpoints: []string{endpoint},
		AccessKey: testUser, SecretKey: testPassword,
		Mix:      mix,
		Sizes:    Sizes{1 << 10, 64 << 10},
		Clients:  4,
		Duration: time.Second,
		Objects:  40,
		Verify:   1,
		Interval: 200 * time.Millisecond,
	}
}

// s3Client is a plain client of the node, to look at what a run left.
func s3Client(t *testing.T, endpoint string) *minio.Client {
	t.Helper()
	u, _ := url.Parse(endpoint)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(testUser, testPassword, ""), Transport: tr, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func bucketExists(t *testing.T, c *minio.Client, bucket string) bool {
	t.Helper()
	ok, err := c.BucketExists(context.Background(), bucket)
	if err != nil {
		t.Fatalf("BucketExists(%s): %v", bucket, err)
	}
	return ok
}

func countObjects(t *testing.T, c *minio.Client, bucket, prefix string) int {
	t.Helper()
	n := 0
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", bucket, o.Err)
		}
		n++
	}
	return n
}

func opSummary(t *testing.T, res *Result, op Op) OpSummary {
	t.Helper()
	for _, s := range res.Ops {
		if s.Op == op.String() {
			return s
		}
	}
	t.Fatalf("no %s in the result: %+v", op, res.Ops)
	return OpSummary{}
}

// Each operation and a mix run for a second against a real node without
// an error: every GET verified, the figures add up, the series covers the
// run, and the bucket is gone afterwards.
func TestRunEachOp(t *testing.T) {
	endpoint := startNode(t)
	c := s3Client(t, endpoint)
	mixed, _ := ParseMix("put=20,get=50,stat=10,delete=10,list=10")
	for _, tc := range []struct {
		name string
		mix  Mix
	}{
		{"put", MixOf(OpPut)}, {"get", MixOf(OpGet)}, {"stat", MixOf(OpStat)},
		{"delete", MixOf(OpDelete)}, {"list", MixOf(OpList)}, {"mixed", mixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(endpoint, tc.mix)
			var progress bytes.Buffer
			cfg.Progress = &progress
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var tbl bytes.Buffer
			if err := res.WriteTable(&tbl); err != nil {
				t.Fatal(err)
			}
			t.Logf("progress:\n%s%s", progress.String(), tbl.String())
			if len(res.Ops) != countWeights(tc.mix) {
				t.Fatalf("%d op summaries for mix %v", len(res.Ops), tc.mix)
			}
			var put int64
			for _, s := range res.Ops {
				if s.Errors != 0 || s.SlowDown != 0 || s.Ops == 0 {
					t.Errorf("%s: %d ops, %d errors %v, %d slowdown", s.Op, s.Ops, s.Errors, s.ErrorCodes, s.SlowDown)
				}
				if s.P50Ms <= 0 || s.P50Ms > s.P99Ms || s.P99Ms > s.MaxMs {
					t.Errorf("%s: latencies p50 %v p99 %v max %v", s.Op, s.P50Ms, s.P99Ms, s.MaxMs)
				}
				if s.Op == "put" {
					put = s.Ops
				}
			}
			if tc.mix[OpGet] > 0 {
				g := opSummary(t, res, OpGet)
				if g.Verified != g.Ops || g.Bytes < g.Ops<<10 {
					t.Errorf("get: %d ops, %d verified, %d bytes", g.Ops, g.Verified, g.Bytes)
				}
			}
			if tc.name == "delete" {
				// Deletes end the run when the prepared objects are gone.
				if d := opSummary(t, res, OpDelete); d.Ops != int64(cfg.Objects) {
					t.Errorf("deleted %d of %d objects", d.Ops, cfg.Objects)
				}
			}
			var del int64
			if tc.mix[OpDelete] > 0 {
				del = opSummary(t, res, OpDelete).Ops
			}
			// The cleanup deleted what was put and not deleted by the run.
			if want := int64(res.Prepared) + put - del; res.Deleted != want {
				t.Errorf("cleanup deleted %d objects, want %d", res.Deleted, want)
			}
			if len(res.Series) == 0 || res.Series[len(res.Series)-1].Second != res.Seconds {
				t.Errorf("series of %d points, the last at %v s of %v", len(res.Series), lastSecond(res), res.Seconds)
			}
			var seriesOps int64
			for _, p := range res.Series {
				seriesOps += p.Ops
			}
			if total := sumOps(res); seriesOps != total {
				t.Errorf("series counts %d ops, summary %d", seriesOps, total)
			}
			if bucketExists(t, c, res.Bucket) {
				t.Errorf("bucket %s left behind", res.Bucket)
			}
			if !strings.Contains(progress.String(), "ops/s") {
				t.Errorf("no progress line: %q", progress.String())
			}
		})
	}
}

func countWeights(m Mix) int {
	n := 0
	for _, w := range m {
		if w > 0 {
			n++
		}
	}
	return n
}

func sumOps(res *Result) int64 {
	var n int64
	for _, s := range res.Ops {
		n += s.Ops
	}
	return n
}

func lastSecond(res *Result) float64 {
	if len(res.Series) == 0 {
		return 0
	}
	return res.Series[len(res.Series)-1].Second
}

// --count ends the run after exactly that many operations.
func TestRunCount(t *testing.T) {
	endpoint := startNode(t)
	cfg := testConfig(endpoint, MixOf(OpPut))
	cfg.Duration, cfg.Count = 0, 37
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := opSummary(t, res, OpPut); p.Ops != 37 || res.Deleted != 37 {
		t.Errorf("%d puts, %d deleted; want 37", p.Ops, res.Deleted)
	}
}

// What the run leaves: nothing by default; everything with Keep; in a
// bucket that existed, the bucket and others' objects stay and the run's
// objects go; after a cancelled run (Ctrl-C), nothing either.
func TestRunCleanup(t *testing.T) {
	endpoint := startNode(t)
	c := s3Client(t, endpoint)
	ctx := context.Background()

	t.Run("keep", func(t *testing.T) {
		cfg := testConfig(endpoint, MixOf(OpGet))
		cfg.Keep, cfg.Duration = true, 200*time.Millisecond
		res, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Kept || !bucketExists(t, c, res.Bucket) || countObjects(t, c, res.Bucket, res.Prefix) != cfg.Objects {
			t.Fatalf("kept %v: bucket %s, %d objects", res.Kept, res.Bucket, countObjects(t, c, res.Bucket, res.Prefix))
		}
		// The same bucket again: it exists, so the run keeps it and
		// removes only its own objects (another prefix).
		cfg.Keep, cfg.Bucket = false, res.Bucket
		res2, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Prefix == res.Prefix {
			t.Fatal("two runs with one prefix")
		}
		if !bucketExists(t, c, res.Bucket) {
			t.Fatal("a bucket the run did not create was removed")
		}
		if n := countObjects(t, c, res.Bucket, res2.Prefix); n != 0 {
			t.Errorf("%d objects of the second run left", n)
		}
		if n := countObjects(t, c, res.Bucket, res.Prefix); n != cfg.Objects {
			t.Errorf("the first run's %d objects became %d", cfg.Objects, n)
		}
		if err := c.RemoveBucketWithOptions(ctx, res.Bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
			// Not every store has force-delete; clean by hand.
			for o := range c.ListObjects(ctx, res.Bucket, minio.ListObjectsOptions{Recursive: true}) {
				_ = c.RemoveObject(ctx, res.Bucket, o.Key, minio.RemoveObjectOptions{})
			}
			if err := c.RemoveBucket(ctx, res.Bucket); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		cfg := testConfig(endpoint, MixOf(OpPut))
		cfg.Duration = 10 * time.Minute
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(700*time.Millisecond, cancel)
		start := time.Now()
		res, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Minute {
			t.Fatalf("a cancelled run took %v", took)
		}
		if !res.Interrupted || opSummary(t, res, OpPut).Ops == 0 {
			t.Fatalf("interrupted %v, %d puts", res.Interrupted, opSummary(t, res, OpPut).Ops)
		}
		if bucketExists(t, c, res.Bucket) {
			t.Errorf("bucket %s left after Ctrl-C", res.Bucket)
		}
		if res.Deleted < opSummary(t, res, OpPut).Ops {
			t.Errorf("deleted %d of %d objects", res.Deleted, opSummary(t, res, OpPut).Ops)
		}
	})
}

// faultProxy sits between the generator and the node and spoils object
// GETs: corrupt flips one byte of the body; every slowEvery-th GET is
// answered 503 SlowDown instead.
type faultProxy struct {
	corrupt   bool
	slowEvery int64
	gets      atomic.Int64
}

func (f *faultProxy) start(t *testing.T, endpoint string) string {
	t.Helper()
	target, _ := url.Parse(endpoint)
	tr := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.ModifyResponse = func(resp *http.Response) error {
		if !isObjectGet(resp.Request) || resp.StatusCode != http.StatusOK {
			return nil
		}
		if f.corrupt {
			resp.Body = &flipByte{ReadCloser: resp.Body, at: 100}
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isObjectGet(r) && f.slowEvery > 0 && f.gets.Add(1)%f.slowEvery == 0 {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		// The client signed the proxy's host; the node checks the signature
		// against the Host header, which the proxy passes on unchanged.
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return srv.URL
}

// isObjectGet: GET /bucket/key without a query (not a list).
func isObjectGet(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.RawQuery == "" && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
}

type flipByte struct {
	io.ReadCloser
	at, pos int64
}

func (f *flipByte) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if f.at >= f.pos && f.at < f.pos+int64(n) {
		p[f.at-f.pos] ^= 0x20
	}
	f.pos += int64(n)
	return n, err
}

// A GET whose bytes differ from what was put is reported as VerifyFailed,
// not counted as a success, when it is in the verified sample.
func TestRunDetectsCorruptGET(t *testing.T) {
	endpoint := startNode(t)
	f := &faultProxy{corrupt: true}
	cfg := testConfig(f.start(t, endpoint), MixOf(OpGet))
	cfg.Duration = 500 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := opSummary(t, res, OpGet)
	if g.Ops != 0 || g.Errors == 0 || len(g.ErrorCodes) != 1 || g.ErrorCodes[0].Code != "VerifyFailed" || g.ErrorCodes[0].Count != g.Errors {
		t.Fatalf("get through a corrupting proxy: %d ok, %d errors %+v", g.Ops, g.Errors, g.ErrorCodes)
	}
	// Unverified, the same GETs pass: the sample is what catches it.
	cfg.Verify = 0
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g := opSummary(t, res, OpGet); g.Errors != 0 || g.Ops == 0 {
		t.Fatalf("unverified: %d ok, %d errors %+v", g.Ops, g.Errors, g.ErrorCodes)
	}
}

// SlowDown answers are counted apart from errors, by code, and not
// retried (minio-go would otherwise hide them).
func TestRunCountsSlowDown(t *testing.T) {
	endpoint := startNode(t)
	f := &faultProxy{slowEvery: 3}
	cfg := testConfig(f.start(t, endpoint), MixOf(OpGet))
	cfg.Duration = 500 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := opSummary(t, res, OpGet)
	if g.SlowDown == 0 || g.Errors != 0 || g.Ops == 0 {
		t.Fatalf("%d ok, %d slowdown, %d errors %+v", g.Ops, g.SlowDown, g.Errors, g.ErrorCodes)
	}
	// One in three GETs reached the proxy's refusal; no retries means the
	// generator saw each of them.
	if total := g.Ops + g.SlowDown; g.SlowDown != f.gets.Load()/3 || total != f.gets.Load() {
		t.Errorf("%d GETs at the proxy, %d ok + %d slowdown", f.gets.Load(), g.Ops, g.SlowDown)
	}
	if len(g.ErrorCodes) != 1 || g.ErrorCodes[0].Code != "SlowDown" {
		t.Errorf("error codes %+v", g.ErrorCodes)
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", ErrVerify), "VerifyFailed"},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, "SlowDown"},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}), "NoSuchKey"},
		{minio.ErrorResponse{Code: "503 Service Unavailable", StatusCode: 503}, "HTTP503"},
		{io.ErrUnexpectedEOF, "UnexpectedEOF"},
		{errors.New("something"), "ClientError"},
	} {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !IsSlowDown("SlowDown") || !IsSlowDown("SlowDownWrite") || IsSlowDown("InternalError") {
		t.Error("IsSlowDown")
	}
}
