package dirsrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// Server is a running (or stopped) private 389 Directory Server instance.
type Server struct {
	// URL is the ldap:// URL to dial, e.g. ldap://127.0.0.1:38911.
	URL string
	// Addr is the host:port ns-slapd listens on.
	Addr string
	// Suffix is the naming context of the userRoot backend.
	Suffix string
	// AdminDN ("cn=Directory Manager") and AdminPassword bind as 389's root DN, which
	// bypasses every ACI. The gateway must bind as its service account instead.
	AdminDN, AdminPassword string
	// Dir is the instance directory: config/ (dse.ldif, schema/), db/, log/ (errors,
	// access), run/ (pid file).
	Dir string

	opts   Options
	lay    layout
	ownDir bool

	mu      sync.Mutex
	proc    *childproc.Process
	stopped bool
}

// ErrAddrInUse is returned (wrapped) by Start when the address is taken.
var ErrAddrInUse = errors.New("address already in use")

// Start creates an instance directory (unless Dir already holds an instance), starts
// ns-slapd as a child process, adds the userRoot backend for the suffix, applies the seeds
// over LDAP and returns once all of that succeeded. ctx bounds the start-up only (together
// with Options.StartTimeout); the server runs until Stop. On error nothing is left running
// and a temporary directory is removed.
func Start(ctx context.Context, o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("dirsrv: options: %w", err)
	}
	if err := checkInstalled(o); err != nil {
		return nil, fmt.Errorf("dirsrv: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	seeds, err := loadSeeds(o.SeedLDIF)
	if err != nil {
		return nil, fmt.Errorf("dirsrv: %w", err)
	}
	s := &Server{Suffix: o.Suffix, AdminDN: AdminDN, AdminPassword: o.AdminPassword, Dir: o.Dir, opts: o}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "scimgate-dirsrv-"); err != nil {
			return nil, fmt.Errorf("dirsrv: %w", err)
		}
		s.ownDir = true
	} else if s.Dir, err = filepath.Abs(s.Dir); err != nil {
		return nil, fmt.Errorf("dirsrv: %w", err)
	}
	s.lay = newLayout(s.Dir)
	_, err = os.Stat(s.lay.dse)
	existing := err == nil
	if err := s.start(ctx, existing, seeds); err != nil {
		s.Stop() // what did start; its own report is err
		if !s.ownDir && !existing {
			// A half-made instance must not pass for a made one at the next Start.
			for _, d := range []string{s.lay.config, s.lay.db, s.lay.log, s.lay.run, s.lay.lock, s.lay.tmp, s.lay.bak, s.lay.ldif} {
				os.RemoveAll(d)
			}
		}
		return nil, fmt.Errorf("dirsrv: %w", err)
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, existing bool, seeds []*slapd.LDIF) error {
	o := s.opts
	if err := s.lay.mkdirs(); err != nil {
		return err
	}
	if !existing {
		for _, f := range o.SchemaLDIF {
			if err := copyFile(f, filepath.Join(s.lay.schema, filepath.Base(f))); err != nil {
				return fmt.Errorf("schema: %w", err)
			}
		}
		for _, f := range []string{"slapd-collations.conf", "certmap.conf"} {
			if err := copyFile(filepath.Join(o.ConfigDir, f), filepath.Join(s.lay.config, f)); err != nil {
				return err
			}
		}
	}
	for attempt := 0; ; attempt++ {
		addr := o.Addr
		if addr == "" {
			var err error
			if addr, err = childproc.FreeAddr(); err != nil {
				return err
			}
		}
		err := s.launchAt(ctx, addr)
		if err == nil {
			break
		}
		if o.Addr != "" || !errors.Is(err, ErrAddrInUse) || attempt == 2 {
			return err
		}
	}
	if !existing {
		if err := s.LDAPModify(ctx, backendLDIF(s.Suffix)); err != nil {
			return fmt.Errorf("adding the backend for %s: %w", s.Suffix, err)
		}
		for _, sf := range seeds {
			if err := s.apply(ctx, sf); err != nil {
				return fmt.Errorf("seeding: %w", err)
			}
		}
		if err := s.reindex(ctx); err != nil {
			return fmt.Errorf("indexing: %w", err)
		}
	}
	return nil
}

// reindex runs 389's index task for the indexes backendLDIF adds and waits
// for it: an index defined online counts as not built, and the searches it
// serves meet the look-through limit, until the task has run.
func (s *Server) reindex(ctx context.Context) error {
	task := "cn=scimgate-reindex,cn=index,cn=tasks,cn=config"
	add := "dn: " + task + "\nchangetype: add\nobjectClass: top\nobjectClass: extensibleObject\ncn: scimgate-reindex\n" +
		"nsInstance: " + BackendName + "\n"
	for _, ix := range backendIndexes {
		add += "nsIndexAttribute: " + ix[0] + ":" + ix[1] + "\n"
	}
	return s.RunTask(ctx, add)
}

