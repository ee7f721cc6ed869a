package iobuf

import (
	"fmt"
	"math/bits"
	"os"
	"sync"
	"time"
	"unsafe"
)

// MinSize is the smallest buffer kept outside the heap: smaller requests
// are plain heap slices, which Put ignores. Buffers are rounded up to a
// power of two from here; the rounding costs address space only, since a
// page nobody touches is never made resident.
const MinSize = 64 << 10

// Alignment is what every buffer's start is aligned to: enough for
// O_DIRECT on any file system here.
const Alignment = 4096

// IdleTime is how long a returned buffer waits for reuse before it is
// unmapped. Under steady load the most recently returned buffers are taken
// first, so only those a burst needed and the load since has not are let go.
const IdleTime = 5 * time.Second

const minShift = 16 // log2(MinSize)

// slot is one buffer this package owns.
type slot struct {
	mem       []byte // the whole buffer, cap = its class size
	mapped    bool   // by mapBuffer, not from the heap
	inUse     bool
	idleSince time.Time
}

// pool is the process's one set of buffers: they are shared by every drive,
// set and request, as the heap they replace was.
var pool struct {
	mu    sync.Mutex
	slots map[uintptr]*slot
	free  [48 - minShift][]*slot // per class, most recently returned last
	trim  *time.Timer            // armed while some buffer is idle
	stats Stats
}

// Stats describes the buffers at one moment and since start.
type Stats struct {
	InUse     int64 // bytes of the buffers handed out and not yet returned
	InUseBufs int64 // how many those are
	Idle      int64 // bytes of returned buffers kept for reuse
	Gets      int64 // buffers handed out since start
	Maps      int64 // of those, new ones the pool had no idle buffer for
	Unmapped  int64 // buffers let go after IdleTime
	// BadPuts counts Puts of a buffer that was not out: returned twice, or
	// never from Get. It is a bug where it is not 0.
	BadPuts int64
}

// ReadStats returns the pool's figures now.
func ReadStats() Stats {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	return pool.stats
}

func classOf(size int) int {
	return bits.Len(uint(size-1)) - minShift
}

// Get returns a buffer of len size, its start aligned to Alignment, with
// old contents (not zeroed). Buffers of MinSize or more must go back with
// Put once nothing reads or writes them any more.
func Get(size int) []byte {
	if size < MinSize {
		return heapAligned(size)
	}
	class := classOf(size)
	pool.mu.Lock()
	pool.stats.Gets++
	if n := len(pool.free[class]); n > 0 {
		s := pool.free[class][n-1]
		pool.free[class][n-1] = nil
		pool.free[class] = pool.free[class][:n-1]
		s.inUse = true
		pool.stats.Idle -= int64(cap(s.mem))
		pool.stats.InUse += int64(cap(s.mem))
		pool.stats.InUseBufs++
		pool.mu.Unlock()
		return s.mem[:size]
	}
	pool.stats.Maps++
	classSize := 1 << (class + minShift)
	pool.stats.InUse += int64(classSize)
	pool.stats.InUseBufs++
	pool.mu.Unlock()

	// Mapping takes a system call; it is made outside the lock.
	mem, err := mapBuffer(classSize)
	mapped := err == nil
	if !mapped {
		// Out of address space or mappings: the heap may still have room,
		// and a request that gets its buffer is better than one refused.
		mem = heapAligned(classSize)
	}
	s := &slot{mem: mem, mapped: mapped, inUse: true}
	pool.mu.Lock()
	if pool.slots == nil {
		pool.slots = make(map[uintptr]*slot)
	}
	pool.slots[addr(mem)] = s
	pool.mu.Unlock()
	return mem[:size]
}

// Put returns a buffer obtained from Get, resliced or not but starting
// where Get's did. Buffers under MinSize are left to the garbage collector.
// A buffer that is not out (put twice, or not from Get) is refused and
// counted in Stats.BadPuts.
func Put(b []byte) {
	if cap(b) < MinSize {
		return
	}
	key := addr(b)
	pool.mu.Lock()
	defer pool.mu.Unlock()
	s, ok := pool.slots[key]
	if !ok || !s.inUse {
		pool.stats.BadPuts++
		return
	}
	s.inUse = false
	s.idleSince = time.Now()
	class := classOf(cap(s.mem))
	pool.free[class] = append(pool.free[class], s)
	size := int64(cap(s.mem))
	pool.stats.InUse -= size
	pool.stats.InUseBufs--
	pool.stats.Idle += size
	if pool.trim == nil {
		pool.trim = time.AfterFunc(IdleTime, trimIdle)
	}
}

// trimIdle unmaps the buffers idle for IdleTime, and runs again while any
// buffer is idle.
func trimIdle() {
	now := time.Now()
	var release []*slot
	pool.mu.Lock()
	next := time.Duration(-1)
	for class, list := range pool.free {
		// The list is in the order of return, so those idle longest lead.
		cut := 0
		for cut < len(list) && now.Sub(list[cut].idleSince) >= IdleTime {
			s := list[cut]
			delete(pool.slots, addr(s.mem))
			release = append(release, s)
			pool.stats.Idle -= int64(cap(s.mem))
			pool.stats.Unmapped++
			cut++
		}
		if cut > 0 {
			rest := copy(list, list[cut:])
			clear(list[rest:])
			pool.free[class] = list[:rest]
		}
		if len(pool.free[class]) > 0 {
			wait := IdleTime - now.Sub(pool.free[class][0].idleSince)
			if next < 0 || wait < next {
				next = wait
			}
		}
	}
	if next >= 0 {
		// Not sooner than every 100 ms: a buffer returned a moment after
		// the oldest would otherwise set a timer for each.
		pool.trim.Reset(max(next, 100*time.Millisecond))
	} else {
		pool.trim = nil
	}
	pool.mu.Unlock()
	for _, s := range release {
		if s.mapped {
			unmapBuffer(s.mem)
		}
	}
}

func addr(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))
}

// heapAligned allocates size bytes on the heap, starting on an Alignment
// boundary: Go gives no alignment guarantee for byte slices, so it
// over-allocates and slices from the first boundary.
func heapAligned(size int) []byte {
	raw := make([]byte, size+Alignment)
	skip := 0
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & (Alignment - 1)); rem != 0 {
		skip = Alignment - rem
	}
	return raw[skip : skip+size : skip+size]
}

// VerifyReturned waits up to wait for every buffer handed out to be back,
// and reports those still out and any bad Put: the leak check of a test
// binary, once its tests are over (a test's hung drive may still be
// releasing a few).
func VerifyReturned(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		s := ReadStats()
		if s.BadPuts != 0 {
			return fmt.Errorf("iobuf: %d Puts of a buffer that was not out (put twice, or not from Get)", s.BadPuts)
		}
		if s.InUse == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("iobuf: %d buffers (%d bytes) never returned", s.InUseBufs, s.InUse)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CheckedExit is a TestMain's exit: with goleak,
// goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit)). A passing
// run that leaked a buffer fails.
func CheckedExit(code int) {
	if err := VerifyReturned(10 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
