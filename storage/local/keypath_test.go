package local

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gridstore/gridstore/storage"
)

func TestKeyRel(t *testing.T) {
	long := strings.Repeat("x", 300)
	for key, want := range map[string]string{
		"photos/2024/cat.jpg":    "photos/2024/cat.jpg%o",
		"p":                      "p%o",
		"p/":                     "p/%%o",
		"p/q":                    "p/q%o",
		"a//b":                   "a/%/b%o",
		"/":                      "%/%%o",
		"//":                     "%/%/%%o",
		".":                      "%2E%o",
		"..":                     "%2E.%o",
		"x/../y":                 "x/%2E./y%o",
		".meta":                  "%2Emeta%o",
		"a.b/.c.":                "a.b/%2Ec.%o",
		"100%":                   "100%25%o",
		"%+":                     "%25+%o",
		"%o":                     "%25o%o",
		"a\x00b\x01\n\x7f":       "a%00b%01%0A%7F%o",
		`a\b`:                    "a%5Cb%o",
		"ü/✓":                    "ü/✓%o",
		long:                     strings.Repeat("x", 253) + "%+/" + strings.Repeat("x", 47) + "%o",
		strings.Repeat("x", 253): strings.Repeat("x", 253) + "%o",
		strings.Repeat("x", 254): strings.Repeat("x", 253) + "%+/x%o",
		// The rune that does not fit starts the next piece whole.
		strings.Repeat("x", 252) + "éé" + "y": strings.Repeat("x", 252) + "%+/" + "ééy%o",
		// A piece that starts with a dot has it escaped too.
		strings.Repeat("x", 253) + ".." + strings.Repeat("y", 10): strings.Repeat("x", 253) + "%+/%2E." + strings.Repeat("y", 10) + "%o",
	} {
		if got := keyRel(key); got != want {
			t.Errorf("keyRel(%q)\n got %q\nwant %q", storage.ClipName(key), got, want)
		}
		if got := prefixRel(key); got+objectSuffix != want {
			t.Errorf("prefixRel(%q) = %q, not keyRel's path without %q", storage.ClipName(key), got, objectSuffix)
		}
		checkKeyRel(t, key)
	}
}

// checkKeyRel checks the invariants of key's object directory path: every
// name is one a file system takes as it is and the drive's own entries
// never have, the names decode back to the key, and only the last is an
// object directory.
func checkKeyRel(t *testing.T, key string) {
	t.Helper()
	rel := keyRel(key)
	var segs []string
	piece := ""
	names := strings.Split(rel, "/")
	for i, name := range names {
		if name == "" || name == "." || name == ".." || len(name) > maxNameBytes || name[0] == internalMark || strings.ContainsAny(name, "\x00\\") {
			t.Fatalf("keyRel(%q) = %q: name %q is not a plain directory name", storage.ClipName(key), rel, name)
		}
		p, kind, ok := decodeName(name)
		if !ok {
			t.Fatalf("keyRel(%q) = %q: name %q does not decode", storage.ClipName(key), rel, name)
		}
		if (kind == objectName) != (i == len(names)-1) {
			t.Fatalf("keyRel(%q) = %q: name %q is of kind %d", storage.ClipName(key), rel, name, kind)
		}
		piece += p
		if kind != pieceName {
			segs = append(segs, piece)
			piece = ""
		}
	}
	if got := strings.Join(segs, "/"); got != key {
		t.Fatalf("keyRel(%q) = %q decodes to %q", storage.ClipName(key), rel, storage.ClipName(got))
	}
	if plainKey(key) != (prefixRel(key) == key) {
		t.Fatalf("plainKey(%q) = %v, but prefixRel is %q", storage.ClipName(key), plainKey(key), prefixRel(key))
	}
}

func TestDecodeNameRefuses(t *testing.T) {
	for _, name := range []string{
		"", ".meta", ".", "..", "." + "11111111-1111-4111-8111-111111111111",
		"%2e", "%2", "%%", "%zz", "%41", "a%2Eb", "%+", "a%+%+", "%25%", "\x01", `a\b`, "\xff", "a/b",
		"%o%o", "a%+%o", "a%o%+", "%%+", "%O", "a%o%", strings.Repeat("x", 254), strings.Repeat("x", 254) + "%o",
	} {
		if _, _, ok := decodeName(name); ok {
			t.Errorf("decodeName(%q) accepted a name the drive never writes", name)
		}
	}
}

func FuzzKeyRel(f *testing.F) {
	for _, seed := range []string{
		"a", "p/", "a//b", "..", "x/./y", ".meta", "%", "%2E", "%+", "a\x00b", strings.Repeat("é", 200),
		strings.Repeat("\x01", 500), strings.Repeat("x", 253) + "." + strings.Repeat("y", 300),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.CheckObjectKey(key) != nil {
			return
		}
		checkKeyRel(t, key)
	})
}

func FuzzDecodeName(f *testing.F) {
	for _, seed := range []string{"a", "%", "%%o", "a%o", "%2E.", "%00%1F", "abc%+", "%2E%+", "%25", ".meta", "%2e", "é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		piece, kind, ok := decodeName(name)
		if !ok {
			return
		}
		if !utf8.ValidString(piece) {
			t.Fatalf("decodeName(%q) = %q: not UTF-8", name, piece)
		}
		// Only the drive's own spelling is accepted, so one segment has
		// one name.
		want := emptySegment
		if piece != "" {
			want = string(appendPiece(nil, piece))
		}
		switch kind {
		case objectName:
			want += objectSuffix
		case pieceName:
			want += pieceSuffix
		}
		if want != name {
			t.Fatalf("decodeName(%q) = %q, %d: the drive writes that as %q", name, piece, kind, want)
		}
	})
}
