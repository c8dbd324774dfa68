//go:build !linux

package childproc

import "syscall"

// sysProcAttr leaves the child in the caller's process group outside Linux: without a
// parent-death signal, a terminal's Ctrl-C is what ends it if the program dies first.
func sysProcAttr() *syscall.SysProcAttr { return nil }
