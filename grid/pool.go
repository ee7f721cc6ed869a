package grid

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Byte buffers on the hot path come from size-classed pools: powers of two
// from 512 B to 32 MiB. A pool stores a pointer to the first byte of the
// backing array rather than a []byte, because putting a slice header into a
// sync.Pool allocates and a bare pointer does not; the class fixes the
// capacity, so the slice is rebuilt exactly.
const (
	minPoolShift = 9  // 512 B
	maxPoolShift = 25 // 32 MiB
)

var bufferPools [maxPoolShift - minPoolShift + 1]sync.Pool

func poolClass(n int) int {
	if n <= 1<<minPoolShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minPoolShift
}

// GetBuffer returns a buffer of length 0 and capacity at least n. Return it
// with PutBuffer when done; buffers larger than 32 MiB are not pooled.
func GetBuffer(n int) []byte {
	c := poolClass(n)
	if c >= len(bufferPools) {
		return make([]byte, 0, n)
	}
	if p, ok := bufferPools[c].Get().(unsafe.Pointer); ok {
		return unsafe.Slice((*byte)(p), 1<<(c+minPoolShift))[:0]
	}
	return make([]byte, 0, 1<<(c+minPoolShift))
}

// PutBuffer returns a buffer obtained from GetBuffer (or from the grid: request
// payloads and responses) for reuse. The caller must not touch b afterwards.
// Buffers whose capacity is not a pool class are ignored.
func PutBuffer(b []byte) {
	c := cap(b)
	if c < 1<<minPoolShift || c&(c-1) != 0 {
		return
	}
	class := bits.Len(uint(c)) - 1 - minPoolShift
	if class >= len(bufferPools) {
		return
	}
	bufferPools[class].Put(unsafe.Pointer(unsafe.SliceData(b[:1])))
}
