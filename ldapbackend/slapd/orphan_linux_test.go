package slapd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoOrphanWhenParentDies kills a process that started slapd without stopping it and
// expects slapd to end too (Linux's parent-death signal).
func TestNoOrphanWhenParentDies(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid, dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "SLAPD" {
			pid, dir = f[1], f[2]
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	defer os.RemoveAll(dir) // the helper could not clean up
	n, err := strconv.Atoi(pid)
	if err != nil {
		t.Fatalf("helper did not report slapd's pid (%q)", pid)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !alive(n) {
			return
		}
	}
	syscall.Kill(n, syscall.SIGKILL)
	t.Fatalf("slapd %d outlived the process that started it", n)
}

// alive reports whether pid exists and is not a zombie (an orphan is reaped by init, maybe late).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}
