package object

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage/local"
)

// leftoverSet makes drive 5 of a 6-drive set (3+3, write quorum 4) hold
// key's replaced version beside its current one, as a write's cleanup
// leaves it when the drive missed it, and returns the set, the current
// version's ID and its bytes. how says why the cleanup missed: "late", the
// drive's commit answered after the writer gave up on it (the write
// succeeded on the others, so the drive was never cleaned, yet the commit
// landed: an inline object, whose commit needs no staging directory that
// the writer removes meanwhile); "failed", the drive's removal of the old
// version (with shard files) failed.
func leftoverSet(t *testing.T, how string, tweak func(*Config)) (*healSet, string, []byte) {
	t.Helper()
	const pos = 5
	hs := newHealSet(t, 6, func(c *Config) {
		c.DriveTimeout = 300 * time.Millisecond
		if tweak != nil {
			tweak(c)
		}
	})
	size := 3*testBlockSize + 5
	if how == "late" {
		size = 1000
	}
	first := hs.put(t, "k", randomBytes(1, size))
	hs.onlyVersion(t, "k", first.VersionID)
	hs.heals.take()
	switch how {
	case "late":
		hs.drives[pos].set(faultLate, "RenameData")
	case "failed":
		hs.drives[pos].set(faultError, "DeleteVersion")
	default:
		t.Fatalf("leftoverSet: unknown way %q", how)
	}
	data := randomBytes(2, size+4)
	second := hs.put(t, "k", data)
	// The late commit lands on its own, a drive timeout later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := hs.versions(t, "k")[pos]
		if len(v) == 2 && v[0] == second.VersionID && v[1] == first.VersionID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drive %d holds %v, want the new version and the replaced one", pos, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	hs.drives[pos].clear()
	named := false
	for _, r := range hs.heals.take() {
		named = named || slices.Contains(r.Missing, pos)
	}
	if !named {
		t.Fatalf("drive %d, whose cleanup missed, is not named for healing", pos)
	}
	return hs, second.VersionID, data
}

// TestHealPrunesLeftoverVersions: a drive that holds the current version
// and, beside it, the version it replaced (its cleanup missed) is named
// for healing, and the heal removes the old version with its data dir;
// a dry run only reports it. Before, the heal found the drive current and
// left the garbage for good, and a corrupt shard in it with it.
func TestHealPrunesLeftoverVersions(t *testing.T) {
	for _, how := range []string{"late", "failed"} {
		for _, tc := range []struct {
			name  string
			tweak func(*Config)
		}{{"tests-timeouts", nil}, {"defaults", defaultReadTimeouts}} {
			t.Run(how+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				hs, current, data := leftoverSet(t, how, tc.tweak)
				ctx := context.Background()
				dry, err := hs.HealObject(ctx, testBucket, "k", HealOptions{DryRun: true})
				if err != nil || !slices.Equal(dry.Leftovers, []int{5}) || len(dry.Pruned) != 0 {
					t.Fatalf("dry run: %+v, %v; want leftovers on drive 5, nothing pruned", dry, err)
				}
				if v := hs.versions(t, "k")[5]; len(v) != 2 {
					t.Fatalf("the dry run changed drive 5: %v", v)
				}
				res, err := hs.HealObject(ctx, testBucket, "k", HealOptions{})
				if err != nil || !slices.Equal(res.Pruned, []int{5}) || len(res.Healed) != 0 {
					t.Fatalf("heal: %+v, %v; want drive 5 pruned, nothing rebuilt", res, err)
				}
				hs.onlyVersion(t, "k", current)
				hs.onlyDataDir(t, 5, "k")
				hs.mustGet(t, "k", data)
				again, err := hs.HealObject(ctx, testBucket, "k", HealOptions{})
				if err != nil || len(again.Leftovers)+len(again.Pruned)+len(again.Targets) != 0 {
					t.Fatalf("second heal: %+v, %v; want nothing to do", again, err)
				}
			})
		}
	}
}

// TestScanFindsLeftoverVersions: the scanner's check of an object, which
// reads only the latest version of each drive, sees the replaced version
// a drive kept (by its version count) and has it removed.
func TestScanFindsLeftoverVersions(t *testing.T) {
	t.Parallel()
	hs, current, data := leftoverSet(t, "failed", nil)
	res, err := hs.ScanObject(context.Background(), testBucket, "k", false)
	if err != nil || !slices.Equal(res.Leftovers, []int{5}) || len(res.Stale) != 0 || res.Heal == nil ||
		!slices.Equal(res.Heal.Pruned, []int{5}) {
		t.Fatalf("scan: %+v (heal %+v), %v; want drive 5's leftovers found and pruned", res, res.Heal, err)
	}
	hs.onlyVersion(t, "k", current)
	hs.onlyDataDir(t, 5, "k")
	hs.mustGet(t, "k", data)
	res, err = hs.ScanObject(context.Background(), testBucket, "k", true)
	if err != nil || len(res.Leftovers)+len(res.Stale)+len(res.Corrupt) != 0 || res.Heal != nil {
		t.Fatalf("second scan: %+v, %v; want a clean object", res, err)
	}
}

// onlyDataDir fails unless drive pos keeps no data dir of key but the
// current version's (none for an inline object) beside its record.
func (hs *healSet) onlyDataDir(t testing.TB, pos int, key string) {
	t.Helper()
	fi, err := hs.local[pos].ReadVersion(context.Background(), testBucket, key, "")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(hs.objectDir(pos, key))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	var want []string
	if fi.DataDir != "" {
		want = []string{filepath.Base(local.DataDirFile(hs.local[pos].Endpoint(), testBucket, key, fi.DataDir))}
	}
	if !slices.Equal(dirs, want) {
		t.Fatalf("drive %d keeps data dirs %v of %s, want %v", pos, dirs, key, want)
	}
}
