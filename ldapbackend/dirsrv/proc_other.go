//go:build !linux

package dirsrv

import "syscall"

// sysProcAttr leaves ns-slapd in the caller's process group outside Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }
