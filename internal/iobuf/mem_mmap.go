//go:build !race && unix

package iobuf

import "syscall"

// mapBuffer maps size bytes of private anonymous memory: page aligned,
// zero until written, resident only where touched.
func mapBuffer(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

// releaseBuffer gives a mapped buffer's memory back to the system and keeps
// the mapping: the pages read as zeros until written again.
func releaseBuffer(mem []byte) bool {
	return syscall.Madvise(mem[:cap(mem)], syscall.MADV_DONTNEED) == nil
}
