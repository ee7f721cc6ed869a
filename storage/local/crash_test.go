package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// The crash test runs every operation that commits something in a child
// process (this test binary, re-executed) and kills the child at each step
// of the commit, through the crashPoint hook. The parent then opens the
// drive afresh, as a restarted node would, and checks that it holds
// exactly the state before the operation or the one after (after, once the
// commit rename has happened), never a mix, with every record readable and
// every byte of data where its record says.
//
// A kill by os.Exit loses nothing the kernel already has, so this proves
// atomicity against process crashes; the fsyncs that extend it to power
// loss are checked by reading the code (durable.go), not by this test.
const (
	crashScenarioEnv = "GRIDSTORE_CRASH_SCENARIO"
	crashPointEnv    = "GRIDSTORE_CRASH_POINT"
	crashDirEnv      = "GRIDSTORE_CRASH_DIR"
	crashSyncEnv     = "GRIDSTORE_CRASH_SYNC_EACH_FILE"
	crashExitCode    = 77
	reachedPrefix    = "reached "
)

// Fixed data dirs, so that the parent knows what the child wrote.
const (
	dataDir1 = "11111111-1111-4111-8111-111111111111"
	dataDir2 = "22222222-2222-4222-8222-222222222222"
)

// crashVersion is a version the parent expects to find.
type crashVersion struct {
	id      string
	dataDir string // "" for inline data
	data    []byte
}

func crashData(tag string) []byte { return bytes.Repeat([]byte(tag+"|"), 3000) }

var (
	v1Old    = crashVersion{"v1", dataDir1, crashData("v1-old")}
	v2New    = crashVersion{"v2", dataDir2, crashData("v2-new")}
	nullOld  = crashVersion{storage.NullVersionID, dataDir1, crashData("null-old")}
	nullNew  = crashVersion{storage.NullVersionID, dataDir2, crashData("null-new")}
	inlineV1 = crashVersion{"v1", "", []byte("inline one")}
	inlineV2 = crashVersion{"v1", "", []byte("inline two, rewritten in place")}
)

// crashScenario is one operation: setup makes the state before it (in the
// parent), act performs it (in the child, where it is killed), and before
// and after are the versions of "bucket/obj", newest first, in each state.
type crashScenario struct {
	setup         func(ctx context.Context, d *Drive) error
	act           func(ctx context.Context, d *Drive) error
	before, after []crashVersion
}

var crashScenarios = map[string]crashScenario{
	"replace null version": {
		setup:  func(ctx context.Context, d *Drive) error { return publishCrashVersion(ctx, d, nullOld, 0) },
		act:    func(ctx context.Context, d *Drive) error { return publishCrashVersion(ctx, d, nullNew, 1) },
		before: []crashVersion{nullOld},
		after:  []crashVersion{nullNew},
	},
	"add version": {
		setup:  func(ctx context.Context, d *Drive) error { return publishCrashVersion(ctx, d, v1Old, 0) },
		act:    func(ctx context.Context, d *Drive) error { return publishCrashVersion(ctx, d, v2New, 1) },
		before: []crashVersion{v1Old},
		after:  []crashVersion{v2New, v1Old},
	},
	"create object": {
		setup: func(ctx context.Context, d *Drive) error { return nil },
		act:   func(ctx context.Context, d *Drive) error { return publishCrashVersion(ctx, d, v1Old, 0) },
		after: []crashVersion{v1Old},
	},
	"create inline object": {
		setup: func(ctx context.Context, d *Drive) error { return nil },
		act:   func(ctx context.Context, d *Drive) error { return writeCrashInline(ctx, d, inlineV1) },
		after: []crashVersion{inlineV1},
	},
	"update version in place": {
		setup:  func(ctx context.Context, d *Drive) error { return writeCrashInline(ctx, d, inlineV1) },
		act:    func(ctx context.Context, d *Drive) error { return writeCrashInline(ctx, d, inlineV2) },
		before: []crashVersion{inlineV1},
		after:  []crashVersion{inlineV2},
	},
	"delete a version": {
		setup: func(ctx context.Context, d *Drive) error {
			if err := publishCrashVersion(ctx, d, v1Old, 0); err != nil {
				return err
			}
			return publishCrashVersion(ctx, d, v2New, 1)
		},
		act:    func(ctx context.Context, d *Drive) error { return d.DeleteVersion(ctx, "bucket", "obj", "v2") },
		before: []crashVersion{v2New, v1Old},
		after:  []crashVersion{v1Old},
	},
	"delete the last version": {
		setup:  func(ctx context.Context, d *Drive) error { return publishCrashVersion(ctx, d, v1Old, 0) },
		act:    func(ctx context.Context, d *Drive) error { return d.DeleteVersion(ctx, "bucket", "obj", "v1") },
		before: []crashVersion{v1Old},
	},
	"shard stream cut": {
		setup: func(ctx context.Context, d *Drive) error { return nil },
		act: func(ctx context.Context, d *Drive) error {
			return d.CreateFile(ctx, storage.TmpVolume, "up/"+dataDir1+"/part.1", 4<<20, &crashingReader{size: 4 << 20})
		},
	},
}

