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

// IdleTime is how long a returned buffer waits for reuse before its memory
// is given back to the system. Under steady load the most recently
// returned buffers are taken first, so only those a burst needed and the
// load since has not are let go.
const IdleTime = 5 * time.Second

// idleTime is IdleTime but in the stress test of the release; read under
// pool.mu.
var idleTime = IdleTime

const minShift = 16 // log2(MinSize)

// slot is one buffer this package owns. A buffer whose memory was given
// back stays mapped (released): reused, it is faulted in again; a stray
// access after its Put, a bug, reads zeros rather than crash the process.
type slot struct {
	mem       []byte // the whole buffer, cap = its class size
	mapped    bool   // by mapBuffer; false for the heap fallback of a failed mapping
	inUse     bool
	released  bool // idle, its memory given back
	idleSince time.Time
}

// pool is the process's one set of buffers: they are shared by every drive,
// set and request, as the heap they replace was.
var pool struct {
	mu    sync.Mutex
	slots map[uintptr]*slot
	// free holds each class's idle buffers, released ones first, then in
	// the order of return: Get takes the last, the most recently used.
	free  [48 - minShift][]*slot
	trim  *time.Timer // armed while some idle buffer is resident
	stats Stats
}

// Stats describes the buffers at one moment and since start.
type Stats struct {
	InUse     int64 // bytes of the buffers handed out and not yet returned
	InUseBufs int64 // how many those are
	Idle      int64 // bytes of returned buffers kept resident for reuse
	Released  int64 // bytes of idle buffers whose memory was given back
	Gets      int64 // buffers handed out since start
	Maps      int64 // of those, new ones the pool had no idle buffer for
	Releases  int64 // times an idle buffer's memory was given back
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
		if s.released {
			s.released = false
			pool.stats.Released -= int64(cap(s.mem))
		} else {
			pool.stats.Idle -= int64(cap(s.mem))
		}
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
		pool.trim = time.AfterFunc(idleTime, trimIdle)
	}
}

// trimIdle gives back the memory of the buffers idle for IdleTime, and
// runs again while an idle buffer is resident.
func trimIdle() {
	now := time.Now()
	var release []*slot
	pool.mu.Lock()
	for class, list := range pool.free {
		// Released buffers lead, then the others in the order of return:
		// those idle longest come first.
		keep := list[:0]
		for i, s := range list {
			if s.released {
				keep = append(keep, s)
				continue
			}
			if now.Sub(s.idleSince) < idleTime {
				keep = append(keep, list[i:]...)
				break
			}
			// Out of the list while its memory goes, so that no Get takes
			// it meanwhile.
			release = append(release, s)
			pool.stats.Idle -= int64(cap(s.mem))
		}
		clear(list[len(keep):])
		pool.free[class] = keep
	}
	pool.mu.Unlock()

	given := make([]bool, len(release))
	for i, s := range release {
		given[i] = s.mapped && releaseBuffer(s.mem)
	}

	pool.mu.Lock()
	defer pool.mu.Unlock()
	for i, s := range release {
		if !given[i] {
			// Heap memory, or memory the system would not take back:
			// forgotten, for the collector.
			delete(pool.slots, addr(s.mem))
			continue
		}
		s.released = true
		pool.stats.Released += int64(cap(s.mem))
		pool.stats.Releases++
		class := classOf(cap(s.mem))
		pool.free[class] = append([]*slot{s}, pool.free[class]...)
	}
	next := time.Duration(-1)
	for _, list := range pool.free {
		for _, s := range list {
			if !s.released {
				if wait := idleTime - now.Sub(s.idleSince); next < 0 || wait < next {
					next = wait
				}
				break
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
