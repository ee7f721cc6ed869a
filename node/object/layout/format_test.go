package layout

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("id-%02d", i)
	}
	return out
}

func TestFormatSets(t *testing.T) {
	l, err := New(nodesDrives(4, 2), Config{SetSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := l.FormatSets(ids(8))
	if err != nil {
		t.Fatal(err)
	}
	// Round-robin: n1/d1 n2/d1 n3/d1 n4/d1 | n1/d2 ... = drives 0 2 4 6 | 1 3 5 7.
	if got := fmt.Sprint(sets); got != "[[id-00 id-02 id-04 id-06] [id-01 id-03 id-05 id-07]]" {
		t.Fatalf("FormatSets = %s", got)
	}
	if err := l.CheckFormat(sets, ids(8)); err != nil {
		t.Fatalf("CheckFormat of its own layout: %v", err)
	}
	if err := l.CheckFormat(sets, nil); err != nil {
		t.Fatalf("CheckFormat with no drive read: %v", err)
	}
	for name, in := range map[string][]string{
		"short":     ids(7),
		"empty ID":  append(ids(7), ""),
		"duplicate": append(ids(7), "id-00"),
	} {
		if _, err := l.FormatSets(in); !errors.Is(err, ErrBadArgument) {
			t.Errorf("FormatSets %s: %v", name, err)
		}
	}
}

func TestCheckFormat(t *testing.T) {
	l, err := New(nodesDrives(4, 2), Config{SetSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := l.FormatSets(ids(8))
	clone := func() [][]string {
		out := make([][]string, len(good))
		for i := range good {
			out[i] = slices.Clone(good[i])
		}
		return out
	}
	swapped := ids(8)
	swapped[0], swapped[2] = swapped[2], swapped[0] // two mounts swapped on a node
	partial := make([]string, 8)
	partial[3] = "id-03"
	foreign := make([]string, 8)
	foreign[5] = "someone-else"
	emptyID := clone()
	emptyID[1][2] = ""
	dupID := clone()
	dupID[1][2] = "id-00"

	tests := []struct {
		name     string
		sets     [][]string
		driveIDs []string
		want     error
		count    int // position errors expected
		mention  string
	}{
		{"ok", good, ids(8), nil, 0, ""},
		{"some drives unknown", good, partial, nil, 0, ""},
		{"one set", good[:1], ids(8), ErrLayoutMismatch, 0, "1 sets"},
		{"three sets", append(clone(), []string{"x", "y", "z", "w"}), ids(8), ErrLayoutMismatch, 0, "3 sets"},
		{"set of 3", [][]string{good[0], good[1][:3]}, ids(8), ErrLayoutMismatch, 0, "set 1 has 3"},
		{"empty id", emptyID, nil, ErrBadFormat, 0, "position 2"},
		{"duplicate id", dupID, nil, ErrBadFormat, 0, "id-00"},
		{"swapped", good, swapped, ErrDrivePosition, 2, "drive 0 (ID id-02) belongs at set 0 position 1"},
		{"foreign", good, foreign, ErrDrivePosition, 1, "in no set"},
		{"wrong ID count", good, ids(4), ErrBadArgument, 0, "4 drive IDs"},
	}
	for _, tc := range tests {
		err := l.CheckFormat(tc.sets, tc.driveIDs)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: %q does not mention %q", tc.name, err, tc.mention)
		}
		if tc.count > 0 {
			if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != tc.count {
				t.Errorf("%s: %d errors, want %d: %v", tc.name, n, tc.count, err)
			}
		}
	}
}
