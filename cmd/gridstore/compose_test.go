package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/clusterproc"
)

// envDockerTests gates TestComposeCluster and TestComposeChaos (which also
// wants GRIDSTORE_CHAOS=1): "0" skips them, "1" requires them
// (a missing engine or docker-compose fails the test), unset runs it where a
// Docker engine and docker-compose answer and skips it, saying why,
// elsewhere.
const envDockerTests = "GRIDSTORE_DOCKER_TESTS"

// composeServices are the nodes of docker-compose.yml.
var composeServices = []string{"node1", "node2", "node3", "node4"}

// TestComposeCluster runs the repository's docker-compose.yml as a user
// would, from an image built FROM scratch by the repository's Dockerfile:
// the four nodes, running as uid 65534 on fresh named volumes, all become
// healthy (their healthcheck is `gridstore healthcheck`); S3 PUT, GET, LIST
// and DELETE work through the one published port; with node3 stopped (two
// of the eight drives of the EC 4+4 set gone, six left for a write quorum
// of five) every object still reads back and writes and deletes still
// succeed; node3 started again rejoins, and what was written without it
// reads back. Containers, network, volumes and the image are removed at
// the end, pass or fail.
func TestComposeCluster(tt *testing.T) {
	requireCompose(tt, "the docker-compose cluster test")
	t := clusterproc.EchoFailures(tt, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := startCompose(ctx, t, "gridstore-compose-test-")
	if user := c.inspect(ctx, "node1", "{{.Config.User}}"); user != "65534:65534" {
		t.Fatalf("node1 runs as user %q, want the image's 65534:65534", user)
	}

	s3 := c.s3Client()
	const bucket = "compose-bucket"
	if err := s3.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	want := map[string][]byte{
		"empty":             {},
		"small/inline":      randomBytes(t, 1000),
		"large/three-mib":   randomBytes(t, 3<<20),
		"large/with-prefix": randomBytes(t, 300<<10),
	}
	for key, data := range want {
		putObject(ctx, t, s3, bucket, key, data)
	}
	checkObjects(ctx, t, s3, bucket, want, "all nodes up")

	if out, err := c.compose(ctx, "stop", "node3"); err != nil {
		t.Fatalf("docker-compose stop node3: %v\n%s", err, out)
	}
	checkObjects(ctx, t, s3, bucket, want, "node3 stopped")
	want["written/while-node3-down"] = randomBytes(t, 2<<20)
	want["small/inline"] = randomBytes(t, 500)
	for _, key := range []string{"written/while-node3-down", "small/inline"} {
		putObject(ctx, t, s3, bucket, key, want[key])
	}
	if err := s3.RemoveObject(ctx, bucket, "empty", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("delete with node3 stopped: %v", err)
	}
	delete(want, "empty")
	checkObjects(ctx, t, s3, bucket, want, "node3 stopped, after writes")
	c.waitAdmin(ctx, "node3's drives offline", func(info *admin.Info) bool {
		return countDrives(info, admin.DriveOnline) == 6
	})

	if out, err := c.compose(ctx, "start", "node3"); err != nil {
		t.Fatalf("docker-compose start node3: %v\n%s", err, out)
	}
	c.waitHealthy(ctx, "node3")
	c.waitAdmin(ctx, "every node up and every drive online", func(info *admin.Info) bool {
		up := 0
		for _, n := range info.Nodes {
			if n.State == admin.NodeUp {
				up++
			}
		}
		return up == len(composeServices) && countDrives(info, admin.DriveOnline) == 2*len(composeServices)
	})
	checkObjects(ctx, t, s3, bucket, want, "node3 back")
}

// requireCompose skips t (what names it in the message) where
// GRIDSTORE_DOCKER_TESTS=0, under -short, or where docker-compose or a
// Docker engine is missing; with GRIDSTORE_DOCKER_TESTS=1 a missing one
// fails it instead.
func requireCompose(t *testing.T, what string) {
	t.Helper()
	required := os.Getenv(envDockerTests) == "1"
	skip := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf(envDockerTests+"=1, but "+format, args...)
		}
		t.Skipf(format+" (set "+envDockerTests+"=1 to make this a failure)", args...)
	}
	switch {
	case os.Getenv(envDockerTests) == "0":
		t.Skipf("%s=0: %s is skipped", envDockerTests, what)
	case testing.Short() && !required:
		t.Skipf("-short: %s builds an image and runs four containers", what)
	}
	if _, err := exec.LookPath("docker-compose"); err != nil {
		skip("docker-compose is not installed: %s needs it", what)
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		skip("no Docker engine answers (docker info: %v: %s): %s needs one", err, strings.TrimSpace(string(out)), what)
	}
}

