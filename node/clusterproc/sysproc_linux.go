package clusterproc

import "syscall"

// sysProcAttr puts a node in its own process group (a Ctrl-C at the
// terminal reaches the test, which then kills its nodes) and has the kernel
// kill it if the test process dies without cleaning up (a test timeout's
// panic, a SIGKILL), so no server outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
