package storage

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestCheckVolume(t *testing.T) {
	for _, c := range []struct {
		volume string
		ok     bool
	}{
		{"bucket", true},
		{"my-bucket.2024", true},
		{"abc", true},
		{strings.Repeat("a", 63), true},
		{TmpVolume, true},
		{MultipartVolume, true},
		{"", false},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{".", false},
		{"..", false},
		{".gridstore.sys", false},
		{".gridstore.sys/tmp/..", false},
		{".gridstore.sys/other", false},
		{"lost+found", false},
		{"Bucket", false},
		{"a/b", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"-abc", false},
		{"abc-", false},
		{".abc", false},
		{"abc.", false},
		{"a..b", false},
		{"a b", false},
		{"äbc", false},
	} {
		err := CheckVolume(c.volume)
		if (err == nil) != c.ok {
			t.Errorf("CheckVolume(%q) = %v, want ok=%v", c.volume, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidVolume) {
			t.Errorf("CheckVolume(%q) = %v, not ErrInvalidVolume", c.volume, err)
		}
	}
}

func TestCheckPath(t *testing.T) {
	long := strings.Repeat("x", MaxComponentLength)
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"obj", true},
		{"a/b/c.txt", true},
		{"photos/2024/üñíçødé ✓.jpg", true},
		{"a/meta/b", true},
		{"dots../x...y/y..", true},
		{long, true},
		{long + "x", false},
		{strings.Repeat("a/", MaxPathLength/2-1) + "bc", true},
		{strings.Repeat("a/", MaxPathLength/2) + "b", false},
		{"", false},
		{"/abs", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"a/./b", false},
		{"a/../b", false},
		{"a/..", false},
		{"../a", false},
		{".hidden", false},
		{"a/.meta", false},
		{`a\b`, false},
		{`..\..\etc`, false},
		{"a\x00", false},
		{"\xc3\x28", false},
	} {
		err := CheckPath(c.path)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidPath)) {
			t.Errorf("CheckPath(%q) = %v, want ok=%v", c.path, err, c.ok)
		}
	}
}

func TestCheckObjectKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"obj": true, "dir/": true, "a//b": true, "..": true, ".": true, "x/../y": true, "/": true,
		"a\x00b": true, "\x01\n\x7f": true, `a\b`: true, ".meta": true, "ü/✓": true,
		strings.Repeat("k", MaxKeyLength):     true,
		strings.Repeat("x", 300):              true,
		"":                                    false,
		strings.Repeat("k", MaxKeyLength+1):   false,
		"a/\xff":                              false,
		strings.Repeat("é", MaxKeyLength/2+1): false,
	} {
		if err := CheckObjectKey(key); (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalidPath)) {
			t.Errorf("CheckObjectKey(%q) = %v, want ok=%v", ClipName(key), err, ok)
		}
	}
}

func TestDataPaths(t *testing.T) {
	u := uuid.NewString()
	for _, key := range []string{"obj", "a/b", "dir/", "a//b", "..", "/", "x/" + u, u + "/" + u, "a/" + u + "/part.1"} {
		k, d, err := SplitDataDirPath(DataDirPath(key, u))
		if err != nil || k != key || d != u {
			t.Errorf("SplitDataDirPath(DataDirPath(%q)) = %q, %q, %v", key, k, d, err)
		}
		k, d, name, err := SplitFilePath(PartPath(key, u, 7))
		if err != nil || k != key || d != u || name != "part.7" {
			t.Errorf("SplitFilePath(PartPath(%q)) = %q, %q, %q, %v", key, k, d, name, err)
		}
	}
	for _, path := range []string{"", "obj", u, "/" + u, "obj/" + strings.ToUpper(u), "obj/not-a-uuid", strings.Repeat("k", MaxKeyLength+1) + "/" + u} {
		if _, _, err := SplitDataDirPath(path); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("SplitDataDirPath(%q) = %v, want ErrInvalidPath", ClipName(path), err)
		}
	}
	for _, path := range []string{"", "obj", "obj/part.1", "obj/" + u, "obj/" + u + "/", "obj/" + u + "/.meta", "obj/" + u + "/..", "/" + u + "/part.1", "obj/x/part.1"} {
		if _, _, _, err := SplitFilePath(path); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("SplitFilePath(%q) = %v, want ErrInvalidPath", path, err)
		}
	}
}

func TestCheckVersionIDAndDataDir(t *testing.T) {
	for id, ok := range map[string]bool{
		"null": true, "v1": true, uuid.NewString(): true, strings.Repeat("v", MaxVersionIDLength): true,
		"": false, "a/b": false, "a\x00": false, strings.Repeat("v", MaxVersionIDLength+1): false, "\xff": false,
	} {
		if err := CheckVersionID(id); (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalidArgument)) {
			t.Errorf("CheckVersionID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
	u := uuid.NewString()
	for dir, ok := range map[string]bool{
		u: true, "": false, "..": false, "../" + u: false, strings.ToUpper(u): false,
		"{" + u + "}": false, "urn:uuid:" + u: false, strings.ReplaceAll(u, "-", ""): false,
	} {
		if err := CheckDataDir(dir); (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalidArgument)) {
			t.Errorf("CheckDataDir(%q) = %v, want ok=%v", dir, err, ok)
		}
	}
}

func TestErrorMessagesClipHostileNames(t *testing.T) {
	err := CheckPath(strings.Repeat("x", 100_000))
	if len(err.Error()) > 300 {
		t.Fatalf("error message of %d bytes for a hostile name", len(err.Error()))
	}
}
