package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/s3/sigv4"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// signer signs as the root user.
var signer = &sigv4.Signer{AccessKey: testUser, SecretKey: testPassword}

// s3Do sends a signed S3 request to a node and returns status and body.
func s3Do(t testing.TB, n *testNode, method, path string, body []byte) (int, []byte) {
	t.Helper()
	r, err := http.NewRequest(method, n.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Sign(r, sigv4.PayloadSHA256Hex(body), time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestSingleNodeServes: the local form comes up, answers its health
// endpoints and metrics, and serves S3 end to end.
func TestSingleNodeServes(t *testing.T) {
	n := startLocal(t, nil)
	for _, p := range []string{PathLive, PathReady, PathCluster} {
		if code, body := get(t, n.URL+p); code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	if code, body := get(t, n.URL+PathMetrics); code != http.StatusOK || !strings.Contains(body, "gridstore_") {
		t.Fatalf("metrics: %d, no gridstore_ metrics in %.300s", code, body)
	}

	if code, body := s3Do(t, n, "PUT", "/photos", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	data := bytes.Repeat([]byte("gridstore "), 50_000)
	if code, body := s3Do(t, n, "PUT", "/photos/2026/cat.jpg", data); code != http.StatusOK {
		t.Fatalf("put: %d %s", code, body)
	}
	code, got := s3Do(t, n, "GET", "/photos/2026/cat.jpg", nil)
	if code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("get: %d, %d bytes, want %d", code, len(got), len(data))
	}
	// The request is counted by the metrics.
	if _, body := get(t, n.URL+PathMetrics); !strings.Contains(body, `api="PutObject"`) {
		t.Fatalf("metrics do not count PutObject: %.2000s", body)
	}
}

// TestSignedRequestsAreS3: health and metrics paths are S3 paths too; a
// signed request goes to S3, an unsigned one to the probe. The reserved
// bucket is refused.
func TestSignedRequestsAreS3(t *testing.T) {
	n := startLocal(t, nil)
	if code, body := s3Do(t, n, "PUT", "/metrics", nil); code != http.StatusOK {
		t.Fatalf("create bucket metrics: %d %s", code, body)
	}
	if code, body := s3Do(t, n, "PUT", "/metrics/x", []byte("hello")); code != http.StatusOK {
		t.Fatalf("put metrics/x: %d %s", code, body)
	}
	code, body := s3Do(t, n, "GET", "/metrics", nil)
	if code != http.StatusOK || !strings.Contains(string(body), "<Key>x</Key>") {
		t.Fatalf("signed GET /metrics is not a listing: %d %s", code, body)
	}
	if code, body := get(t, n.URL+PathMetrics); code != http.StatusOK || !strings.Contains(body, "# HELP") {
		t.Fatalf("unsigned GET /metrics: %d %.200s", code, body)
	}
	code, body = s3Do(t, n, "PUT", "/gridstore", nil)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "InvalidBucketName") {
		t.Fatalf("create the reserved bucket: %d %s", code, body)
	}
	// Anonymous S3 requests are refused.
	if code, body := get(t, n.URL+"/metrics/x"); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous GET: %d %s", code, body)
	}
}

// TestAdminInfoSingleNode: the admin API answers signed requests with the
// deployment's state.
func TestAdminInfoSingleNode(t *testing.T) {
	n := startLocal(t, nil)
	c := admin.Client{Endpoint: n.URL, AccessKey: testUser, SecretKey: testPassword}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Drives) != 4 || len(info.Sets) != 1 || info.Sets[0].Parity != 2 {
		t.Fatalf("info: %d drives, sets %+v; want 4 drives in one set of parity 2", len(info.Drives), info.Sets)
	}
	for _, d := range info.Drives {
		if d.State != "online" || d.Total == 0 {
			t.Fatalf("drive %+v not online with its capacity", d)
		}
	}
	var table bytes.Buffer
	if err := admin.WriteInfoTable(&table, info); err != nil || !strings.Contains(table.String(), "online") {
		t.Fatalf("table (%v):\n%s", err, table.String())
	}
	bad := admin.Client{Endpoint: n.URL, AccessKey: testUser, SecretKey: "not-the-password"}
	if _, err := bad.Info(t.Context()); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("info with a wrong secret: %v", err)
	}
}

