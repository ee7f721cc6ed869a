package endpoint

import (
	"errors"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		in   string
		want string // the expansion joined by spaces
		err  error
	}{
		{"/data", "/data", nil},
		{"", "", nil},
		{"/d{1...4}", "/d1 /d2 /d3 /d4", nil},
		{"/d{1...1}", "/d1", nil},
		{"/d{0...2}", "/d0 /d1 /d2", nil},
		{"/d{01...03}", "/d01 /d02 /d03", nil},
		{"/d{001...003}", "/d001 /d002 /d003", nil},
		{"/d{08...11}", "/d08 /d09 /d10 /d11", nil},
		{"/d{0...10}", "/d0 /d1 /d2 /d3 /d4 /d5 /d6 /d7 /d8 /d9 /d10", nil}, // "0" alone is not padding
		{"/d{9...10}", "/d9 /d10", nil},
		{"http://n{1...2}:9000/d{1...2}", "http://n1:9000/d1 http://n1:9000/d2 http://n2:9000/d1 http://n2:9000/d2", nil},
		{"{1...2}{a...b}", "", ErrBadSyntax},
		{"{1...2}{3...4}{5...6}", "135 136 145 146 235 236 245 246", nil},
		{"{1...2}-{1...2}", "1-1 1-2 2-1 2-2", nil},
		{"a...b", "a...b", nil}, // dots outside braces are literal
		{"/d{1..4}", "", ErrBadSyntax},
		{"/d{1,2}", "", ErrBadSyntax},
		{"/d{a...b}", "", ErrBadSyntax},
		{"/d{-1...2}", "", ErrBadSyntax},
		{"/d{+1...2}", "", ErrBadSyntax},
		{"/d{ 1...2}", "", ErrBadSyntax},
		{"/d{1...2", "", ErrBadSyntax},
		{"/d1...2}", "", ErrBadSyntax},
		{"/d}", "", ErrBadSyntax},
		{"/d{", "", ErrBadSyntax},
		{"/d{{1...2}}", "", ErrBadSyntax},
		{"/d{1...{2}", "", ErrBadSyntax},
		{"/d{1...2...3}", "", ErrBadSyntax},
		{"/d{01...100}", "", ErrBadSyntax},
		{"/d{1...010}", "", ErrBadSyntax},
		{"/d{١...٣}", "", ErrBadSyntax}, // non-ASCII digits
		{"/d{}", "", ErrEmptyRange},
		{"/d{...}", "", ErrEmptyRange},
		{"/d{1...}", "", ErrEmptyRange},
		{"/d{...4}", "", ErrEmptyRange},
		{"/d{4...1}", "", ErrDescendingRange},
		{"/d{02...01}", "", ErrDescendingRange},
		{"/d{1...1024}", "", nil},
		{"/d{1...1025}", "", ErrTooManyDrives},
		{"/d{0...1024}", "", ErrTooManyDrives},
		{"/d{1...33}/e{1...32}", "", ErrTooManyDrives},
		{"/d{1...32}/e{1...32}", "", nil},
		{"/d{1...999999999999999999}", "", ErrTooManyDrives},
		{"/d{1...9999999999999999999}", "", ErrBadSyntax},
		{"/d{1...2}" + strings.Repeat("x", 5000), "", ErrBadSyntax},
	}
	for _, tc := range tests {
		got, err := Expand(tc.in)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Expand(%.60q): error %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && tc.want != "" && strings.Join(got, " ") != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, strings.Join(got, " "), tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), tc.in[:min(len(tc.in), 20)]) {
			t.Errorf("Expand(%.60q): error %q does not quote the argument", tc.in, err)
		}
	}
}

func TestExpandCounts(t *testing.T) {
	got, err := Expand("/d{1...1024}")
	if err != nil || len(got) != 1024 || got[1023] != "/d1024" {
		t.Fatalf("len %d, %v", len(got), err)
	}
	got, err = Expand("http://n{01...32}:9000/d{01...32}")
	if err != nil || len(got) != 1024 || got[0] != "http://n01:9000/d01" || got[32] != "http://n02:9000/d01" {
		t.Fatalf("len %d, %v", len(got), err)
	}
}
