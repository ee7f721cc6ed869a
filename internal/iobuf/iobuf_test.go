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

// TestIdleBuffersAreUnmapped runs on the real IdleTime.
func TestIdleBuffersAreUnmapped(t *testing.T) {
	bufs := make([][]byte, 4)
	for i := range bufs {
		bufs[i] = Get(2 << 20)
		bufs[i][0] = 1
	}
	start := ReadStats()
	for _, b := range bufs {
		Put(b)
	}
	if s := ReadStats(); s.Idle < 8<<20 {
		t.Fatalf("idle %d bytes after returning 8 MiB", s.Idle)
	}
	deadline := time.Now().Add(IdleTime + 3*time.Second)
	for ReadStats().Idle != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still idle after %v: %+v", IdleTime+3*time.Second, ReadStats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := ReadStats(); s.Unmapped-start.Unmapped < 4 {
		t.Fatalf("unmapped %d buffers, want 4", s.Unmapped-start.Unmapped)
	}
	// A Get now maps afresh, and the memory is usable.
	maps := ReadStats().Maps
	b := Get(2 << 20)
	b[len(b)-1] = 1
	Put(b)
	if ReadStats().Maps != maps+1 {
		t.Fatal("Get after the trim did not map a new buffer")
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
