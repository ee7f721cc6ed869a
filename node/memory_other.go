//go:build !linux

package node

// physicalMemory returns 0 (unknown) where the machine's memory is not
// read.
func physicalMemory() int64 { return 0 }