// startCompose builds the image and runs docker-compose.yml as a project
// of the test's own (project names its prefix; the image gets a tag of its
// own), and waits until every node is healthy. When the test ends the
// containers' last log lines are printed if it failed, and containers,
// network, volumes and image are removed, pass or fail.
func startCompose(ctx context.Context, t testing.TB, project string) *composeCluster {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// docker-compose checks that node1's build context (bin/) exists for
	// every command, `ps` and `down` included, even with --no-build; in a
	// fresh clone nothing has made it yet.
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	suffix := randomHex(t, 4)
	c := &composeCluster{
		t:       t,
		file:    filepath.Join(root, "docker-compose.yml"),
		project: project + suffix,
		image:   "gridstore:compose-test-" + suffix,
		s3Addr:  freeAddr(t),
		user:    "compose-test",
		secret:  "compose-test-" + randomHex(t, 12),
		logTail: 40,
	}
	c.buildImage(ctx, root)
	t.Cleanup(func() {
		// The test's own context may be spent: the cleanup has its own.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if t.Failed() {
			tail := strconv.Itoa(c.logTail)
			if out, err := c.compose(ctx, "logs", "--no-color", "--tail", tail); err == nil {
				t.Logf("container logs (last %s lines each):\n%s", tail, out)
			}
		}
		c.down(ctx)
	})

	if out, err := c.compose(ctx, "up", "-d", "--no-build"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	start := time.Now()
	c.waitHealthy(ctx, composeServices...)
	t.Logf("four nodes healthy %v after docker-compose up", time.Since(start).Round(time.Second))
	return c
}

// composeCluster is one docker-compose project of docker-compose.yml.
type composeCluster struct {
	t             testing.TB
	file, project string
	image         string
	s3Addr        string // host:port the S3 port is published on
	user, secret  string
	logTail       int // log lines per container printed when the test fails
}

// buildImage builds the static binary and the image the way `make docker`
// does, into a context of the test's own: nothing is pulled, and bin/ is
// left alone.
func (c *composeCluster) buildImage(ctx context.Context, root string) {
	t := c.t
	dir := t.TempDir()
	for i := 1; i <= 16; i++ {
		if err := os.MkdirAll(filepath.Join(dir, "mountpoints", fmt.Sprintf("data%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=compose-test",
		"-o", filepath.Join(dir, "gridstore"), "./cmd/gridstore")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	docker := exec.CommandContext(ctx, "docker", "build", "--pull=false", "-q", "-t", c.image,
		"-f", filepath.Join(root, "cmd", "gridstore", "Dockerfile"), dir)
	if out, err := docker.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", "-f", c.image).CombinedOutput(); err != nil {
			t.Errorf("docker rmi %s: %v\n%s", c.image, err, out)
		}
	})
}

