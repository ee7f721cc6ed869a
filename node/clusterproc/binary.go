package clusterproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// EnvBinary names a prebuilt gridstore binary to run instead of building
// one (for example bin/gridstore from `make build`).
const EnvBinary = "GRIDSTORE_BIN"

// serverPackage is what Binary builds.
const serverPackage = "github.com/gridstore/gridstore/cmd/gridstore"

// builds are the binaries built for this test process, once each: with the
// race detector (when the test binary has it) and without.
var (
	buildsMu sync.Mutex
	builds   = map[bool]*buildResult{}
)

type buildResult struct {
	once sync.Once
	dir  string // temporary folder holding it; "" with GRIDSTORE_BIN
	path string
	err  error
	took time.Duration
}

// Binary returns the path of the gridstore binary the clusters run: the
// value of GRIDSTORE_BIN if set, else ./cmd/gridstore built once for this
// test process (with -race when the test binary has the race detector). The
// build needs the test's working directory to be inside the gridstore
// module, which `go test` guarantees. It fails the test if the binary cannot
// be had.
func Binary(t testing.TB) string {
	t.Helper()
	return binaryOf(t, raceEnabled)
}

// binaryOf is Binary with the race detector chosen: measurements of memory
// and throughput run a binary without it (it multiplies memory several
// times), whatever the test binary has.
func binaryOf(t testing.TB, race bool) string {
	t.Helper()
	path, err := buildBinary(race)
	if err != nil {
		t.Fatalf("clusterproc: %v", err)
	}
	return path
}

func buildBinary(race bool) (string, error) {
	buildsMu.Lock()
	b := builds[race]
	if b == nil {
		b = &buildResult{}
		builds[race] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.build(race) })
	return b.path, b.err
}

func (b *buildResult) build(race bool) {
	if p := os.Getenv(EnvBinary); p != "" {
		abs, err := filepath.Abs(p)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			b.err = fmt.Errorf("%s=%q: %w", EnvBinary, p, err)
			return
		}
		b.path = abs
		return
	}
	start := time.Now()
	b.dir, b.err = os.MkdirTemp("", "gridstore-clusterproc-bin-")
	if b.err != nil {
		b.err = fmt.Errorf("build gridstore: %w", b.err)
		return
	}
	b.path = filepath.Join(b.dir, "gridstore")
	args := []string{"build", "-o", b.path}
	if race {
		args = append(args, "-race")
	}
	args = append(args, serverPackage)
	// `go test` puts its own Go first on PATH for the processes it
	// runs, so "go" is the toolchain that built this test.
	cmd := exec.Command("go", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.err = fmt.Errorf("go %v (set %s to use a prebuilt binary): %w\n%s", args, EnvBinary, err, out)
		return
	}
	b.took = time.Since(start)
}

// RemoveBuild deletes the binary Binary built, if any. Call it from TestMain
// after m.Run: the build is shared by every test of the process.
func RemoveBuild() {
	buildsMu.Lock()
	defer buildsMu.Unlock()
	for _, b := range builds {
		if b.dir != "" {
			_ = os.RemoveAll(b.dir)
		}
	}
}

// buildTook is how long the build of the binary with or without the race
// detector took (0 if it was not built here).
func buildTook(race bool) time.Duration {
	buildsMu.Lock()
	defer buildsMu.Unlock()
	if b := builds[race]; b != nil {
		return b.took
	}
	return 0
}
