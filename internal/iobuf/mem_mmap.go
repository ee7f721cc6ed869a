//go:build !race && unix

package iobuf

import "golang.org/x/sys/unix"

// mapBuffer maps size bytes of private anonymous memory: page aligned,
// zero until written, resident only where touched.
func mapBuffer(size int) ([]byte, error) {
	return unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}

// releaseBuffer gives a mapped buffer's memory back to the system and keeps
// the mapping: the pages read as zeros until written again.
func releaseBuffer(mem []byte) bool {
	return unix.Madvise(mem[:cap(mem)], unix.MADV_DONTNEED) == nil
}
