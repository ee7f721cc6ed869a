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
		"photos/2024/cat.jpg":    "photos/2024/cat.jpg",
		"p":                      "p",
		"p/":                     "p/%",
		"p/q":                    "p/q",
		"a//b":                   "a/%/b",
		"/":                      "%/%",
		"//":                     "%/%/%",
		".":                      "%2E",
		"..":                     "%2E.",
		"x/../y":                 "x/%2E./y",
		".meta":                  "%2Emeta",
		"a.b/.c.":                "a.b/%2Ec.",
		"100%":                   "100%25",
		"%+":                     "%25+",
		"a\x00b\x01\n\x7f":       "a%00b%01%0A%7F",
		`a\b`:                    "a%5Cb",
		"ü/✓":                    "ü/✓",
		long:                     strings.Repeat("x", 253) + "%+/" + strings.Repeat("x", 47),
		strings.Repeat("x", 255): strings.Repeat("x", 255),
		// The rune that does not fit starts the next piece whole.
		strings.Repeat("x", 252) + "éé" + "y": strings.Repeat("x", 252) + "%+/" + "ééy",
		// A piece that starts with a dot has it escaped too.
		strings.Repeat("x", 253) + ".." + strings.Repeat("y", 10): strings.Repeat("x", 253) + "%+/%2E." + strings.Repeat("y", 10),
	} {
		if got := keyRel(key); got != want {
			t.Errorf("keyRel(%q)\n got %q\nwant %q", storage.ClipName(key), got, want)
		}
		checkKeyRel(t, key)
	}
}

// checkKeyRel checks the invariants of key's directory path: every name
// is one a file system takes as it is and the drive's own entries never
// have, and the names decode back to the key.
func checkKeyRel(t *testing.T, key string) {
	t.Helper()
	rel := keyRel(key)
	var segs []string
	piece := ""
	for name := range strings.SplitSeq(rel, "/") {
		if name == "" || name == "." || name == ".." || len(name) > maxNameBytes || name[0] == internalMark || strings.ContainsAny(name, "\x00\\") {
			t.Fatalf("keyRel(%q) = %q: name %q is not a plain directory name", storage.ClipName(key), rel, name)
		}
		p, continued, ok := decodeName(name)
		if !ok {
			t.Fatalf("keyRel(%q) = %q: name %q does not decode", storage.ClipName(key), rel, name)
		}
		piece += p
		if !continued {
			segs = append(segs, piece)
			piece = ""
		}
	}
	if piece != "" {
		t.Fatalf("keyRel(%q) = %q ends in a continued piece", storage.ClipName(key), rel)
	}
	if got := strings.Join(segs, "/"); got != key {
		t.Fatalf("keyRel(%q) = %q decodes to %q", storage.ClipName(key), rel, storage.ClipName(got))
	}
	if plainKey(key) != (rel == key) {
		t.Fatalf("plainKey(%q) = %v, but keyRel is %q", storage.ClipName(key), plainKey(key), rel)
	}
}

func TestDecodeNameRefuses(t *testing.T) {
	for _, name := range []string{
		"", ".meta", ".", "..", "." + "11111111-1111-4111-8111-111111111111",
		"%2e", "%2", "%", "%%", "%zz", "%41", "a%2Eb", "%+", "a%+%+", "%25%", "\x01", `a\b`, "\xff", "a/b",
	} {
		if name == emptySegment {
			continue // the empty segment
		}
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
	for _, seed := range []string{"a", "%", "%2E.", "%00%1F", "abc%+", "%2E%+", "%25", ".meta", "%2e", "é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		piece, continued, ok := decodeName(name)
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
		if continued {
			want += pieceSuffix
		}
		if want != name {
			t.Fatalf("decodeName(%q) = %q, %v: the drive writes that as %q", name, piece, continued, want)
		}
	})
}
