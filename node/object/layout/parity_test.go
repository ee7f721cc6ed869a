package layout

import (
	"errors"
	"testing"
)

func TestDefaultParity(t *testing.T) {
	want := map[int]int{3: 0, 4: 2, 5: 2, 6: 3, 7: 3, 8: 4, 12: 4, 16: 4, 17: 0, 0: 0, -4: 0}
	for size, p := range want {
		if got := DefaultParity(size); got != p {
			t.Errorf("DefaultParity(%d) = %d, want %d", size, got, p)
		}
	}
	for size := MinSetSize; size <= MaxSetSize; size++ {
		if err := ValidateParity(size, DefaultParity(size)); err != nil {
			t.Errorf("default parity of %d invalid: %v", size, err)
		}
	}
}

func TestValidateParity(t *testing.T) {
	tests := []struct {
		size, parity int
		want         error
	}{
		{4, 1, nil}, {4, 2, nil}, {4, 3, ErrBadParity}, {4, 0, ErrBadParity}, {4, -1, ErrBadParity},
		{5, 2, nil}, {5, 3, ErrBadParity}, {16, 8, nil}, {16, 9, ErrBadParity},
		{3, 1, ErrBadSetSize}, {17, 4, ErrBadSetSize}, {0, 0, ErrBadSetSize},
	}
	for _, tc := range tests {
		if err := ValidateParity(tc.size, tc.parity); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ValidateParity(%d, %d) = %v, want %v", tc.size, tc.parity, err, tc.want)
		}
	}
}

func TestQuorum(t *testing.T) {
	tests := []struct{ size, parity, read, write int }{
		{4, 2, 2, 3}, {4, 1, 3, 3}, {5, 2, 3, 3}, {6, 3, 3, 4}, {8, 4, 4, 5}, {8, 2, 6, 6},
		{12, 4, 8, 8}, {16, 4, 12, 12}, {16, 8, 8, 9}, {16, 1, 15, 15},
	}
	for _, tc := range tests {
		if r, w := ReadQuorum(tc.size, tc.parity), WriteQuorum(tc.size, tc.parity); r != tc.read || w != tc.write {
			t.Errorf("%d+%d: read %d write %d, want %d %d", tc.size-tc.parity, tc.parity, r, w, tc.read, tc.write)
		}
	}
}

func TestAdjustParity(t *testing.T) {
	tests := []struct {
		size, parity, offline int
		want                  int
		ok                    bool
	}{
		{4, 2, 0, 2, true},
		{4, 2, 1, 2, true},   // capped at 4/2; 3 online >= write quorum 3
		{4, 2, 2, 2, false},  // 2 online < 3
		{4, 1, 1, 2, true},   // 1+1 = 2, quorum 3 of 3 online
		{5, 2, 2, 2, true},   // 3 online, quorum 3
		{5, 2, 3, 2, false},  // 2 online
		{6, 3, 1, 3, true},   // quorum 4 of 5
		{6, 3, 2, 3, true},   // 4 online, quorum 4
		{6, 3, 3, 3, false},  // 3 online
		{8, 2, 1, 3, true},   // 5+3: quorum 5, 7 online
		{8, 4, 3, 4, true},   // quorum 5 of 5
		{8, 4, 4, 4, false},  // 4 online
		{12, 4, 4, 6, true},  // 6+6: quorum 7, 8 online
		{16, 4, 0, 4, true},  // nothing offline: unchanged
		{16, 4, 2, 6, true},  // 10+6, 14 online
		{16, 4, 4, 8, true},  // 8+8: quorum 9, 12 online
		{16, 4, 7, 8, true},  // 9 online
		{16, 4, 8, 8, false}, // 8 online
		{16, 4, 16, 8, false},
		{16, 4, -1, 4, false}, // nonsense in, "no" out
		{16, 4, 17, 4, false},
		{16, 9, 0, 9, false},
		{3, 1, 0, 1, false},
	}
	for _, tc := range tests {
		got, ok := AdjustParity(tc.size, tc.parity, tc.offline)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AdjustParity(%d, %d, %d) = %d, %v; want %d, %v", tc.size, tc.parity, tc.offline, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseParity(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 0, true}, {"EC:2", 2, true}, {"ec:4", 4, true}, {"Ec:16", 16, true},
		{"EC:0", 0, false}, {"EC:", 0, false}, {"EC:-1", 0, false}, {"EC:+2", 0, false}, {"EC:2x", 0, false},
		{"EC:123", 0, false}, {"2", 0, false}, {"RS:2", 0, false}, {"EC 2", 0, false}, {"EC::2", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseParity(tc.in)
		if got != tc.want || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadParity)) {
			t.Errorf("ParseParity(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestStorageClasses(t *testing.T) {
	tests := []struct {
		size, standard, reduced int
		wantStd, wantRRS        int
		err                     error
	}{
		{16, 0, 0, 4, 2, nil},
		{4, 0, 0, 2, 2, nil},
		{16, 6, 0, 6, 2, nil},
		{16, 6, 3, 6, 3, nil},
		{8, 1, 0, 1, 1, nil}, // reduced never above standard
		{16, 9, 0, 0, 0, ErrBadParity},
		{16, 4, 5, 0, 0, ErrBadParity},
		{4, 2, 3, 0, 0, ErrBadParity},
		{3, 0, 0, 0, 0, ErrBadSetSize},
	}
	for _, tc := range tests {
		sc, err := NewStorageClasses(tc.size, tc.standard, tc.reduced)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("NewStorageClasses(%d, %d, %d): %v, want %v", tc.size, tc.standard, tc.reduced, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		for class, want := range map[string]int{"": tc.wantStd, Standard: tc.wantStd, ReducedRedundancy: tc.wantRRS} {
			if got, err := sc.Parity(class); err != nil || got != want {
				t.Errorf("size %d: Parity(%q) = %d, %v, want %d", tc.size, class, got, err, want)
			}
		}
	}
	sc, _ := NewStorageClasses(16, 0, 0)
	for _, class := range []string{"GLACIER", "standard", "EC:2", "STANDARD_IA"} {
		if _, err := sc.Parity(class); !errors.Is(err, ErrUnknownStorageClass) {
			t.Errorf("Parity(%q): %v", class, err)
		}
	}
}