// RunTask adds a task entry (an LDIF add of one entry under cn=tasks,
// cn=config) and waits until it is done: an error when it failed.
func (s *Server) RunTask(ctx context.Context, add string) error {
	l, err := slapd.ParseLDIF("task", []byte(add))
	if err != nil {
		return err
	}
	if l.Len() != 1 {
		return fmt.Errorf("a task is one entry, not %d", l.Len())
	}
	task := l.DNs()[0]
	if err := s.LDAPModify(ctx, add); err != nil {
		return err
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		res, err := conn.Search(&ldap.SearchRequest{BaseDN: task, Scope: ldap.ScopeBaseObject, Filter: "(objectClass=*)",
			Attributes: []string{"nsTaskExitCode", "nsTaskLog"}})
		if err == nil && len(res.Entries) == 1 {
			if code := res.Entries[0].GetAttributeValue("nsTaskExitCode"); code != "" {
				if code != "0" {
					return fmt.Errorf("the task %s ended with %s: %s", task, code, res.Entries[0].GetAttributeValue("nsTaskLog"))
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// launchAt writes addr into dse.ldif (creating it for a new instance), starts ns-slapd and
// waits until the admin can bind and read the root DSE.
func (s *Server) launchAt(ctx context.Context, addr string) error {
	o := s.opts
	listen, dial, port, err := listenHost(addr)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.lay.dse); err == nil {
		err = rewriteDSE(o, s.lay, listen, port)
		if err != nil {
			return err
		}
	} else {
		dse, err := newDSE(o, s.lay, listen, port)
		if err != nil {
			return err
		}
		if err := os.WriteFile(s.lay.dse, []byte(dse), 0o600); err != nil {
			return err
		}
	}
	s.Addr = addr
	s.URL = "ldap://" + net.JoinHostPort(dial, port)
	if err := childproc.CheckAddrFree(addr, ErrAddrInUse); err != nil {
		return err
	}
	os.Remove(s.lay.pid)
	p, err := childproc.Start(o.NsSlapd, []string{"-D", s.lay.config, "-i", s.lay.pid, "-d", "0"}, s.Dir, o.Logger)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(ctx, p); err != nil {
		s.mu.Lock()
		s.proc = nil
		s.mu.Unlock()
		p.Terminate("ns-slapd", o.StopTimeout)
		if o.Logger != nil {
			fmt.Fprintf(o.Logger, "%s (tail):\n%s\n", s.lay.errorsLog, s.errorsTail())
		}
		return err
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, p *childproc.Process) error {
	delay := 10 * time.Millisecond
	var last error
	for {
		select {
		case <-p.Done():
			msg := strings.TrimSpace(p.Output() + "\n" + s.errorsTail())
			if strings.Contains(msg, "Address already in use") || strings.Contains(msg, "Could not bind") {
				return fmt.Errorf("ns-slapd cannot listen on %s (port %s): %w\n%s", s.Addr, childproc.PortOf(s.Addr), ErrAddrInUse, msg)
			}
			return fmt.Errorf("ns-slapd exited during start-up (%v):\n%s", p.Err(), msg)
		default:
		}
		if last = s.probe(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ns-slapd on %s not ready: %w (last attempt: %v)\n%s", s.Addr, ctx.Err(), last, s.errorsTail())
		case <-p.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

// probe binds as the admin and reads the root DSE.
func (s *Server) probe(ctx context.Context) error {
	conn, err := s.Bind(ctx, s.AdminDN, s.AdminPassword)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Search(&ldap.SearchRequest{Scope: ldap.ScopeBaseObject,
		DerefAliases: ldap.NeverDerefAliases, SizeLimit: 1, Filter: "(objectClass=*)", Attributes: []string{"namingContexts"}})
	return err
}

// errorsTail returns the last few kilobytes of the instance's errors log.
func (s *Server) errorsTail() string {
	b, err := os.ReadFile(s.lay.errorsLog)
	if err != nil {
		return ""
	}
	if len(b) > childproc.TailSize {
		b = b[len(b)-childproc.TailSize:]
	}
	return string(b)
}

// Stop ends ns-slapd (SIGTERM, then SIGKILL after Options.StopTimeout), waits for it and
// removes the instance directory if Start created it. It returns an error if ns-slapd had
// exited on its own before. Calling it again does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	err := childproc.Finish(s.proc, "ns-slapd", s.opts.StopTimeout, s.Dir, s.ownDir)
	s.proc = nil
	return err
}

// Running reports whether the ns-slapd process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.Running()
}

// PID returns the process id of the running ns-slapd, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.PID()
}

// Output returns what ns-slapd wrote to stdout and stderr (last few kilobytes) followed by
// the tail of its errors log.
func (s *Server) Output() string {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	var out string
	if p != nil {
		out = p.Output()
	}
	return out + s.errorsTail()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