// compose runs docker-compose on the project with the settings
// docker-compose.yml reads from the environment.
func (c *composeCluster) compose(ctx context.Context, args ...string) (string, error) {
	_, port, err := net.SplitHostPort(c.s3Addr)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"-f", c.file, "-p", c.project}, args...)...)
	cmd.Env = append(os.Environ(),
		"GRIDSTORE_IMAGE="+c.image,
		"GRIDSTORE_S3_BIND=127.0.0.1",
		"GRIDSTORE_S3_PORT="+port,
		envRootUser+"="+c.user,
		envRootPassword+"="+c.secret,
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// down removes the project's containers, network and volumes, and checks
// that no volume is left behind.
func (c *composeCluster) down(ctx context.Context) {
	t := c.t
	if out, err := c.compose(ctx, "down", "-v", "--remove-orphans", "-t", "10"); err != nil {
		t.Errorf("docker-compose down -v: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, "docker", "volume", "ls", "-q",
		"--filter", "label=com.docker.compose.project="+c.project).CombinedOutput()
	if err != nil {
		t.Errorf("docker volume ls: %v\n%s", err, out)
	} else if left := strings.TrimSpace(string(out)); left != "" {
		t.Errorf("volumes left after docker-compose down -v: %s", left)
	}
}

// inspect formats a service's container with a docker inspect template.
func (c *composeCluster) inspect(ctx context.Context, service, format string) string {
	id, err := c.compose(ctx, "ps", "-q", service)
	if err != nil {
		return fmt.Sprintf("docker-compose ps: %v: %s", err, strings.TrimSpace(id))
	}
	if strings.TrimSpace(id) == "" {
		return "no container"
	}
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", format, strings.TrimSpace(id)).Output()
	if err != nil {
		return fmt.Sprintf("docker inspect: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// waitHealthy waits until the services' healthchecks pass. The image's
// healthcheck starts after 60 s of grace, probes every 5 s: the bound is
// there to catch a node that never comes up, not to time it.
func (c *composeCluster) waitHealthy(ctx context.Context, services ...string) {
	t := c.t
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var pending []string
		for _, s := range services {
			status := c.inspect(ctx, s, "{{if .State.Health}}{{.State.Health.Status}}{{else}}no healthcheck{{end}} ({{.State.Status}})")
			if !strings.HasPrefix(status, "healthy") {
				pending = append(pending, s+": "+status)
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("not healthy after 3 minutes: %s", strings.Join(pending, ", "))
		}
		time.Sleep(time.Second)
	}
}

// waitAdmin waits until node1's admin API, through the published port,
// reports what ok looks for.
func (c *composeCluster) waitAdmin(ctx context.Context, what string, ok func(*admin.Info) bool) {
	c.t.Helper()
	c.waitAdminAt(ctx, "http://"+c.s3Addr, what, ok)
}

// waitAdminAt waits up to a minute until the admin API at endpoint
// reports what ok looks for.
func (c *composeCluster) waitAdminAt(ctx context.Context, endpoint, what string, ok func(*admin.Info) bool) {
	t := c.t
	t.Helper()
	if last, done := c.pollAdmin(ctx, endpoint, time.Minute, ok); !done {
		t.Fatalf("admin info of %s: not %s after a minute; last answer:\n%s", endpoint, what, last)
	}
}

// pollAdmin asks the admin API at endpoint every second, for up to wait,
// until ok accepts its answer; it returns the last answer (or error) and
// whether ok accepted one.
func (c *composeCluster) pollAdmin(ctx context.Context, endpoint string, wait time.Duration, ok func(*admin.Info) bool) (string, bool) {
	client := admin.Client{Endpoint: endpoint, AccessKey: c.user, SecretKey: c.secret,
		HTTP: &http.Client{Timeout: 20 * time.Second}}
	defer client.HTTP.CloseIdleConnections()
	deadline := time.Now().Add(wait)
	var last string
	for {
		info, err := client.Info(ctx)
		if err == nil && ok(info) {
			return "", true
		}
		if err != nil {
			last = err.Error()
		} else {
			var b strings.Builder
			_ = admin.WriteInfoTable(&b, info)
			last = b.String()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return last, false
		}
		time.Sleep(time.Second)
	}
}

// s3Client returns a client of node1's published S3 port. Its idle
// connections are closed when the test ends (other tests of the package
// check for leaked goroutines).
func (c *composeCluster) s3Client() *minio.Client {
	c.t.Helper()
	tr := &http.Transport{}
	c.t.Cleanup(tr.CloseIdleConnections)
	s3, err := minio.New(c.s3Addr, &minio.Options{
		Transport: tr,
		Creds:     credentials.NewStaticV4(c.user, c.secret, ""),
		Region:    "us-east-1",
		// One try: a request that fails must fail the test, not be
		// retried into a pass.
		MaxRetries: 1,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return s3
}

func putObject(ctx context.Context, t testing.TB, s3 *minio.Client, bucket, key string, data []byte) {
	t.Helper()
	if _, err := s3.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatalf("put %s (%d bytes): %v", key, len(data), err)
	}
}

// checkObjects reads every object of want back and lists the bucket, which
// must hold exactly want's keys.
func checkObjects(ctx context.Context, t testing.TB, s3 *minio.Client, bucket string, want map[string][]byte, when string) {
	t.Helper()
	for key, data := range want {
		obj, err := s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("%s: get %s: %v", when, key, err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatalf("%s: get %s: %v", when, key, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: get %s: %d bytes differ from the %d written", when, key, len(got), len(data))
		}
	}
	var listed []string
	for o := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("%s: list: %v", when, o.Err)
		}
		listed = append(listed, o.Key)
		if data, ok := want[o.Key]; ok && o.Size != int64(len(data)) {
			t.Errorf("%s: list: %s has size %d, want %d", when, o.Key, o.Size, len(data))
		}
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(listed, keys) {
		t.Fatalf("%s: list: %q, want %q", when, listed, keys)
	}
}

func countDrives(info *admin.Info, state string) int {
	n := 0
	for _, d := range info.Drives {
		if d.State == state {
			n++
		}
	}
	return n
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomHex(t testing.TB, n int) string {
	return hex.EncodeToString(randomBytes(t, n))
}
