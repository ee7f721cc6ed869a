package local

import (
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gridstore/gridstore/storage"
)

// How an object key becomes directories (docs/namespace.md has the reasons).
//
// A key is split at every "/" into segments, empty ones included, and each
// segment is escaped into a name. The key's object lives in its object
// directory: the names of its segments as a path, the last one with "%o"
// at its end; it holds the object's record and data dirs, whose names
// start with ".". The keys that go on past the segment ("p/...") live
// under its prefix directory, the same path without "%o". So "p", "p/" and
// "p/q" are p%o/, p/%%o/ and p/q%o/: no object's directory holds another
// key, deleting one object never removes another's entries, and a listing
// tells objects from common prefixes by their names alone.
//
// A segment is escaped into a name: "%XX" (upper-case hex) stands for a
// control byte (0x00-0x1F, 0x7F), "%", "\" or a "." that would start the
// name, so that no name is "", ".", "..", starts with "." (the drive's own
// entries) or holds a byte that other tools handle badly. The empty segment
// is "%". A segment whose name would not leave room for a two-byte suffix
// within NAME_MAX is split at a character boundary into pieces: each piece
// but the last is named with "%+" at its end and is a directory holding
// the next piece, so the segment is all the pieces from the first to a name
// without "%+".
const (
	recordName      = ".meta" // an object's metadata record, in its directory
	internalMark    = '.'     // what the drive's own entries start with
	escapeByte      = '%'
	emptySegment    = "%"
	pieceSuffix     = "%+"             // a piece of a long segment, continued in the directory below
	objectSuffix    = "%o"             // an object's directory
	maxNameBytes    = 255              // NAME_MAX of the file systems a drive may be on
	maxPieceContent = maxNameBytes - 2 // room for a suffix
)

// needsEscape reports whether byte c of a name, at its start if first, is
// written as "%XX".
func needsEscape(c byte, first bool) bool {
	return c < 0x20 || c == 0x7f || c == escapeByte || c == '\\' || (first && c == internalMark)
}

// escapedLen returns the length of the name of piece s.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i], i == 0) {
			n += 2
		}
	}
	return n
}

const upperHex = "0123456789ABCDEF"

