//go:build !linux

package clusterproc

import "syscall"

// sysProcAttr: see sysproc_linux.go; other systems have no parent-death
// signal, so a test that dies without cleaning up leaves its nodes running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
