package admin

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestWriteInfoTable(t *testing.T) {
	info := Collect(context.Background(), testSources(t))
	var buf bytes.Buffer
	if err := WriteInfoTable(&buf, &info); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "info.golden", buf.Bytes())
}

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("table differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestWriteInfoTableEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteInfoTable(&buf, &Info{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("Writes: unknown (no sets)")) {
		t.Errorf("empty info:\n%s", buf.Bytes())
	}
}

func TestBytesIEC(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		60 << 30: "60.0 GiB", 3 << 40: "3.0 TiB", 1<<64 - 1: "16.0 EiB",
	} {
		if got := bytesIEC(n); got != want {
			t.Errorf("bytesIEC(%d) = %q, want %q", n, got, want)
		}
	}
}
