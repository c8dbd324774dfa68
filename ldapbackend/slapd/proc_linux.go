package slapd

import "syscall"

// sysProcAttr puts slapd in a process group of its own, so that a terminal's Ctrl-C reaches
// only the Go program (which then calls Stop) and not slapd directly, and makes the kernel
// send slapd SIGTERM if the program dies without calling Stop (a killed test binary or
// `make run`), so that no instance outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
