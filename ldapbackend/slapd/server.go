package slapd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc"
)

// Server is a running (or halted) private slapd instance. Its exported fields are fixed for
// its life, across Halt and Resume.
type Server struct {
	// URL is the ldap:// URL to dial, e.g. ldap://127.0.0.1:38911.
	URL string
	// Addr is the host:port slapd listens on.
	Addr string
	// Suffix is the database's naming context.
	Suffix string
	// AdminDN and AdminPassword bind as slapd's rootdn, which bypasses slapd's access rules.
	AdminDN, AdminPassword string
	// ServiceDN is the gateway's account named in slapd's access rules (it exists only if
	// the seeds create it, as testdata/demo/directory.ldif does).
	ServiceDN string
	// Dir is the working directory: slapd.conf, data/ (the database) and slapd.pid.
	Dir string

	opts   Options
	conf   string
	ownDir bool

	// seedKey names the seeded database in Options.SeedCache ("" without one), and
	// seedCached is its copy there ("" when there is none yet).
	seedKey, seedCached string

	mu      sync.Mutex
	proc    *childproc.Process // nil while halted or stopped
	last    *childproc.Process // the current or last run, for Output
	stopped bool
}

// Start prepares a working directory, loads the seeds with slapadd, starts slapd and returns
// once an admin bind and a search succeed. ctx bounds the start-up only (together with
// Options.StartTimeout); the server runs until Stop. On error nothing is left running and a
// temporary directory is removed.
func Start(ctx context.Context, o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("slapd: options: %w", err)
	}
	if err := checkPrograms(o.Slapd, o.Slapadd); err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	if err := checkModules(o.ModuleDir, modules(o)); err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()

	var key, cached string
	if o.SeedCache != "" && len(o.SeedLDIF) > 0 {
		if key, err = seedCacheKey(o); err != nil {
			return nil, fmt.Errorf("slapd: %w", err)
		}
		cached = seedCached(o, key)
	}
	var seeds []seedFile
	if cached == "" {
		if seeds, err = loadSeeds(o.SeedLDIF); err != nil {
			return nil, fmt.Errorf("slapd: %w", err)
		}
	}
	s := &Server{
		Suffix:        o.Suffix,
		AdminDN:       o.AdminDN,
		AdminPassword: o.AdminPassword,
		ServiceDN:     o.ServiceDN,
		Dir:           o.Dir,
		opts:          o,
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "scimgate-slapd-"); err != nil {
			return nil, fmt.Errorf("slapd: %w", err)
		}
		s.ownDir = true
	} else if s.Dir, err = filepath.Abs(s.Dir); err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	s.seedKey, s.seedCached = key, cached
	if err := s.start(ctx, seeds); err != nil {
		s.Stop() // what did start; its own report is err
		return nil, fmt.Errorf("slapd: %w", err)
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, seeds []seedFile) error {
	o := s.opts
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	s.conf = filepath.Join(s.Dir, "slapd.conf")
	dbDirs := []string{filepath.Join(s.Dir, "data")}
	if o.has(OverlayAccessLog) {
		dbDirs = append(dbDirs, filepath.Join(s.Dir, "accesslog"))
	}
	if o.Fresh {
		for _, d := range dbDirs {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
	}
	_, err := os.Stat(filepath.Join(dbDirs[0], "data.mdb"))
	existing := err == nil
	for _, d := range dbDirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(s.conf, []byte(renderConf(o, s.Dir)), 0o600); err != nil {
		return err
	}
	if !existing {
		err := error(nil)
		if s.seedCached != "" {
			err = copyDB(ctx, s.seedCached, filepath.Join(dbDirs[0], "data.mdb"))
		} else if err = slapadd(ctx, o, s.Dir, s.conf, seeds); err == nil && s.seedKey != "" {
			if err := storeSeeded(ctx, o, s.seedKey, dbDirs[0]); err != nil && o.Logger != nil {
				// The cache only saves time: the database loaded is fine.
				fmt.Fprintf(o.Logger, "slapd: keeping the seeded database in %s: %v\n", o.SeedCache, err)
			}
		}
		if err != nil {
			// A half-loaded database must not pass for a loaded one at the next Start.
			for _, d := range dbDirs {
				os.RemoveAll(d)
			}
			return err
		}
	}

	if o.Addr != "" {
		if err := s.setAddr(o.Addr); err != nil {
			return err
		}
		return s.launch(ctx)
	}
	// A free port found by listening and closing can be taken by someone else before slapd
	// binds it: try again with another.
	for attempt := 0; ; attempt++ {
		addr, err := childproc.FreeAddr()
		if err != nil {
			return err
		}
		if err := s.setAddr(addr); err != nil {
			return err
		}
		err = s.launch(ctx)
		if err == nil || !errors.Is(err, ErrAddrInUse) || attempt == 2 {
			return err
		}
	}
}

func (s *Server) setAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	s.Addr = addr
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	s.URL = "ldap://" + net.JoinHostPort(host, port)
	return nil
}

// ErrAddrInUse is returned (wrapped) by Start and Resume when the address is taken; the
// message names the address and port.
var ErrAddrInUse = errors.New("address already in use")

