//go:build !race && unix

package iobuf

import "syscall"

// mapBuffer maps size bytes of private anonymous memory: page aligned,
// zero until written, resident only where touched.
func mapBuffer(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

func unmapBuffer(mem []byte) {
	// Munmap fails only for a range that is not a mapping, which mapBuffer
	// made and nobody else unmaps.
	_ = syscall.Munmap(mem[:cap(mem)])
}