// publishCrashVersion stages v's data and publishes it as bucket/obj.
func publishCrashVersion(ctx context.Context, d *Drive, v crashVersion, second int) error {
	tmp := "up-" + v.dataDir + "/" + v.dataDir
	if err := d.CreateFile(ctx, storage.TmpVolume, tmp+"/part.1", int64(len(v.data)), bytes.NewReader(v.data)); err != nil {
		return err
	}
	fi := storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: v.id, DataDir: v.dataDir, ModTime: t0.Add(time.Duration(second) * time.Second),
		Size: int64(len(v.data)), Parts: []storage.PartInfo{{Number: 1, Size: int64(len(v.data))}},
	}}
	_, err := d.RenameData(ctx, storage.TmpVolume, tmp, fi, "bucket", "obj")
	return err
}

func writeCrashInline(ctx context.Context, d *Drive, v crashVersion) error {
	return d.WriteMetadata(ctx, "bucket", "obj", inlineVersion(v.id, t0, string(v.data)))
}

// crashingReader is a shard stream of size bytes that reaches the point
// "stream:half" half way through.
type crashingReader struct{ size, read int }

func (r *crashingReader) Read(p []byte) (int, error) {
	if r.read == r.size {
		return 0, io.EOF
	}
	n := min(len(p), r.size-r.read, 256<<10)
	before := r.read
	r.read += n
	if before < r.size/2 && r.read >= r.size/2 {
		reached("stream:half")
	}
	return n, nil
}

// runCrashChild is the child process: it opens the drive, arms the hook
// and acts. With no point it reports every point it passes instead.
func runCrashChild(scenario, point, dir string, syncEachFile bool) int {
	s, ok := crashScenarios[scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown crash scenario %q\n", scenario)
		return 2
	}
	crashPoint = func(p string) {
		if point == "" {
			fmt.Println(reachedPrefix + p)
		} else if p == point {
			os.Exit(crashExitCode)
		}
	}
	spec, err := LoadFormat(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := Open(dir, ExpectedFor(spec, 0, 0), Options{SyncEachFile: syncEachFile})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer d.Close()
	if err := s.act(context.Background(), d); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// crashChild runs the child for scenario in dir, killed at point ("": not
// killed), and returns its standard output.
func crashChild(t *testing.T, scenario, point, dir string, syncEachFile bool) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashScenarioEnv+"="+scenario, crashPointEnv+"="+point, crashDirEnv+"="+dir,
		fmt.Sprintf("%s=%t", crashSyncEnv, syncEachFile))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	want := 0
	if point != "" {
		want = crashExitCode
	}
	var exit *exec.ExitError
	switch {
	case err == nil && want == 0:
	case errors.As(err, &exit) && exit.ExitCode() == want:
	default:
		t.Fatalf("child %q at %q: %v (want exit code %d)\nstderr: %s", scenario, point, err, want, stderr.String())
	}
	return stdout.String()
}

// prepareCrashDrive formats a drive in a new directory and sets up the
// scenario's starting state.
func prepareCrashDrive(t *testing.T, s crashScenario) (dir string, spec FormatSpec) {
	t.Helper()
	dir, spec = t.TempDir(), testSpec()
	if err := Format(dir, spec); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir, ExpectedFor(spec, 0, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.MakeVol(t.Context(), "bucket"); err != nil {
		t.Fatal(err)
	}
	if err := s.setup(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return dir, spec
}

func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary some eighty times")
	}
	// Both ways of flushing (flush.go) pass the same points.
	for _, syncEachFile := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncEachFile=%t", syncEachFile), func(t *testing.T) {
			crashAtEveryStep(t, syncEachFile)
		})
	}
}

