package object

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage/faultdrive"
)

// lateDriveSet builds a set with one data drive of "k" made late: every
// ReadFileStream on it sleeps delay first, ignoring its context.
func lateDriveSet(t *testing.T, delay time.Duration, tweak func(*Config)) (*testSet, *faultdrive.Drive, int, []byte) {
	t.Helper()
	ts := newTestSet(t, 4, tweak)
	want := randomBytes(11, 4*testBlockSize+77)
	ts.put(t, "k", want)
	data, _ := ts.shardHolders(t, "k")
	pos := data[0]
	slow := faultdrive.New(ts.Set.drives[pos])
	ts.Set.drives[pos] = slow
	slow.Set(faultdrive.Delay(delay), faultdrive.OpReadFileStream)
	t.Cleanup(func() {
		// The delayed opens outlive their GETs (they ignore the
		// cancellation): let them end before goleak looks.
		slow.Clear()
		for slow.OpenStreams() > 0 || slow.Blocked() > 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(2 * delay)
	})
	return ts, slow, pos, want
}

func getWhole(t *testing.T, ts *testSet, want []byte) {
	t.Helper()
	got, _, err := ts.get("k", GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the object came back different")
	}
}

// getsUntilAvoided GETs until the set avoids the drive at pos, at most
// limit times, and returns how many it took.
func getsUntilAvoided(t *testing.T, ts *testSet, pos int, want []byte, limit int) int {
	t.Helper()
	for i := 1; i <= limit; i++ {
		getWhole(t, ts, want)
		if ts.Set.lateness.avoided(pos) {
			return i
		}
	}
	t.Fatalf("drive %d still not avoided after %d GETs late on it", pos, limit)
	return 0
}

// TestGetAvoidsADriveThatKeepsBeingLate (issue 12, point 2): a data drive
// whose shard opens are late (300 ms, far above the 30 ms late threshold)
// is outrun by parity in the first GETs; from then on GETs read parity in
// its place from the first block and do not ask it at all (its
// ReadFileStream count stands still), so they no longer pay the late
// threshold. Once the drive is on time again and its score has decayed,
// GETs read it again and its score drains.
func TestGetAvoidsADriveThatKeepsBeingLate(t *testing.T) {
	ts, slow, pos, want := lateDriveSet(t, 300*time.Millisecond, func(c *Config) {
		c.LateShard = 30 * time.Millisecond
		c.LateDriveHalfLife = time.Minute // nothing decays while the test looks
	})
	took := getsUntilAvoided(t, ts, pos, want, 4)
	t.Logf("avoided after %d GETs", took)
	if slow.Calls(faultdrive.OpReadFileStream) == 0 {
		t.Fatal("the late drive was never read: the test proves nothing")
	}

	before := slow.Calls(faultdrive.OpReadFileStream)
	for range 5 {
		getWhole(t, ts, want)
	}
	if after := slow.Calls(faultdrive.OpReadFileStream); after != before {
		t.Fatalf("GETs opened the avoided drive's shard %d times; parity was there", after-before)
	}
	if !ts.Set.lateness.avoided(pos) {
		t.Fatal("the drive stopped being avoided although nothing decayed")
	}

	// Recovery: the drive is on time again and the score decays fast.
	slow.Clear()
	ts.Set.lateness.mu.Lock()
	ts.Set.lateness.halfLife = 20 * time.Millisecond
	ts.Set.lateness.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second) // generous: detects a drive avoided for good
	for slow.Calls(faultdrive.OpReadFileStream) == before {
		if time.Now().After(deadline) {
			t.Fatal("a recovered drive was never read again")
		}
		time.Sleep(10 * time.Millisecond)
		getWhole(t, ts, want)
	}
	if ts.Set.lateness.avoided(pos) {
		t.Fatal("a drive read on time is still avoided")
	}
}

