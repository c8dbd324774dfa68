package dirsrv

import "syscall"

// sysProcAttr puts ns-slapd in a process group of its own (a terminal's Ctrl-C reaches only
// the Go program, which then calls Stop) and makes the kernel send it SIGTERM if the program
// dies without calling Stop, so that no instance outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
