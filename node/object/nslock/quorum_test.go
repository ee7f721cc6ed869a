package nslock

import "testing"

// TestQuorumMath checks, for every cluster size we support, that two write
// quorums always overlap (so two writers cannot both be granted), that every
// read quorum overlaps every write quorum (so a writer and a reader cannot
// both be granted), and that the read quorum is the smallest that does.
func TestQuorumMath(t *testing.T) {
	want := map[int][2]int{1: {1, 1}, 2: {2, 1}, 3: {2, 2}, 4: {3, 2}, 5: {3, 3}, 8: {5, 4}, 16: {9, 8}}
	for n := 1; n <= 16; n++ {
		w, r := WriteQuorum(n), ReadQuorum(n)
		if w < 1 || w > n || r < 1 || r > n {
			t.Errorf("n=%d: W=%d R=%d out of [1, n]", n, w, r)
		}
		if 2*w <= n {
			t.Errorf("n=%d: two write quorums of %d need not overlap", n, w)
		}
		if w+r <= n {
			t.Errorf("n=%d: read quorum %d and write quorum %d need not overlap", n, r, w)
		}
		if w+(r-1) > n {
			t.Errorf("n=%d: read quorum %d is not minimal (%d would still overlap W=%d)", n, r, r-1, w)
		}
		// A write quorum is the smallest strict majority.
		if 2*(w-1) > n {
			t.Errorf("n=%d: write quorum %d is not minimal", n, w)
		}
		if q, ok := want[n]; ok && (q[0] != w || q[1] != r) {
			t.Errorf("n=%d: got W=%d R=%d, want W=%d R=%d", n, w, r, q[0], q[1])
		}
		t.Logf("n=%2d  W=%2d (tolerates %d down)  R=%2d (tolerates %d down)", n, w, n-w, r, n-r)
	}
}
