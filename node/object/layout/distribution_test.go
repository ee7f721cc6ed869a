package layout

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDistributionIsRotation(t *testing.T) {
	starts := map[int]int{}
	for i := range 1600 {
		d, err := Distribution("b", fmt.Sprint("o", i), 16)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateDistribution(d, 16); err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		for p := range d {
			if d[p] != 1+(d[0]-1+p)%16 {
				t.Fatalf("not a rotation: %v", d)
			}
		}
		starts[d[0]]++
	}
	// Every rotation is used, roughly equally (100 each expected).
	for s := 1; s <= 16; s++ {
		if starts[s] < 60 || starts[s] > 140 {
			t.Errorf("rotation starting at %d used %d times of 1600", s, starts[s])
		}
	}
	if _, err := Distribution("b", "o", 0); !errors.Is(err, ErrBadArgument) {
		t.Errorf("size 0: %v", err)
	}
}

func TestValidateDistribution(t *testing.T) {
	tests := []struct {
		d  []int
		n  int
		ok bool
	}{
		{[]int{1, 2, 3, 4}, 4, true},
		{[]int{3, 4, 1, 2}, 4, true},
		{[]int{2, 1, 4, 3}, 4, true}, // any permutation, not only rotations
		{nil, 0, true},
		{[]int{1, 2, 3}, 4, false},
		{[]int{1, 2, 3, 4, 5}, 4, false},
		{[]int{0, 1, 2, 3}, 4, false},
		{[]int{1, 2, 3, 5}, 4, false},
		{[]int{1, 1, 2, 3}, 4, false},
		{[]int{-1, 2, 3, 4}, 4, false},
		{nil, 4, false},
	}
	for _, tc := range tests {
		err := ValidateDistribution(tc.d, tc.n)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadDistribution)) {
			t.Errorf("%v for %d: %v", tc.d, tc.n, err)
		}
	}
}

func TestShuffleExample(t *testing.T) {
	drives := []string{"d0", "d1", "d2", "d3"}
	dist := []int{3, 4, 1, 2} // d0 holds shard 3, d1 shard 4, d2 shard 1, d3 shard 2
	byShard, err := ShuffleDrives(drives, dist)
	if err != nil || fmt.Sprint(byShard) != "[d2 d3 d0 d1]" {
		t.Fatalf("ShuffleDrives = %v, %v", byShard, err)
	}
	byDrive, err := UnshuffleShards([]string{"s1", "s2", "s3", "s4"}, dist)
	if err != nil || fmt.Sprint(byDrive) != "[s3 s4 s1 s2]" {
		t.Fatalf("UnshuffleShards = %v, %v", byDrive, err)
	}
}

func TestShuffleRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2)) // fixed seed: deterministic
	for n := 1; n <= MaxSetSize; n++ {
		drives := make([]int, n)
		for i := range drives {
			drives[i] = 100 + i
		}
		for range 50 {
			dist := r.Perm(n)
			for i := range dist {
				dist[i]++
			}
			byShard, err := ShuffleDrives(drives, dist)
			if err != nil {
				t.Fatal(err)
			}
			for p, shard := range dist {
				if byShard[shard-1] != drives[p] {
					t.Fatalf("dist %v: shard %d on %d, want %d", dist, shard, byShard[shard-1], drives[p])
				}
			}
			back, err := UnshuffleShards(byShard, dist)
			if err != nil || !slices.Equal(back, drives) {
				t.Fatalf("dist %v: round trip %v, %v", dist, back, err)
			}
		}
	}
}

func TestShuffleBadDistribution(t *testing.T) {
	for _, dist := range [][]int{nil, {1, 2}, {1, 2, 2}, {0, 1, 2}, {1, 2, 4}} {
		if _, err := ShuffleDrives([]int{1, 2, 3}, dist); !errors.Is(err, ErrBadDistribution) {
			t.Errorf("ShuffleDrives %v: %v", dist, err)
		}
		if _, err := UnshuffleShards([]int{1, 2, 3}, dist); !errors.Is(err, ErrBadDistribution) {
			t.Errorf("UnshuffleShards %v: %v", dist, err)
		}
	}
}
