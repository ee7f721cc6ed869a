package doublebuf

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// firstPageCached reports whether the first page of the file at path is in
// the page cache: not after a direct write, unless something read it.
func firstPageCached(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, os.Getpagesize(), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false, err
	}
	defer unix.Munmap(m)
	var vec [1]byte
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return false, errno
	}
	return vec[0]&1 == 1, nil
}
