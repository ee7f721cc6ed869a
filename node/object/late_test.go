package object

import (
	"testing"
	"time"
)

func TestLateTrackerBounds(t *testing.T) {
	var lt lateTracker
	if got := lt.threshold(); got != maxLateShard {
		t.Fatalf("before any read: %v, want %v", got, maxLateShard)
	}
	for range 200 {
		lt.observe(time.Millisecond)
	}
	if got := lt.threshold(); got != minLateShard {
		t.Fatalf("after fast reads: %v, want the floor %v", got, minLateShard)
	}
	for range 200 {
		lt.observe(50 * time.Millisecond)
	}
	if got := lt.threshold(); got < 150*time.Millisecond || got > 200*time.Millisecond {
		t.Fatalf("after 50 ms blocks: %v, want about 4 × 50 ms", got)
	}
	for range 200 {
		lt.observe(10 * time.Second)
	}
	if got := lt.threshold(); got != maxLateShard {
		t.Fatalf("after very slow reads: %v, want the ceiling %v", got, maxLateShard)
	}
	if got := (&lateTracker{fixed: -1}).threshold(); got != 0 {
		t.Fatalf("LateShard < 0: %v, want 0 (off)", got)
	}
	if got := (&lateTracker{fixed: time.Second}).threshold(); got != time.Second {
		t.Fatalf("LateShard 1s: %v", got)
	}
}