// TestRefusesForeignDrive: a drive of the deployment replaced by one
// formatted for another deployment stops the node at start-up, with the
// reason; nothing is formatted over it.
func TestRefusesForeignDrive(t *testing.T) {
	dir := t.TempDir()
	endpoints := []string{filepath.Join(dir, "data{1...4}")}
	first := startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "data2")
	if err := os.RemoveAll(foreign); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(foreign, 0o750); err != nil {
		t.Fatal(err)
	}
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	spec := local.FormatSpec{DeploymentID: uuid.NewString(), DriveID: ids[1], Sets: [][]string{ids}, BitrotKey: bytes.Repeat([]byte{7}, 32)}
	if err := local.Format(foreign, spec); err != nil {
		t.Fatal(err)
	}
	cfg := LocalConfig()
	cfg.Endpoints = endpoints
	cfg.RootUser, cfg.RootPassword = testUser, testPassword
	n := startNode(t, cfg)
	select {
	case <-n.Failed():
	case <-n.Ready():
		t.Fatal("node came up with a foreign drive")
	case <-time.After(30 * time.Second):
		t.Fatal("node neither failed nor came up")
	}
	if !errors.Is(n.Err(), storage.ErrDeploymentMismatch) {
		t.Fatalf("err = %v, want the foreign drive refused", n.Err())
	}
	if code, _ := get(t, n.URL+PathReady); code != http.StatusServiceUnavailable {
		t.Fatalf("ready answered %d on a node that failed", code)
	}
}

