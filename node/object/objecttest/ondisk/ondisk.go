// Package ondisk looks at what drives hold on disk, for tests that must
// see what no API shows: files an operation should have removed. It
// imports nothing of gridstore, so that the object layer's own tests can
// use it as well as those built on package objecttest (whose
// Cluster.DriveDirs gives the drive roots).
package ondisk

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

// LeftoversUnder returns everything found under <root>/<bucket>/ on each
// drive root: every file, directory and other entry, hidden ones (names
// starting with '.') included, as "<root>: <path in the bucket>" (a
// directory with a trailing slash), sorted. A bucket folder that is absent
// or empty yields nothing.
//
// It knows nothing of how a drive lays out an object inside its bucket, on
// purpose: whatever a drive keeps of an object that no longer exists (a
// data dir without a record, an internal entry) is a leftover, whatever it
// is called, and tests that delete everything expect an empty folder.
// Walk errors other than the folder's absence fail the test.
func LeftoversUnder(t testing.TB, driveRoots []string, bucket string) []string {
	t.Helper()
	if bucket == "" || bucket != filepath.Base(bucket) {
		t.Fatalf("LeftoversUnder: %q is not a bucket name", bucket)
	}
	var out []string
	for _, root := range driveRoots {
		dir := filepath.Join(root, bucket)
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == dir {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if e.IsDir() {
				rel += "/"
			}
			out = append(out, root+": "+rel)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("LeftoversUnder: walk %s: %v", dir, err)
		}
	}
	slices.Sort(out)
	return out
}

// RequireBucketEmpty fails the test, listing what it found, unless the
// folder of bucket is empty or absent on every drive root (LeftoversUnder).
func RequireBucketEmpty(t testing.TB, driveRoots []string, bucket string) {
	t.Helper()
	if left := LeftoversUnder(t, driveRoots, bucket); len(left) > 0 {
		const show = 20 // enough to see the pattern
		msg := fmt.Sprint(left)
		if len(left) > show {
			msg = fmt.Sprintf("%v and %d more", left[:show], len(left)-show)
		}
		t.Fatalf("bucket %s: %d entries left on the drives: %s", bucket, len(left), msg)
	}
}
