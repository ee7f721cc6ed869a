package endpoint

import (
	"errors"
	"strings"
	"testing"
)

// FuzzExpand: Expand never panics, never yields more than MaxDrives strings,
// and either succeeds with brace-free strings or fails with a sentinel.
// Parse gets the same input, to exercise the URL and path checks too.
func FuzzExpand(f *testing.F) {
	for _, seed := range []string{
		"http://node{1...4}:9000/data{1...2}", "/mnt/d{01...16}", "./data{1...4}", "{1...2}{3...4}",
		"/d{4...1}", "/d{}", "/d{1...}", "/d{{1...2}}", "/d{1...99999999999}", "http://[::1]:9000/d",
		"http://h:9000/a/../b", "node1:9000/data", "/", "",
	} {
		f.Add(seed)
	}
	sentinels := []error{ErrBadSyntax, ErrEmptyRange, ErrDescendingRange, ErrTooManyDrives}
	f.Fuzz(func(t *testing.T, pattern string) {
		out, err := Expand(pattern)
		if err != nil {
			if !anyIs(err, sentinels) {
				t.Fatalf("Expand(%q): untyped error %v", pattern, err)
			}
		} else {
			if len(out) == 0 || len(out) > MaxDrives {
				t.Fatalf("Expand(%q): %d strings", pattern, len(out))
			}
			for _, s := range out {
				if strings.ContainsAny(s, "{}") {
					t.Fatalf("Expand(%q): %q still has braces", pattern, s)
				}
			}
		}
		topo, err := Parse([]string{pattern})
		if err == nil && (len(topo.Endpoints) == 0 || len(topo.Endpoints) > MaxDrives || len(topo.Nodes) == 0) {
			t.Fatalf("Parse(%q): %d endpoints, %d nodes", pattern, len(topo.Endpoints), len(topo.Nodes))
		}
		if err != nil && !anyIs(err, allSentinels) {
			t.Fatalf("Parse(%q): untyped error %v", pattern, err)
		}
	})
}

var allSentinels = []error{ErrNoEndpoints, ErrBadSyntax, ErrEmptyRange, ErrDescendingRange, ErrTooManyDrives,
	ErrBadURL, ErrRelativePath, ErrBadPath, ErrMixedForms, ErrMixedSchemes, ErrDuplicateEndpoint, ErrDuplicatePath,
	ErrUnequalDrives, ErrNoSetSize, ErrBadSelf, ErrSelfNotFound, ErrSelfAmbiguous}

func anyIs(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
