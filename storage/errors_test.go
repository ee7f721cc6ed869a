package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSentinelCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Sentinels() {
		if !strings.HasPrefix(e.Code(), "storage.") || len(e.Code()) <= len("storage.") {
			t.Errorf("%v: code %q", e, e.Code())
		}
		if seen[e.Code()] {
			t.Errorf("code %q used twice", e.Code())
		}
		seen[e.Code()] = true
		wrapped := fmt.Errorf("op vol/path: %w", e)
		if !errors.Is(wrapped, e) {
			t.Errorf("%v does not survive wrapping", e)
		}
		for _, other := range Sentinels() {
			if other != e && errors.Is(wrapped, other) {
				t.Errorf("%v matches %v", e, other)
			}
		}
	}
	// Every exported sentinel is listed, so that the remote drive
	// registers them all.
	for _, e := range []*Error{ErrVolumeNotFound, ErrVolumeExists, ErrVolumeNotEmpty, ErrFileNotFound,
		ErrFileVersionNotFound, ErrFileCorrupt, ErrUnknownFormat, ErrSizeMismatch,
		ErrDirectoryNotEmpty, ErrTooManyVersions, ErrInvalidVolume, ErrInvalidPath, ErrInvalidArgument,
		ErrDiskFull, ErrFaultyDisk, ErrDiskAccessDenied, ErrDriveOffline, ErrDriveTimeout, ErrDriveFaulty, ErrUnformatted, ErrDriveNotEmpty,
		ErrAlreadyFormatted, ErrDeploymentMismatch, ErrLayoutMismatch, ErrDrivePosition, ErrDriveInUse} {
		if !seen[e.Code()] {
			t.Errorf("%v missing from Sentinels()", e)
		}
	}
	// Sentinels returns a copy.
	Sentinels()[0] = nil
	if Sentinels()[0] == nil {
		t.Error("Sentinels() exposes the package's slice")
	}
}

func TestCorruptError(t *testing.T) {
	err := fmt.Errorf("verify: %w", &CorruptError{Volume: "b", Path: "o", Part: 3, Offset: 1024, Reason: "bitrot"})
	if !errors.Is(err, ErrFileCorrupt) {
		t.Fatal("CorruptError is not ErrFileCorrupt")
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Part != 3 || ce.Offset != 1024 {
		t.Fatalf("errors.As: %+v", ce)
	}
	for _, c := range []struct {
		err  *CorruptError
		want string
	}{
		{&CorruptError{Volume: "b", Path: "o", Part: 3, Offset: 1024, Reason: "bitrot"}, "b/o: part.3 at shard offset 1024: bitrot"},
		{&CorruptError{Volume: "b", Path: "o", Part: 1, Offset: -1, Reason: "10 bytes, want 20"}, "b/o: part.1: 10 bytes, want 20"},
		{&CorruptError{Volume: "b", Path: "o", Offset: 0, Reason: "bitrot"}, "b/o: inline data at shard offset 0: bitrot"},
	} {
		if !strings.HasSuffix(c.err.Error(), c.want) {
			t.Errorf("%q does not end in %q", c.err.Error(), c.want)
		}
	}
}
