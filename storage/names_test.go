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
		path       string
		ok, fileOK bool // CheckPath, CheckFilePath
	}{
		{"obj", true, true},
		{"a/b/c.txt", true, true},
		{"photos/2024/üñíçødé ✓.jpg", true, true},
		{".hidden/..dots../...", true, true},
		{"a/meta/b", true, true},
		{"meta", true, false},
		{"a/meta", true, false},
		{"a/metadata", true, true},
		{long, true, true},
		{long + "x", false, false},
		{strings.Repeat("a/", MaxPathLength/2-1) + "bc", true, true},
		{strings.Repeat("a/", MaxPathLength/2) + "b", false, false},
		{"", false, false},
		{"/abs", false, false},
		{"a/", false, false},
		{"a//b", false, false},
		{".", false, false},
		{"..", false, false},
		{"a/./b", false, false},
		{"a/../b", false, false},
		{"a/..", false, false},
		{"../a", false, false},
		{`a\b`, false, false},
		{`..\..\etc`, false, false},
		{"a\x00", false, false},
		{"\xc3\x28", false, false},
	} {
		err := CheckPath(c.path)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidPath)) {
			t.Errorf("CheckPath(%q) = %v, want ok=%v", c.path, err, c.ok)
		}
		err = CheckFilePath(c.path)
		if (err == nil) != c.fileOK || (err != nil && !errors.Is(err, ErrInvalidPath)) {
			t.Errorf("CheckFilePath(%q) = %v, want ok=%v", c.path, err, c.fileOK)
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