// TestConfigErrors: what cannot start a node is refused before anything
// is touched, as ErrConfig.
func TestConfigErrors(t *testing.T) {
	base := LocalConfig()
	base.Endpoints = []string{filepath.Join(t.TempDir(), "d{1...4}")}
	base.RootUser, base.RootPassword = testUser, testPassword
	for name, tweak := range map[string]func(*Config){
		"no endpoints":   func(c *Config) { c.Endpoints = nil },
		"short user":     func(c *Config) { c.RootUser = "ab" },
		"short password": func(c *Config) { c.RootPassword = "1234567" },
		"bad endpoints":  func(c *Config) { c.Endpoints = []string{"http://a:1/x", "./y"} },
		"three drives":   func(c *Config) { c.Endpoints = []string{filepath.Join(t.TempDir(), "d{1...3}")} },
		"grid path":      func(c *Config) { c.Timing.Grid.Path = "/grid" },
	} {
		t.Run(name, func(t *testing.T) {
			c := base
			tweak(&c)
			n, err := Start(context.Background(), c)
			if err == nil {
				_ = n.Shutdown(context.Background())
				t.Fatal("started")
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

// TestHealingMarkOnlyWhereDataMayBeMissing: a wiped drive that comes back
// is formatted into the deployment and marked healing, unless the
// deployment holds no bucket, so nothing can be missing from it.
func TestHealingMarkOnlyWhereDataMayBeMissing(t *testing.T) {
	dir := t.TempDir()
	endpoints := []string{filepath.Join(dir, "data{1...4}")}
	restartWiped := func() *testNode {
		t.Helper()
		if err := os.RemoveAll(filepath.Join(dir, "data3")); err != nil {
			t.Fatal(err)
		}
		return startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	}
	healing := func(n *testNode) int {
		t.Helper()
		c := admin.Client{Endpoint: n.URL, AccessKey: testUser, SecretKey: testPassword}
		info, err := c.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, d := range info.Drives {
			if d.Healing {
				count++
			}
		}
		return count
	}

	n := startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	_ = n.Shutdown(context.Background())
	n = restartWiped()
	if got, rebuilds := healing(n), n.healStatus().Rebuilds; got != 0 || len(rebuilds) != 0 {
		t.Fatalf("%d drives marked healing and %d rebuilds in a deployment without buckets", got, len(rebuilds))
	}
	if code, body := s3Do(t, n, "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	_ = n.Shutdown(context.Background())
	n = restartWiped()
	// The mark may already be gone: rebuilding an empty bucket takes
	// milliseconds. The rebuild it started stays in the heal status.
	if got, rebuilds := healing(n), n.healStatus().Rebuilds; got != 1 && len(rebuilds) != 1 {
		t.Fatalf("%d drives marked healing and %d rebuilds after a wipe in a deployment with a bucket, want 1", got, len(rebuilds))
	}
}

// TestStaleUploadsRemoved: the node sweeps multipart uploads older than
// MultipartExpiry on its own (the age rule itself is tested in node/object:
// TestMultipartStaleCleanup).
func TestStaleUploadsRemoved(t *testing.T) {
	n := startLocal(t, func(c *Config) {
		c.MultipartExpiry = 500 * time.Millisecond
		c.CleanupInterval = 100 * time.Millisecond
	})
	if code, body := s3Do(t, n, "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	if code, body := s3Do(t, n, "POST", "/bucket/big?uploads", nil); code != http.StatusOK {
		t.Fatalf("create upload: %d %s", code, body)
	}
	listed := func() bool {
		code, body := s3Do(t, n, "GET", "/bucket?uploads", nil)
		if code != http.StatusOK {
			t.Fatalf("list uploads: %d %s", code, body)
		}
		return strings.Contains(string(body), "<Key>big</Key>")
	}
	if !listed() {
		t.Fatal("the new upload is not listed")
	}
	deadline := time.Now().Add(30 * time.Second)
	for listed() {
		if time.Now().After(deadline) {
			t.Fatal("a stale upload was not removed within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadsHealWhatTheyFind: a drive that lost an object's files gets them
// back once a read has noticed, without anyone asking.
func TestReadsHealWhatTheyFind(t *testing.T) {
	dir := t.TempDir()
	n := startLocal(t, func(c *Config) { c.Endpoints = []string{filepath.Join(dir, "data{1...4}")} })
	if code, body := s3Do(t, n, "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	data := bytes.Repeat([]byte("heal me "), 40_000) // 320 KB: shard files, not inline
	if code, body := s3Do(t, n, "PUT", "/bucket/obj", data); code != http.StatusOK {
		t.Fatalf("put: %d %s", code, body)
	}
	lost := local.ObjectDir(filepath.Join(dir, "data2"), "bucket", "obj")
	if _, err := os.Stat(local.RecordFile(filepath.Join(dir, "data2"), "bucket", "obj")); err != nil {
		t.Fatalf("the object is not where the test expects it: %v", err)
	}
	if err := os.RemoveAll(lost); err != nil {
		t.Fatal(err)
	}
	if code, got := s3Do(t, n, "GET", "/bucket/obj", nil); code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET with one drive's copy gone: %d, %d bytes", code, len(got))
	}
	eventually(t, 20*time.Second, "the lost copy was not healed", func() bool {
		_, err := os.Stat(local.RecordFile(filepath.Join(dir, "data2"), "bucket", "obj"))
		return err == nil
	})
	// Counted once the worker returns, just after the commit.
	eventually(t, 20*time.Second, "the heal is not counted in the metrics", func() bool {
		_, metrics := get(t, n.URL+PathMetrics)
		return strings.Contains(metrics, `gridstore_heals_total{result="healed"}`) &&
			!strings.Contains(metrics, `gridstore_heals_total{result="healed"} 0`)
	})
	// The healed copy is whole: with two other drives' copies gone, the
	// object still reads (2+2: the healed drive and one other suffice).
	for _, d := range []string{"data1", "data3"} {
		if err := os.RemoveAll(filepath.Join(dir, d, "bucket", "obj")); err != nil {
			t.Fatal(err)
		}
	}
	if code, got := s3Do(t, n, "GET", "/bucket/obj", nil); code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET from the healed drive and one other: %d, %d bytes", code, len(got))
	}
}

// TestYoungLeftoverHealedOnceSettled: a read finds on one drive of four a
// version newer than the object's, just written: a failed write's
// leftover, or a commit still landing. The heal the read queues leaves it
// (too young to judge), and heals the object again once it has settled,
// without another read: the leftover goes.
func TestYoungLeftoverHealedOnceSettled(t *testing.T) {
	dir := t.TempDir()
	n := startLocal(t, func(c *Config) {
		c.Endpoints = []string{filepath.Join(dir, "data{1...4}")}
		c.Timing.Set.CommitSettle = time.Second // the default's two drive timeouts make a slow test
	})
	if code, body := s3Do(t, n, "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	data := bytes.Repeat([]byte("young "), 100) // inline: the record is the whole copy
	if code, body := s3Do(t, n, "PUT", "/bucket/obj", data); code != http.StatusOK {
		t.Fatalf("put: %d %s", code, body)
	}
	latest := func(drive string) (string, *storage.ObjectMeta) {
		raw, err := os.ReadFile(local.RecordFile(filepath.Join(dir, drive), "bucket", "obj"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := storage.DecodeObjectMeta(raw)
		if err != nil {
			t.Fatal(err)
		}
		return m.Versions[0].VersionID, m
	}
	current, _ := latest("data1")
	_, m := latest("data2")
	young := m.Versions[0]
	young.VersionID, young.ModTime = uuid.NewString(), time.Now().UTC()
	m.Put(young)
	raw, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	record := local.RecordFile(filepath.Join(dir, "data2"), "bucket", "obj")
	if err := os.WriteFile(record+".tmp", raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(record+".tmp", record); err != nil {
		t.Fatal(err)
	}
	if code, got := s3Do(t, n, "GET", "/bucket/obj", nil); code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET: %d, %d bytes", code, len(got))
	}
	eventually(t, 20*time.Second, "the young leftover was not removed once settled", func() bool {
		id, m := latest("data2")
		return id == current && m.Find(young.VersionID) < 0
	})
	// Leaving it was no failure.
	_, metrics := get(t, n.URL+PathMetrics)
	if strings.Contains(metrics, `gridstore_heal_failures_total{reason="read"}`) &&
		!strings.Contains(metrics, `gridstore_heal_failures_total{reason="read"} 0`) {
		t.Fatalf("a heal that left a young version counted as failed:\n%s", grepLines(metrics, "gridstore_heal_failures_total"))
	}
}

// TestStartSweepsLeftovers: what a crash leaves on a drive that no object
// refers to (a data dir whose record never came, an empty directory) is
// gone soon after the node starts again, and the objects stay.
func TestStartSweepsLeftovers(t *testing.T) {
	dir := t.TempDir()
	endpoints := []string{filepath.Join(dir, "data{1...4}")}
	first := startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	if code, body := s3Do(t, first, "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	data := bytes.Repeat([]byte("keep me "), 40_000) // shard files, not inline
	if code, body := s3Do(t, first, "PUT", "/bucket/obj", data); code != http.StatusOK {
		t.Fatalf("put: %d %s", code, body)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	drive := filepath.Join(dir, "data3")
	orphan := local.DataDirFile(drive, "bucket", "obj", uuid.NewString())
	gone := local.DataDirFile(drive, "bucket", "never/committed", uuid.NewString())
	for _, d := range []string{orphan, gone} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "part.1"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	eventually(t, 20*time.Second, "leftovers were not swept", func() bool {
		_, err1 := os.Stat(orphan)
		_, err2 := os.Stat(local.ObjectDir(drive, "bucket", "never"))
		return errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist)
	})
	if code, got := s3Do(t, n, "GET", "/bucket/obj", nil); code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET after the sweep: %d, %d bytes", code, len(got))
	}
}
