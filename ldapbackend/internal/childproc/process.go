// Package childproc runs the directory servers of the test harnesses (OpenLDAP's slapd,
// 389 Directory Server's ns-slapd) as child processes, and holds what packages slapd and
// dirsrv share around them.
package childproc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Process is one run of a child program.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returned
	err  error         // cmd.Wait's result, valid once done is closed
	tail *Tail
}

// Start starts program with args in dir. Its standard output and error are kept in a Tail
// (see Output) and also go to out unless out is nil.
func Start(program string, args []string, dir string, out io.Writer) (*Process, error) {
	t := &Tail{}
	var w io.Writer = t
	if out != nil {
		w = io.MultiWriter(t, out)
	}
	cmd := exec.Command(program, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", program, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{}), tail: t}
	go func() {
		// The machine's init reaps orphans late: always Wait, and judge liveness by done.
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited and been waited for.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns the result of waiting for the process; it is valid once Done is closed.
func (p *Process) Err() error { return p.err }

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Output returns the last TailSize bytes the process has written.
func (p *Process) Output() string { return p.tail.String() }

// Terminate ends the process (SIGTERM, then SIGKILL after timeout) and waits for it. It
// reports an exit that happened before it was asked. name is the program's name in
// messages.
func (p *Process) Terminate(name string, timeout time.Duration) error {
	select {
	case <-p.done:
		return fmt.Errorf("%s had exited (%v):\n%s", name, p.err, strings.TrimSpace(p.tail.String()))
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Process.Signal(syscall.SIGCONT) // in case it is frozen
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	p.cmd.Process.Kill()
	<-p.done
	fmt.Fprintf(p.tail, "%s did not exit within %v of SIGTERM and was killed\n", name, timeout)
	return nil
}

// Finish ends a server's run for good: it terminates p (nil when not
// running) and removes dir if the server made it (own). It reports an
// early exit of p, or a directory that could not be removed.
func Finish(p *Process, name string, timeout time.Duration, dir string, own bool) error {
	var err error
	if p != nil {
		err = p.Terminate(name, timeout)
	}
	if own {
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}
