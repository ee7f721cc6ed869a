package local

import (
	"os"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/drivetest"
)

func TestMain(m *testing.M) {
	if scenario := os.Getenv(crashScenarioEnv); scenario != "" {
		// A crash test's child process (crash_test.go), not a test run.
		os.Exit(runCrashChild(scenario, os.Getenv(crashPointEnv), os.Getenv(crashDirEnv), os.Getenv(crashSyncEnv) == "true"))
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

// testSpec returns the format of a one-drive deployment with the suite's
// bitrot key.
func testSpec() FormatSpec {
	id := uuid.NewString()
	return FormatSpec{
		DeploymentID: uuid.NewString(),
		DriveID:      id,
		Sets:         [][]string{{id}},
		BitrotKey:    drivetest.BitrotKey,
	}
}

// newDrive formats dir and opens it; the drive is closed when t ends.
func newDrive(t testing.TB, dir string) *Drive {
	t.Helper()
	spec := testSpec()
	if err := Format(dir, spec); err != nil {
		t.Fatal(err)
	}
	return openDrive(t, dir, spec)
}

func openDrive(t testing.TB, dir string, spec FormatSpec) *Drive {
	t.Helper()
	d, err := Open(dir, ExpectedFor(spec, 0, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storage.Drive {
		return newDrive(t, t.TempDir())
	})
}

// TestConformanceSyncEachFile: the same with files and directories synced
// one by one instead of by group flushes (flush.go).
func TestConformanceSyncEachFile(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storage.Drive {
		dir, spec := t.TempDir(), testSpec()
		if err := Format(dir, spec); err != nil {
			t.Fatal(err)
		}
		d, err := Open(dir, ExpectedFor(spec, 0, 0), Options{SyncEachFile: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	})
}