// launch starts slapd on s.Addr and waits until it answers. The caller holds no lock.
func (s *Server) launch(ctx context.Context) error {
	o := s.opts
	if err := childproc.CheckAddrFree(s.Addr, ErrAddrInUse); err != nil {
		return err
	}
	p, err := childproc.Start(o.Slapd, []string{"-f", s.conf, "-h", "ldap://" + s.Addr + "/", "-d", "32768"}, s.Dir, o.Logger)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc, s.last = p, p
	s.mu.Unlock()

	if err := s.waitReady(ctx, p); err != nil {
		s.mu.Lock()
		s.proc = nil
		s.mu.Unlock()
		p.Terminate("slapd", o.StopTimeout)
		return err
	}
	return nil
}

// waitReady polls until an admin bind and a base search of the suffix succeed.
func (s *Server) waitReady(ctx context.Context, p *childproc.Process) error {
	delay := 10 * time.Millisecond
	var last error
	for {
		select {
		case <-p.Done():
			msg := strings.TrimSpace(p.Output())
			if strings.Contains(msg, "Address already in use") {
				return fmt.Errorf("slapd cannot listen on %s (port %s): %w\n%s", s.Addr, childproc.PortOf(s.Addr), ErrAddrInUse, msg)
			}
			return fmt.Errorf("slapd exited during start-up (%v):\n%s", p.Err(), msg)
		default:
		}
		if last = s.probe(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slapd on %s not ready: %w (last attempt: %v)\n%s", s.Addr, ctx.Err(), last, strings.TrimSpace(p.Output()))
		case <-p.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

// probe binds as the admin and reads the suffix entry (an empty database, without it, counts
// as ready too).
func (s *Server) probe(ctx context.Context) error {
	conn, err := s.Bind(ctx, s.AdminDN, s.AdminPassword)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Search(&ldap.SearchRequest{BaseDN: s.Suffix, Scope: ldap.ScopeBaseObject,
		DerefAliases: ldap.NeverDerefAliases, SizeLimit: 1, Filter: "(objectClass=*)", Attributes: []string{"1.1"}})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	return err
}

// Stop ends slapd (SIGTERM, then SIGKILL after Options.StopTimeout) and removes the working
// directory if Start created it. It returns an error if slapd had exited on its own before.
// Calling it again does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	err := childproc.Finish(s.proc, "slapd", s.opts.StopTimeout, s.Dir, s.ownDir)
	s.proc = nil
	return err
}

// Halt stops slapd like Stop but keeps its working directory, data and address, so that
// Resume can start it again: for tests of a directory that goes away and comes back. While
// halted, connections to URL are refused.
func (s *Server) Halt() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("slapd: server stopped")
	}
	if s.proc == nil {
		return nil
	}
	err := s.proc.Terminate("slapd", s.opts.StopTimeout)
	s.proc = nil
	return err
}

// Kill ends slapd with SIGKILL, as a crash would, and waits until it has exited. Like Halt it
// keeps the working directory, data and address, so that Resume starts it again. The
// database loses no write that was answered (see Options.Peers for what replication needs
// on top). It reports an exit that happened before it was asked, and does nothing while
// halted.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("slapd: server stopped")
	}
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if !p.Running() {
		return fmt.Errorf("slapd: had exited (%v):\n%s", p.Err(), strings.TrimSpace(p.Output()))
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("slapd: kill: %w", err)
	}
	<-p.Done()
	return nil
}

// Resume starts a halted or killed slapd again on the same address with the same data and
// waits until it answers, like Start. It does nothing if slapd is running.
func (s *Server) Resume(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("slapd: server stopped")
	}
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	if err := s.launch(ctx); err != nil {
		return fmt.Errorf("slapd: resume: %w", err)
	}
	return nil
}

// Restart is Halt followed by Resume: same address, same data.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Halt(); err != nil {
		return err
	}
	return s.Resume(ctx)
}

// Freeze suspends slapd with SIGSTOP: connections are accepted by the kernel but nothing
// answers, as with a hung server. Thaw resumes it; Stop and Halt also work on a frozen server.
func (s *Server) Freeze() error {
	if err := s.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	// The signal is delivered asynchronously: wait until every thread has stopped, so that
	// a request sent after Freeze returns is never answered.
	pid := s.PID()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if stopped, known := allThreadsStopped(pid); stopped || !known {
			return nil
		}
	}
	return errors.New("slapd: freeze: threads still running after SIGSTOP")
}

// allThreadsStopped reports whether every thread of pid is in the stopped state, from
// /proc; known is false where /proc cannot tell.
func allThreadsStopped(pid int) (stopped, known bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false, false
	}
	for _, t := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			return false, false
		}
		// "tid (comm) S ...": the state follows the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) {
			return false, false
		}
		if st := stat[i+2]; st != 'T' && st != 't' {
			return false, true
		}
	}
	return true, true
}

// Thaw resumes a server suspended by Freeze.
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errors.New("slapd: not running")
	}
	return s.proc.Signal(sig)
}

// Running reports whether the slapd process is alive (neither halted, stopped, nor exited).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.Running()
}

// PID returns the process id of the running slapd, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.PID()
}

// Output returns the last few kilobytes slapd has written in its current or last run.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return ""
	}
	return s.last.Output()
}