// appendPiece appends the escaped name of piece s (not empty).
func appendPiece(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; needsEscape(c, i == 0) {
			b = append(b, escapeByte, upperHex[c>>4], upperHex[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return b
}

// pieceCut returns the length of the longest prefix of s, ending at a
// character boundary, whose name fits in limit bytes (at least one
// character: limit leaves room for any).
func pieceCut(s string, limit int) int {
	n := 0
	for i, r := range s {
		cost := utf8.RuneLen(r)
		if r == utf8.RuneError || cost < 0 {
			cost = 1
		}
		if cost == 1 && needsEscape(s[i], i == 0) {
			cost = 3
		}
		if n+cost > limit && i > 0 {
			return i
		}
		n += cost
	}
	return len(s)
}

// appendSegment appends the directory path of one key segment: one name,
// or the names of its pieces separated by "/".
func appendSegment(b []byte, seg string) []byte {
	if seg == "" {
		return append(b, emptySegment...)
	}
	for escapedLen(seg) > maxPieceContent {
		n := pieceCut(seg, maxPieceContent)
		b = appendPiece(b, seg[:n])
		b = append(b, pieceSuffix...)
		b = append(b, '/')
		seg = seg[n:]
	}
	return appendPiece(b, seg)
}

// prefixRel returns the slash-separated path of the prefix directory of
// key (where the keys key+"/..." live), relative to its volume's directory.
func prefixRel(key string) string {
	if plainKey(key) {
		return key // the common case: every segment is its own name
	}
	return string(appendPrefix(make([]byte, 0, len(key)+16), key))
}

// keyRel returns the slash-separated path of key's object directory
// relative to its volume's directory.
func keyRel(key string) string {
	if plainKey(key) {
		return key + objectSuffix
	}
	return string(append(appendPrefix(make([]byte, 0, len(key)+16), key), objectSuffix...))
}

// appendPrefix appends the names of key's segments as a path.
func appendPrefix(b []byte, key string) []byte {
	for {
		seg, rest, more := strings.Cut(key, "/")
		b = appendSegment(b, seg)
		if !more {
			return b
		}
		b = append(b, '/')
		key = rest
	}
}

// plainKey reports whether every segment of key is a name that needs no
// escaping or splitting, so that the key is its own prefix path.
func plainKey(key string) bool {
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			if needsEscape(key[i], i == start) {
				return false
			}
			continue
		}
		if i == start || i-start > maxPieceContent {
			return false // an empty or long segment
		}
		start = i + 1
	}
	return true
}

// nameKind is what a directory name in a key's path stands for.
type nameKind uint8

const (
	prefixName nameKind = iota // a segment's prefix directory
	objectName                 // a segment's object directory ("%o")
	pieceName                  // a piece of a long segment, continued below ("%+")
)

// decodeName returns the segment, or piece of a segment, that the
// directory name stands for and what kind of name it is. ok is false for a
// name this package does not write for a key: the drive's own entries
// (".meta", data dirs), and anything else found there, which a walk passes
// over. Only the one spelling appendSegment produces is accepted, so no two
// names decode to the same segment.
func decodeName(name string) (piece string, kind nameKind, ok bool) {
	switch {
	case strings.HasSuffix(name, objectSuffix):
		name, kind = name[:len(name)-len(objectSuffix)], objectName
	case strings.HasSuffix(name, pieceSuffix):
		name, kind = name[:len(name)-len(pieceSuffix)], pieceName
	}
	if name == emptySegment && kind != pieceName {
		return "", kind, true
	}
	if name == "" || len(name) > maxPieceContent {
		return "", 0, false
	}
	// The common case, a name that is its own segment, in one pass: no
	// byte that needed escaping (so no escape either), and UTF-8 checked
	// only if there is a byte beyond ASCII.
	plain, ascii := !needsEscape(name[0], true), true
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c >= 0x20 && c != 0x7f && c != escapeByte && c != '\\' && c != '/'
		ascii = ascii && c < utf8.RuneSelf
	}
	if plain {
		if !ascii && !utf8.ValidString(name) {
			return "", 0, false
		}
		return name, kind, true
	}
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != escapeByte {
			if needsEscape(c, len(b) == 0) || c == '/' {
				return "", 0, false
			}
			b = append(b, c)
			continue
		}
		if i+2 >= len(name) {
			return "", 0, false
		}
		hi, lo := strings.IndexByte(upperHex, name[i+1]), strings.IndexByte(upperHex, name[i+2])
		if hi < 0 || lo < 0 {
			return "", 0, false
		}
		c = byte(hi<<4 | lo)
		if !needsEscape(c, len(b) == 0) {
			return "", 0, false // spelt another way than appendPiece does
		}
		b = append(b, c)
		i += 2
	}
	if !utf8.Valid(b) {
		return "", 0, false
	}
	return string(b), kind, true
}

// isDataDirName reports whether name is the on-disk name of a data dir
// ("." and a canonical UUID).
func isDataDirName(name string) bool {
	return len(name) == 37 && name[0] == internalMark && storage.CheckDataDir(name[1:]) == nil
}

// dataDirName returns the on-disk name of data dir id.
func dataDirName(id string) string { return string(internalMark) + id }

// objectDir returns the directory of key in volume.
func (d *Drive) objectDir(volume, key string) string { return ObjectDir(d.root, volume, key) }

// ObjectDir returns the object directory of key in volume on the local
// drive at root, which holds the key's record (RecordFile) and its data
// dirs (DataDirFile), and nothing else. It is for tests
// and tools that look at a drive's files; the drive's callers go through
// its methods.
func ObjectDir(root, volume, key string) string {
	return filepath.Join(root, filepath.FromSlash(volume), filepath.FromSlash(keyRel(key)))
}

// RecordFile returns the file of key's metadata record (see ObjectDir).
func RecordFile(root, volume, key string) string {
	return filepath.Join(ObjectDir(root, volume, key), recordName)
}

// DataDirFile returns the directory of the data dir id of key (see
// ObjectDir).
func DataDirFile(root, volume, key, id string) string {
	return filepath.Join(ObjectDir(root, volume, key), dataDirName(id))
}
