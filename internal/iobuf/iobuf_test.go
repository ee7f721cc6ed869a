package iobuf

import (
	"sync"
	"testing"
	"time"
	"unsafe"
)

func aligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))%Alignment == 0
}

func TestGetSizesAndAlignment(t *testing.T) {
	for _, size := range []int{1, 4096, MinSize - 1, MinSize, MinSize + 1, 1 << 20, 1<<20 + 32, 3 << 20} {
		b := Get(size)
		if len(b) != size {
			t.Fatalf("Get(%d): len %d", size, len(b))
		}
		if !aligned(b) {
			t.Fatalf("Get(%d): start not aligned to %d", size, Alignment)
		}
		if size >= MinSize && cap(b)&(cap(b)-1) != 0 {
			t.Fatalf("Get(%d): cap %d is not a power of two", size, cap(b))
		}
		// Every byte is writable, up to the class size.
		b = b[:cap(b)]
		for i := range b {
			b[i] = byte(i)
		}
		Put(b)
	}
	if s := ReadStats(); s.BadPuts != 0 || s.InUse != 0 {
		t.Fatalf("after returning everything: %+v", s)
	}
}

func TestReuseTakesTheLastReturned(t *testing.T) {
	a, b := Get(1<<20), Get(1<<20)
	before := ReadStats()
	Put(a)
	Put(b)
	c := Get(1 << 20)
	if addr(c) != addr(b) {
		t.Fatal("Get did not reuse the buffer returned last")
	}
	d := Get(1<<20 - 100) // same class
	if addr(d) != addr(a) {
		t.Fatal("Get did not reuse the other idle buffer of the class")
	}
	after := ReadStats()
	if after.Maps != before.Maps {
		t.Fatalf("mapped %d new buffers with two idle", after.Maps-before.Maps)
	}
	if after.InUse-before.InUse != 0 || after.InUseBufs != before.InUseBufs {
		t.Fatalf("in use before %+v, after %+v", before, after)
	}
	Put(c)
	Put(d)
}

func TestBadPutsAreRefused(t *testing.T) {
	before := ReadStats().BadPuts
	b := Get(MinSize)
	Put(b)
	Put(b) // twice
	Put(make([]byte, MinSize))
	if got := ReadStats().BadPuts - before; got != 2 {
		t.Fatalf("BadPuts grew by %d, want 2", got)
	}
	// The buffer put twice is handed out once, not twice.
	x, y := Get(MinSize), Get(MinSize)
	if addr(x) == addr(y) {
		t.Fatal("one buffer handed to two holders")
	}
	Put(x)
	Put(y)
	Put(make([]byte, 100)) // under MinSize: the heap's, ignored
	if got := ReadStats().BadPuts - before; got != 2 {
		t.Fatalf("a small heap slice counted as a bad Put")
	}
}

// TestIdleBuffersAreReleased runs on the real IdleTime.
func TestIdleBuffersAreReleased(t *testing.T) {
	bufs := make([][]byte, 4)
	for i := range bufs {
		bufs[i] = Get(2 << 20)
		bufs[i][0], bufs[i][len(bufs[i])-1] = 1, 1
	}
	start := ReadStats()
	for _, b := range bufs {
		Put(b)
	}
	if s := ReadStats(); s.Idle < 8<<20 {
		t.Fatalf("idle %d bytes after returning 8 MiB", s.Idle)
	}
	waitIdle(t, 0)
	// Mapped buffers are kept, their memory given back; heap ones (under
	// the race detector) are forgotten.
	if s := ReadStats(); s.Releases-start.Releases < 4 && !raceEnabled {
		t.Fatalf("released %d buffers, want 4 at least", s.Releases-start.Releases)
	}
	// The memory a Get hands out now is fresh: what was written is gone.
	for i := range bufs {
		bufs[i] = Get(2 << 20)
		if bufs[i][0] != 0 || bufs[i][len(bufs[i])-1] != 0 {
			t.Fatal("a released buffer still holds its old bytes")
		}
	}
	// Returned again behind buffers released before: released in turn.
	Put(bufs[0])
	Put(bufs[1])
	waitIdle(t, 0)
	for _, b := range bufs[2:] {
		Put(b)
	}
	waitIdle(t, 0)
}

func waitIdle(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(IdleTime + 3*time.Second)
	for ReadStats().Idle != want {
		if time.Now().After(deadline) {
			t.Fatalf("idle bytes not %d after %v: %+v", want, IdleTime+3*time.Second, ReadStats())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestConcurrentGetPut(t *testing.T) {
	bad := ReadStats().BadPuts
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				b := Get(MinSize << (i % 4))
				b[0], b[len(b)-1] = byte(g), byte(g)
				if b[0] != byte(g) || b[len(b)-1] != byte(g) {
					t.Error("buffer shared with another goroutine")
				}
				Put(b)
			}
		}()
	}
	wg.Wait()
	if s := ReadStats(); s.InUse != 0 || s.BadPuts != bad {
		t.Fatalf("after the load: %+v", s)
	}
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Put(Get(1 << 20))
	}
}

// TestReleaseNeverTouchesABufferInUse releases idle buffers every few
// milliseconds while goroutines take, fill, check and return them: a
// release that reached a buffer handed out again would zero its bytes.
func TestReleaseNeverTouchesABufferInUse(t *testing.T) {
	setIdleTime(time.Millisecond)
	defer setIdleTime(IdleTime)
	stop := time.Now().Add(500 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				b := Get(MinSize << (i % 3))
				for j := 0; j < len(b); j += 4096 {
					b[j] = byte(g + 1)
				}
				time.Sleep(time.Duration(i%3) * time.Millisecond)
				for j := 0; j < len(b); j += 4096 {
					if b[j] != byte(g+1) {
						t.Errorf("byte %d of a buffer in use changed to %d", j, b[j])
						Put(b)
						return
					}
				}
				Put(b)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(stop) {
			trimIdle()
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	if s := ReadStats(); s.InUse != 0 {
		t.Fatalf("after the load: %+v", s)
	}
	if !raceEnabled && ReadStats().Releases == 0 {
		t.Fatal("no buffer was released: the test did not test anything")
	}
}

// setIdleTime changes idleTime, which the pool reads under its lock.
func setIdleTime(d time.Duration) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	idleTime = d
}
