//go:build !linux

package slapd

import "syscall"

// sysProcAttr leaves slapd in the caller's process group outside Linux: without a
// parent-death signal, a terminal's Ctrl-C is what ends slapd if the program dies first.
func sysProcAttr() *syscall.SysProcAttr { return nil }
