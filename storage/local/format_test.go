package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/drivetest"
)

// twoSetLayout is a deployment of two sets of two drives.
func twoSetLayout() (deployment string, sets [][]string) {
	return uuid.NewString(), [][]string{{uuid.NewString(), uuid.NewString()}, {uuid.NewString(), uuid.NewString()}}
}

func TestFormatAndOpen(t *testing.T) {
	deployment, sets := twoSetLayout()
	dirs := make([][]string, len(sets))
	for s := range sets {
		for i, id := range sets[s] {
			dir := t.TempDir()
			dirs[s] = append(dirs[s], dir)
			spec := FormatSpec{DeploymentID: deployment, DriveID: id, Sets: sets, BitrotKey: drivetest.BitrotKey}
			if err := Format(dir, spec); err != nil {
				t.Fatalf("Format set %d drive %d: %v", s, i, err)
			}
			got, err := LoadFormat(dir)
			if err != nil || got.DriveID != id || got.DeploymentID != deployment {
				t.Fatalf("LoadFormat = %+v, %v", got, err)
			}
		}
	}
	ref := FormatSpec{DeploymentID: deployment, Sets: sets, BitrotKey: drivetest.BitrotKey}
	d, err := Open(dirs[1][0], ExpectedFor(ref, 1, 0), Options{Endpoint: "http://node2/data1"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := d.DiskInfo(t.Context())
	if err != nil || info.DriveID != sets[1][0] || info.Endpoint != "http://node2/data1" || d.String() != "http://node2/data1" {
		t.Fatalf("DiskInfo = %+v, %v", info, err)
	}
	// The drive is locked while open, by this process too.
	if _, err := Open(dirs[1][0], ExpectedFor(ref, 1, 0), Options{}); !errors.Is(err, storage.ErrDriveInUse) {
		t.Fatalf("second Open: %v", err)
	}
	if err := Format(dirs[1][0], FormatSpec{DeploymentID: deployment, DriveID: sets[1][0], Sets: sets, BitrotKey: drivetest.BitrotKey}); !errors.Is(err, storage.ErrAlreadyFormatted) {
		t.Fatalf("Format of an open drive: %v", err)
	}
	d.Close()
	d, err = Open(dirs[1][0], ExpectedFor(ref, 1, 0), Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer d.Close()

	// Drives in the wrong place, or from elsewhere, are refused.
	for _, c := range []struct {
		name string
		dir  string
		exp  Expected
		want error
	}{
		{"swapped within a set", dirs[0][1], ExpectedFor(ref, 0, 0), storage.ErrDrivePosition},
		{"from another set", dirs[0][0], ExpectedFor(ref, 1, 1), storage.ErrDrivePosition},
		{"other deployment", dirs[0][0], Expected{DeploymentID: uuid.NewString(), Sets: sets, BitrotKey: drivetest.BitrotKey}, storage.ErrDeploymentMismatch},
		{"other bitrot key", dirs[0][0], Expected{DeploymentID: deployment, Sets: sets, BitrotKey: make([]byte, 32)}, storage.ErrDeploymentMismatch},
		{"other layout", dirs[0][0], Expected{DeploymentID: deployment, Sets: sets[:1], BitrotKey: drivetest.BitrotKey}, storage.ErrLayoutMismatch},
		{"position outside the layout", dirs[0][0], ExpectedFor(ref, 2, 0), storage.ErrInvalidArgument},
		{"negative position", dirs[0][0], ExpectedFor(ref, 0, -1), storage.ErrInvalidArgument},
		{"unformatted", t.TempDir(), ExpectedFor(ref, 0, 0), storage.ErrUnformatted},
		{"missing mount point", filepath.Join(t.TempDir(), "gone"), ExpectedFor(ref, 0, 0), storage.ErrDriveOffline},
	} {
		if _, err := Open(c.dir, c.exp, Options{}); !errors.Is(err, c.want) {
			t.Errorf("%s: Open = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestFormatRefuses(t *testing.T) {
	valid := testSpec()
	if err := Format(filepath.Join(t.TempDir(), "missing"), valid); !errors.Is(err, storage.ErrDriveOffline) {
		t.Errorf("missing path: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Format(file, valid); !errors.Is(err, storage.ErrDriveOffline) {
		t.Errorf("a file: %v", err)
	}

	// Somebody's data is never formatted over.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("years of work"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Format(dir, valid); !errors.Is(err, storage.ErrDriveNotEmpty) {
		t.Errorf("non-empty directory: %v", err)
	}
	if _, err := LoadFormat(dir); !errors.Is(err, storage.ErrUnformatted) || !errors.Is(err, storage.ErrDriveNotEmpty) {
		t.Errorf("LoadFormat of foreign data: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "thesis.tex")); err != nil || string(b) != "years of work" {
		t.Fatal("the data was touched")
	}

	// lost+found, and a format that died half way, are fine.
	dir = t.TempDir()
	for _, sub := range []string{"lost+found", sysDirName} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := Format(dir, valid); err != nil {
		t.Fatalf("Format over lost+found and an unfinished format: %v", err)
	}
	if err := Format(dir, testSpec()); !errors.Is(err, storage.ErrAlreadyFormatted) {
		t.Errorf("second Format: %v", err)
	}

	for name, mutate := range map[string]func(s *FormatSpec){
		"no deployment":       func(s *FormatSpec) { s.DeploymentID = "" },
		"bad drive ID":        func(s *FormatSpec) { s.DriveID = "drive-1" },
		"drive in no set":     func(s *FormatSpec) { s.Sets = [][]string{{uuid.NewString()}} },
		"drive twice":         func(s *FormatSpec) { s.Sets = [][]string{{s.DriveID, s.DriveID}} },
		"empty set":           func(s *FormatSpec) { s.Sets = append(s.Sets, nil) },
		"no sets":             func(s *FormatSpec) { s.Sets = nil },
		"short key":           func(s *FormatSpec) { s.BitrotKey = s.BitrotKey[:16] },
		"path in a set":       func(s *FormatSpec) { s.Sets[0] = append(s.Sets[0], "../../x") },
		"drive ID not a UUID": func(s *FormatSpec) { s.DriveID = strings.Repeat("x", 36) },
	} {
		spec := testSpec()
		mutate(&spec)
		if err := Format(t.TempDir(), spec); !errors.Is(err, storage.ErrInvalidArgument) {
			t.Errorf("%s: Format = %v", name, err)
		}
	}
}

func TestLoadFormatDamaged(t *testing.T) {
	for name, c := range map[string]struct {
		content string
		want    error
	}{
		"garbage":       {"\x00\x01not json", storage.ErrFileCorrupt},
		"torn":          {`{"version":2,"deploymentID":"`, storage.ErrFileCorrupt},
		"empty":         {"", storage.ErrFileCorrupt},
		"version 0":     {`{"version":0}`, storage.ErrFileCorrupt},
		"newer version": {`{"version":3,"whatever":"new"}`, storage.ErrUnknownFormat},
		// Version 1 stored keys as plain paths: refused, not migrated.
		"version 1":    {`{"version":1,"deploymentID":"x","driveID":"y","sets":[["z"]],"bitrotKey":""}`, storage.ErrUnknownFormat},
		"inconsistent": {`{"version":2,"deploymentID":"x","driveID":"y","sets":[["z"]],"bitrotKey":""}`, storage.ErrFileCorrupt},
	} {
		dir := t.TempDir()
		if err := Format(dir, testSpec()); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sysDirName, formatFileName), []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFormat(dir); !errors.Is(err, c.want) {
			t.Errorf("%s: LoadFormat = %v, want %v", name, err, c.want)
		}
		if _, err := Open(dir, ExpectedFor(testSpec(), 0, 0), Options{}); !errors.Is(err, c.want) {
			t.Errorf("%s: Open = %v, want %v", name, err, c.want)
		}
	}
}
