package layout

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestSipHashVectors(t *testing.T) {
	f, err := os.Open("testdata/siphash24_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var key [16]byte
	msg := make([]byte, 64)
	for i := range 16 {
		key[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	k0, k1 := binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, err := strconv.ParseUint(line, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := sipHash24(k0, k1, msg[:n]); got != want {
			t.Errorf("length %d: %016x, want %016x", n, got, want)
		}
		n++
	}
	if n != 64 {
		t.Fatalf("read %d vectors, want 64", n)
	}
}

func TestParseDeploymentID(t *testing.T) {
	id, err := ParseDeploymentID("00010203-0405-0607-0809-0A0B0C0D0E0F")
	if err != nil || id != (DeploymentID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}) {
		t.Fatalf("got %x, %v", id, err)
	}
	for _, bad := range []string{"", "00010203-0405-0607-0809-0a0b0c0d0e0", "000102030405060708090a0b0c0d0e0f",
		"00010203-0405-0607-0809_0a0b0c0d0e0f", "0001020g-0405-0607-0809-0a0b0c0d0e0f", "00010203-0405-0607-0809-0a0b0c0d0e0f0"} {
		if _, err := ParseDeploymentID(bad); !errors.Is(err, ErrBadArgument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

var pinnedID = DeploymentID{0x2f, 0x8c, 0x4a, 0x91, 0x6e, 0x03, 0x4b, 0x7d, 0x9a, 0x15, 0xc4, 0x60, 0xe2, 0x7b, 0x38, 0xd9}

// TestPlacementPinned pins SetIndex and Distribution for a fixed deployment
// ID. SetIndex must never change (objects would become unreachable);
// Distribution is recorded per object, but a change should still be a
// decision, not an accident.
func TestPlacementPinned(t *testing.T) {
	var out strings.Builder
	out.WriteString("# go test -run TestPlacementPinned -update. SetIndex outputs here must NEVER change.\n")
	fmt.Fprintf(&out, "# deployment %x\n# key | set of 1 2 3 4 7 16 64 | distribution of 4 6 16\n", pinnedID)
	keys := [][2]string{{"", ""}, {"bucket", "object"}, {"photos", "2024/cat.jpg"}, {"photos", "2024/dog.jpg"},
		{"a", "b/c/d/e"}, {"logs", "x"}, {"logs", "y"}, {"logs", "z"}, {"ünïcödé", "日本語/ファイル"}, {"b", strings.Repeat("long", 100)}}
	for _, k := range keys {
		fmt.Fprintf(&out, "%q |", ObjectKey(k[0], k[1]))
		for _, n := range []int{1, 2, 3, 4, 7, 16, 64} {
			i, err := SetIndex(pinnedID, k[0], k[1], n)
			if err != nil || i < 0 || i >= n {
				t.Fatalf("SetIndex(%q, %d) = %d, %v", k, n, i, err)
			}
			fmt.Fprintf(&out, " %d", i)
		}
		out.WriteString(" |")
		for _, n := range []int{4, 6, 16} {
			d, err := Distribution(k[0], k[1], n)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, " %v", d)
		}
		out.WriteString("\n")
	}
	golden(t, "testdata/placement.golden", out.String())
}

func TestSetIndexSpread(t *testing.T) {
	// 16000 names over 16 sets: a fair hash puts 1000±~32 in each; allow 15%.
	const sets, names = 16, 16000
	var count [sets]int
	for i := range names {
		s, err := SetIndex(pinnedID, "bucket", fmt.Sprintf("object-%d", i), sets)
		if err != nil {
			t.Fatal(err)
		}
		count[s]++
	}
	for s, c := range count {
		if c < names/sets*85/100 || c > names/sets*115/100 {
			t.Errorf("set %d got %d of %d names: %v", s, c, names, count)
		}
	}
	// The deployment ID keys the hash: another ID places names differently.
	other := pinnedID
	other[0] ^= 1
	moved := 0
	for i := range 1000 {
		a, _ := SetIndex(pinnedID, "bucket", fmt.Sprintf("object-%d", i), sets)
		b, _ := SetIndex(other, "bucket", fmt.Sprintf("object-%d", i), sets)
		if a != b {
			moved++
		}
	}
	if moved < 800 {
		t.Errorf("only %d of 1000 names moved with another deployment ID", moved)
	}
}

func TestSetIndexErrors(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := SetIndex(pinnedID, "b", "o", n); !errors.Is(err, ErrBadArgument) {
			t.Errorf("%d sets: %v", n, err)
		}
	}
	l, err := New(nodesDrives(4, 8), Config{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := SetIndex(pinnedID, "photos", "2024/cat.jpg", len(l.Sets))
	if got := l.ObjectSet(pinnedID, "photos", "2024/cat.jpg"); got != want {
		t.Errorf("ObjectSet = %d, SetIndex = %d", got, want)
	}
}
