package ldapconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest"
)

// Shared helpers of this package's integration tests.

const (
	demoLDIF        = "../../testdata/demo/directory.ldif"
	demoServicePass = "scimgate-demo-password"
	aliceDN         = "uid=alice,ou=People,dc=example,dc=com"
)

// startDemo starts a slapd seeded with the demo directory (plus extra seeds).
func startDemo(t *testing.T, o slapd.Options, extraSeeds ...string) *slapd.Server {
	t.Helper()
	o.SeedLDIF = append([]string{demoLDIF}, extraSeeds...)
	return slapdtest.StartT(t, o)
}

// testConfig is the configuration of a gateway binding as the demo service
// account, with short intervals.
func testConfig(s *slapd.Server) LDAPConfig {
	c := LDAPConfig{
		URL:             s.URL,
		BindDN:          s.ServiceDN,
		BindPassword:    demoServicePass,
		Suffix:          s.Suffix,
		PoolSize:        4,
		DialTimeout:     2 * time.Second,
		OpTimeout:       2 * time.Second,
		HealthInterval:  200 * time.Millisecond,
		RefreshInterval: 100 * time.Millisecond,
	}
	c.Defaults()
	return c
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: zerolog.TestWriter{T: t}, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
}

// newTestPool returns a pool closed at the end of the test.
func newTestPool(t *testing.T, cfg LDAPConfig) *Pool {
	t.Helper()
	p, err := NewPool(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readAlice is a typical pooled operation.
func readAlice(c *ldap.Conn) error {
	res, err := c.Search(ldap.NewSearchRequest(aliceDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"cn"}, nil))
	if err == nil && len(res.Entries) != 1 {
		err = errors.New("alice not found")
	}
	return err
}

func TestPool(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	cfg := testConfig(s)
	p := newTestPool(t, cfg)

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		var maxInUse, failures atomic.Int64
		for range 16 {
			wg.Go(func() {
				for range 40 {
					err := p.Do(t.Context(), func(c *ldap.Conn) error {
						if n := int64(p.Stats().InUse); n > maxInUse.Load() {
							maxInUse.Store(n)
						}
						return readAlice(c)
					})
					if err != nil {
						failures.Add(1)
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		st := p.Stats()
		if maxInUse.Load() > 4 || st.Open > 4 {
			t.Errorf("more than pool_size connections: max in use %d, stats %+v", maxInUse.Load(), st)
		}
		if st.Waits == 0 {
			t.Errorf("16 goroutines on 4 connections never waited: %+v", st)
		}
		if st.Idle != st.Open || st.InUse != 0 {
			t.Errorf("connections not returned: %+v", st)
		}
	})

	t.Run("fn error keeps the connection", func(t *testing.T) {
		before := p.Stats()
		err := p.Do(t.Context(), func(c *ldap.Conn) error {
			_, err := c.Search(ldap.NewSearchRequest("uid=nobody,ou=People,dc=example,dc=com", ldap.ScopeBaseObject,
				ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
			return err
		})
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Fatalf("got %v, want the LDAP error unchanged", err)
		}
		if after := p.Stats(); after.Discarded != before.Discarded {
			t.Errorf("an LDAP result error discarded the connection: %+v", after)
		}
	})

	t.Run("restart", func(t *testing.T) {
		// Workers run throughout; while slapd is down every failure must map to 503.
		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var ok, unavailable atomic.Int64
		for range 16 {
			wg.Go(func() {
				for ctx.Err() == nil {
					opCtx, cancel := context.WithTimeout(ctx, time.Second)
					err := p.Do(opCtx, readAlice)
					cancel()
					switch {
					case err == nil:
						ok.Add(1)
					case ctx.Err() != nil:
					case errors.Is(err, ErrUnavailable):
						unavailable.Add(1)
					default:
						t.Errorf("while restarting: %v", err)
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
		time.Sleep(100 * time.Millisecond)
		if err := s.Halt(); err != nil {
			t.Fatal(err)
		}
		down := unavailable.Load()
		eventually(t, 3*time.Second, "calls fail while slapd is down", func() bool { return unavailable.Load() > down+20 })
		if err := p.Ready(t.Context()); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Ready while down = %v", err)
		}
		if st := p.Stats(); st.Up || st.DialFailures == 0 {
			t.Errorf("stats while down: %+v", st)
		}
		if err := s.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 8*time.Second, "Ready after slapd is back", func() bool { return p.Ready(t.Context()) == nil })
		okAfter := ok.Load()
		eventually(t, 3*time.Second, "calls succeed again", func() bool { return ok.Load() > okAfter+50 })
		failedAfter := unavailable.Load()
		time.Sleep(200 * time.Millisecond)
		stop()
		wg.Wait()
		if n := unavailable.Load() - failedAfter; n > 0 {
			t.Errorf("%d calls failed after recovery", n)
		}
		if st := p.Stats(); !st.Up || st.Open > 4 {
			t.Errorf("stats after recovery: %+v", st)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		if err := p.Ready(t.Context()); err != nil {
			t.Fatal(err)
		}
		// A second pool with a short op_timeout, holding an idle connection.
		short := cfg
		short.OpTimeout = 300 * time.Millisecond
		short.DialTimeout = 300 * time.Millisecond
		short.HealthInterval = time.Hour // keep the idle connection for the frozen server
		p2 := newTestPool(t, short)
		if err := p2.Do(t.Context(), readAlice); err != nil {
			t.Fatal(err)
		}
		if err := s.Freeze(); err != nil {
			t.Fatal(err)
		}
		defer s.Thaw()

		// The caller's deadline, shorter than op_timeout.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		start := time.Now()
		err := p.Do(ctx, readAlice)
		cancel()
		if el := time.Since(start); el > time.Second {
			t.Errorf("Do took %s with a 300ms deadline", el)
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("hung server: got %v, want unavailable", err)
		}

		// op_timeout when the caller has no deadline.
		start = time.Now()
		err = p2.Do(context.Background(), readAlice)
		if el := time.Since(start); el > 1500*time.Millisecond {
			t.Errorf("Do took %s with a 300ms op_timeout", el)
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("op_timeout: got %v, want unavailable", err)
		}
		p2.Close()

		if err := s.Thaw(); err != nil {
			t.Fatal(err)
		}
		eventually(t, 8*time.Second, "Ready after thaw", func() bool { return p.Ready(t.Context()) == nil })
	})

	t.Run("health check drops dead connections", func(t *testing.T) {
		// Fill the pool, then kill the server's side of every connection by
		// restarting it: the health check (200ms) must notice without traffic.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				p.Do(t.Context(), func(c *ldap.Conn) error { time.Sleep(50 * time.Millisecond); return readAlice(c) })
			})
		}
		wg.Wait()
		before := p.Stats().Discarded
		if err := s.Restart(t.Context()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 3*time.Second, "dead idle connections dropped", func() bool { return p.Stats().Discarded > before })
		if err := p.Do(t.Context(), readAlice); err != nil {
			t.Errorf("after restart: %v", err)
		}
	})

	t.Run("closed", func(t *testing.T) {
		p3 := newTestPool(t, cfg)
		p3.Close()
		p3.Close()
		if err := p3.Do(t.Context(), readAlice); !errors.Is(err, ErrPoolClosed) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("Do after Close = %v", err)
		}
	})
}

// TestPoolStartsWhileDown: a pool made while the directory is down works once
// it comes up.
func TestPoolStartsWhileDown(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	if err := s.Halt(); err != nil {
		t.Fatal(err)
	}
	p := newTestPool(t, testConfig(s))
	if err := p.Do(t.Context(), readAlice); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do while down = %v", err)
	}
	// While the pool backs off, Hold fails at once too, without dialing.
	failures := p.Stats().DialFailures
	if _, err := p.Hold(t.Context()); !errors.Is(err, ErrUnavailable) || p.Stats().DialFailures != failures {
		t.Fatalf("Hold while down = %v, dial failures %d then %d", err, failures, p.Stats().DialFailures)
	}
	if err := s.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	// No traffic needed: the background reconnect brings a connection.
	eventually(t, 8*time.Second, "background reconnect", func() bool { return p.Stats().Idle > 0 })
	if err := p.Do(t.Context(), readAlice); err != nil {
		t.Fatal(err)
	}
	h, err := p.Hold(t.Context())
	if err != nil {
		t.Fatalf("Hold once the directory is back: %v", err)
	}
	h.Close()
}

func TestPoolNoGoroutineLeak(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	cfg := testConfig(s)
	before := runtime.NumGoroutine()

	p, err := NewPool(t.Context(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if err := p.Do(t.Context(), readAlice); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// A call cancelled in flight and one that times out waiting.
	ctx, cancel := context.WithCancel(t.Context())
	wg.Go(func() {
		p.Do(ctx, func(c *ldap.Conn) error { cancel(); return readAlice(c) })
	})
	wg.Wait()
	time.Sleep(250 * time.Millisecond) // let a health check run
	if st := p.Stats(); st.Open == 0 {
		t.Fatalf("no connection open: %+v", st)
	}
	p.Close()
	eventually(t, 3*time.Second, "goroutines back to the count before NewPool", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestPoolBindFailure(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	cfg := testConfig(s)
	cfg.BindPassword = "wrong"
	p := newTestPool(t, cfg)
	err := p.Do(t.Context(), readAlice)
	if !errors.Is(err, ErrUnavailable) || !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("got %v, want unavailable caused by invalid credentials", err)
	}

	// The password file is read at each dial.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(demoServicePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.BindPassword, cfg.BindPasswordFile = "", pwFile
	p2 := newTestPool(t, cfg)
	if err := p2.Do(t.Context(), readAlice); err != nil {
		t.Fatal(err)
	}
}

// TestPoolTLS covers StartTLS (slapd with a certificate) and ldaps:// (through a
// TLS-terminating proxy in front of slapd, since the test slapd listens on
// ldap:// only), verified against a CA file and server_name.
func TestPoolTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestPKI(t, dir, "ldap.test")
	// slapd's TLS directives are global; the slapd package includes extra schema
	// files in the global section, so a file of directives works as well.
	tlsConf := filepath.Join(dir, "tls.conf")
	conf := "TLSCACertificateFile " + caFile + "\nTLSCertificateFile " + certFile + "\nTLSCertificateKeyFile " + keyFile + "\n"
	if err := os.WriteFile(tlsConf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startDemo(t, slapd.Options{ExtraSchema: []string{tlsConf}})

	t.Run("starttls", func(t *testing.T) {
		cfg := testConfig(s)
		cfg.StartTLS, cfg.CAFile, cfg.ServerName = true, caFile, "ldap.test"
		p := newTestPool(t, cfg)
		err := p.Do(t.Context(), func(c *ldap.Conn) error {
			if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete {
				return errors.New("connection not encrypted")
			}
			return readAlice(c)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("starttls wrong name", func(t *testing.T) {
		cfg := testConfig(s)
		cfg.StartTLS, cfg.CAFile, cfg.ServerName = true, caFile, "other.test"
		p := newTestPool(t, cfg)
		if err := p.Do(t.Context(), readAlice); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate error", err)
		}
	})

	proxy := tlsProxy(t, certFile, keyFile, s.Addr)
	t.Run("ldaps", func(t *testing.T) {
		cfg := testConfig(s)
		cfg.URL, cfg.CAFile, cfg.ServerName = "ldaps://"+proxy, caFile, "ldap.test"
		p := newTestPool(t, cfg)
		if err := p.Do(t.Context(), readAlice); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ldaps unknown CA", func(t *testing.T) {
		cfg := testConfig(s)
		cfg.URL, cfg.ServerName = "ldaps://"+proxy, "ldap.test"
		p := newTestPool(t, cfg)
		if err := p.Do(t.Context(), readAlice); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want unavailable", err)
		}
	})
	t.Run("ldaps insecure", func(t *testing.T) {
		cfg := testConfig(s)
		cfg.URL, cfg.InsecureSkipVerify = "ldaps://"+proxy, true
		p := newTestPool(t, cfg)
		if err := p.Do(t.Context(), readAlice); err != nil {
			t.Fatal(err)
		}
	})
}

// writeTestPKI writes a CA and a server certificate for name (and 127.0.0.1).
func writeTestPKI(t *testing.T, dir, name string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scimgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	// RSA for the server: GnuTLS-built slapd accepts it without question.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der),
		write("key.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
}

// tlsProxy listens with TLS on a loopback port and relays to backend.
func tlsProxy(t *testing.T, certFile, keyFile, backend string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			wg.Go(func() { io.Copy(b, c); b.Close() })
			wg.Go(func() { io.Copy(c, b); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestPoolRetire: a connection retired during Do is closed when Do
// returns, with fn's own result (an LDAP error stays that error, not
// "unavailable"), and the next Do gets a new connection.
func TestPoolRetire(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	cfg := testConfig(s)
	cfg.PoolSize = 1
	p := newTestPool(t, cfg)
	ctx := t.Context()
	var first *ldap.Conn
	err := p.Do(ctx, func(c *ldap.Conn) error {
		first = c
		p.Retire(c)
		_, err := c.Search(ldap.NewSearchRequest("ou=nowhere,dc=example,dc=com", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, 0, false, "(objectClass=*)", nil, nil))
		return err
	})
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do with a retired connection = %v, want noSuchObject as it was", err)
	}
	if !first.IsClosing() || p.Stats().Discarded != 1 {
		t.Errorf("the retired connection: closing %v, discarded %d", first.IsClosing(), p.Stats().Discarded)
	}
	if err := p.Do(ctx, func(c *ldap.Conn) error {
		if c == first {
			return errors.New("got the retired connection back")
		}
		return readAlice(c)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPoolHold: a held connection is bound as the service account, outside
// the pool's slots; a search past its deadline closes it and fails as
// unavailable, and every later search fails too; the pool's Close closes
// the ones still held.
func TestPoolHold(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	cfg := testConfig(s)
	cfg.PoolSize = 1
	p := newTestPool(t, cfg)
	ctx := t.Context()
	alice := ldap.NewSearchRequest("uid=alice,ou=People,dc=example,dc=com", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"uid"}, nil)
	h1, err := p.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := p.Hold(ctx) // beyond pool_size: held connections are not the pool's
	if err != nil {
		t.Fatal(err)
	}
	if res, err := h1.Search(ctx, alice); err != nil || len(res.Entries) != 1 {
		t.Fatalf("a held connection reads alice: %v", err)
	}
	if err := p.Do(ctx, readAlice); err != nil {
		t.Fatalf("the pool beside two held connections: %v", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h1.Search(ended, alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a search whose context ended: %v, want ErrUnavailable", err)
	}
	if _, err := h1.Search(ctx, alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a search on a held connection closed by its deadline: %v, want ErrUnavailable", err)
	}
	h1.Close()
	p.Close()
	if _, err := h2.Search(ctx, alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a held connection after the pool closed: %v, want ErrUnavailable", err)
	}
	if _, err := p.Hold(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Hold on a closed pool: %v", err)
	}
}
