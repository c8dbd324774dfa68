package childproc

import "syscall"

// sysProcAttr puts the child in a process group of its own, so that a terminal's Ctrl-C
// reaches only the Go program (which then stops the child) and not the child directly, and
// makes the kernel send the child SIGTERM if the program dies without stopping it (a killed
// test binary or `make run`), so that no instance outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