func crashAtEveryStep(t *testing.T, syncEachFile bool) {
	for name, s := range crashScenarios {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A run without a crash lists the points the operation passes.
			dir, spec := prepareCrashDrive(t, s)
			var points []string
			for line := range strings.Lines(crashChild(t, name, "", dir, syncEachFile)) {
				if p, ok := strings.CutPrefix(strings.TrimSpace(line), reachedPrefix); ok {
					points = append(points, p)
				}
			}
			if len(points) == 0 {
				t.Fatal("the operation passes no crash point")
			}
			commit := slices.IndexFunc(points, func(p string) bool { return strings.HasSuffix(p, ":committed") })
			if commit < 0 && s.after != nil {
				t.Fatalf("the operation passes no commit point: %v", points)
			}
			checkCrashState(t, openDrive(t, dir, spec), s.after)

			for i, point := range points {
				t.Run(point, func(t *testing.T) {
					t.Parallel()
					dir, spec := prepareCrashDrive(t, s)
					crashChild(t, name, point, dir, syncEachFile)
					want := s.before
					if commit >= 0 && i >= commit {
						want = s.after
					}
					checkCrashState(t, openDrive(t, dir, spec), want)
				})
			}
		})
	}
}

// checkCrashState checks that the freshly opened drive holds exactly the
// versions want of bucket/obj, whole, nothing left in its staging areas,
// and after a Sweep nothing else in the bucket.
func checkCrashState(t *testing.T, d *Drive, want []crashVersion) {
	t.Helper()
	ctx := t.Context()
	for _, area := range []string{d.stagingDir, d.pathIn(storage.TmpVolume, "")} {
		if entries, err := os.ReadDir(area); err != nil || len(entries) != 0 {
			t.Errorf("%s after Open: %d entries, %v", area, len(entries), err)
		}
	}
	// A sweep removes whatever the crash left that no record names: then
	// the bucket holds exactly the record and the data dirs of want.
	if _, err := d.Sweep(ctx); err != nil {
		t.Fatalf("Sweep after the crash: %v", err)
	}
	var wantEntries []string
	if len(want) > 0 {
		dir := keyRel("obj") + "/"
		wantEntries = []string{dir, dir + recordName}
		for _, v := range want {
			if v.dataDir != "" {
				wantEntries = append(wantEntries, dir+dataDirName(v.dataDir)+"/", dir+dataDirName(v.dataDir)+"/part.1")
			}
		}
		slices.Sort(wantEntries)
		wantEntries = slices.Compact(wantEntries)
	}
	if got := driveEntries(t, d, "bucket"); !slices.Equal(got, wantEntries) {
		t.Fatalf("after the crash and a sweep the bucket holds %q, want %q", got, wantEntries)
	}
	if len(want) == 0 {
		if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, storage.ErrFileNotFound) {
			t.Fatalf("object that should not exist: %v", err)
		}
		return
	}
	raw, err := d.ReadMetadata(ctx, "bucket", "obj")
	if err != nil {
		t.Fatalf("record unreadable after the crash: %v", err)
	}
	meta, err := storage.DecodeObjectMeta(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantIDs []string
	for _, v := range meta.Versions {
		got = append(got, v.VersionID)
	}
	for _, v := range want {
		wantIDs = append(wantIDs, v.id)
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("versions %v, want %v", got, wantIDs)
	}
	for i, w := range want {
		v := meta.Versions[i]
		if v.DataDir != w.dataDir {
			t.Fatalf("version %s has data dir %q, want %q", w.id, v.DataDir, w.dataDir)
		}
		data := v.InlineData
		if w.dataDir != "" {
			rc, err := d.ReadFileStream(ctx, "bucket", storage.PartPath("obj", w.dataDir, 1), 0, -1)
			if err != nil {
				t.Fatalf("data of version %s: %v", w.id, err)
			}
			data, err = io.ReadAll(bufio.NewReader(rc))
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(data, w.data) {
			t.Fatalf("version %s holds %d bytes that are not its data", w.id, len(data))
		}
	}
}