// The same with the default configuration: a learned late threshold (at
// most 500 ms, so a drive 700 ms late is late whatever was learned) and
// the default half-life (4 s: an avoided drive stays avoided for over 2 s,
// which the GETs below take a small part of).
func TestGetAvoidsALateDriveWithDefaults(t *testing.T) {
	ts, slow, pos, want := lateDriveSet(t, 700*time.Millisecond, func(c *Config) {
		c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout = DefaultDriveTimeout, DefaultShardTimeout, DefaultProbeTimeout
		c.StragglerWait, c.LockTimeout = DefaultStragglerWait, DefaultLockTimeout
	})
	getsUntilAvoided(t, ts, pos, want, 4)
	before := slow.Calls(faultdrive.OpReadFileStream)
	for range 3 {
		getWhole(t, ts, want)
	}
	if after := slow.Calls(faultdrive.OpReadFileStream); after != before {
		t.Fatalf("GETs opened the avoided drive's shard %d times; parity was there", after-before)
	}
}

// Scores decay: a drive late twice in a row is avoided, and no longer
// once about two half-lives have passed; on-time reads drain it.
func TestDriveLatenessScore(t *testing.T) {
	l := newDriveLateness(3, time.Hour)
	l.late(1)
	if l.avoided(1) {
		t.Fatal("one late read made the drive avoided")
	}
	l.late(1)
	if !l.avoided(1) || l.avoided(0) {
		t.Fatal("two late reads in a row did not make (only) that drive avoided")
	}
	for range 10 {
		l.late(1)
	}
	if s := l.score[1]; s > maxLateScore {
		t.Fatalf("score %v above the cap %v", s, maxLateScore)
	}
	l.onTime(1)
	l.onTime(1)
	if l.avoided(1) {
		t.Fatal("on-time reads did not drain the score")
	}

	l.late(2)
	l.late(2)
	l.mu.Lock()
	l.at[2] = l.at[2].Add(-3 * time.Hour) // three half-lives ago
	l.mu.Unlock()
	if l.avoided(2) {
		t.Fatal("the score did not decay")
	}

	off := newDriveLateness(1, -1)
	off.late(0)
	off.late(0)
	if off.avoided(0) {
		t.Fatal("a negative half-life still avoided a drive")
	}
}

// BenchmarkGetOneLateDrive: GETs of a 4+2 object (1 MiB blocks, local
// drives) with one data drive whose shard opens take 200 ms, ignoring
// their context, and a fixed 50 ms late threshold. "remembered" is the
// default (driveLateness, 4 s half-life); "forgotten" turns it off
// (LateDriveHalfLife < 0), as before: every GET asks the late drive first
// and waits the threshold on its first block.
func BenchmarkGetOneLateDrive(b *testing.B) {
	for _, mode := range []struct {
		name     string
		halfLife time.Duration
	}{{"forgotten", -1}, {"remembered", 0}} {
		for _, size := range []int{1 << 20, 16 << 20} {
			b.Run(fmt.Sprintf("%s/%dMiB", mode.name, size>>20), func(b *testing.B) {
				ts := newBenchSet(b, 6, 2, func(c *Config) {
					c.LateShard = 50 * time.Millisecond
					c.LateDriveHalfLife = mode.halfLife
				})
				ts.put(b, "obj", randomBytes(1, size))
				data, _ := ts.shardHolders(b, "obj")
				slow := faultdrive.New(ts.Set.drives[data[0]])
				ts.Set.drives[data[0]] = slow
				slow.Set(faultdrive.Delay(200*time.Millisecond), faultdrive.OpReadFileStream)
				defer func() {
					slow.Clear()
					for slow.OpenStreams() > 0 {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(400 * time.Millisecond) // delayed opens still asleep
				}()
				benchGet(b, ts, size)
				b.ReportMetric(float64(slow.Calls(faultdrive.OpReadFileStream))/float64(b.N), "lateopens/op")
			})
		}
	}
}
