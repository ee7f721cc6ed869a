package local

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMakeParentsBottomUp: a directory under existing parents costs one
// mkdir however deep it is; missing parents are made from the top, each
// directory that gained an entry is left for the flush, and a base that
// does not exist is an error rather than made.
func TestMakeParentsBottomUp(t *testing.T) {
	base := t.TempDir()
	mkdirs := func() int64 { return ReadSyscallCounts().Mkdirs }

	var p pending
	before := mkdirs()
	if err := makeParents(base, "a/b/c", &p); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(base, "a", "b", "c")); err != nil || !st.IsDir() {
		t.Fatalf("a/b/c not made: %v", err)
	}
	want := []string{base, filepath.Join(base, "a"), filepath.Join(base, "a", "b")}
	if got := slices.Sorted(slices.Values(p.dirs)); !slices.Equal(got, want) {
		t.Errorf("directories to flush: %v, want %v", got, want)
	}
	// Bottom-up from a/b/c: two tries that find no parent, then a, a/b
	// and a/b/c. (Top-down would take three: a new prefix costs more, a
	// new key under an existing one less.)
	if n := mkdirs() - before; n != 5 {
		t.Errorf("%d mkdirs for three new levels, want 5", n)
	}

	p = pending{}
	before = mkdirs()
	if err := makeParents(base, "a/b/c/d", &p); err != nil {
		t.Fatal(err)
	}
	if n := mkdirs() - before; n != 1 {
		t.Errorf("%d mkdirs for a new directory under existing parents, want 1", n)
	}
	if !slices.Equal(p.dirs, []string{filepath.Join(base, "a", "b", "c")}) {
		t.Errorf("directories to flush: %v", p.dirs)
	}

	p = pending{}
	before = mkdirs()
	if err := makeParents(base, "a/b", &p); err != nil || mkdirs() != before || len(p.dirs) != 0 {
		t.Errorf("an existing directory: %v, %d mkdirs, flush %v", err, mkdirs()-before, p.dirs)
	}

	if err := os.WriteFile(filepath.Join(base, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := makeParents(base, "file/x", nil); err == nil {
		t.Error("a directory made under a file")
	}
	if err := makeParents(filepath.Join(base, "missing"), "x/y", nil); err == nil {
		t.Error("a missing base was made")
	}
	if _, err := os.Stat(filepath.Join(base, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing base: %v", err)
	}
}
