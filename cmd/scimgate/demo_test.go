package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// moduleRoot walks up from the test's directory to go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// buildScimgate builds the binary `make run` runs into dir.
func buildScimgate(t testing.TB, root, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(dir, "scimgate")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/scimgate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// demoPorts returns the SCIMGATE_* port variables of a demo: three
// distinct loopback ports that were free a moment ago (held open together,
// so that the system does not hand the same one out twice).
func demoPorts(t testing.TB) map[string]string {
	t.Helper()
	ports := freePorts(t, 3)
	return map[string]string{"SCIMGATE_PORT": ports[0], "SCIMGATE_LDAP_PORT": ports[1], "SCIMGATE_METRICS_PORT": ports[2]}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}
	return ports
}

// demoProc is a running `scimgate demo`.
type demoProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
	waitErr        error
}

// startDemo runs `scimgate demo --run-dir runDir` from the module root
// with the given SCIMGATE_* ports, as `make run` does. The process is
// killed when the test ends if it is still running.
func startDemo(t *testing.T, bin, root, runDir string, ports map[string]string, args ...string) *demoProc {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCIMGATE_") {
			env = append(env, kv)
		}
	}
	for k, v := range ports {
		env = append(env, k+"="+v)
	}
	d := &demoProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, append([]string{"demo", "--run-dir", runDir}, args...)...)
	d.cmd.Dir = root
	d.cmd.Env = env
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	// Should the test binary die, the demo dies too (and takes slapd along).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		_ = d.cmd.Process.Kill()
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("scimgate demo (pid %d) did not die", d.cmd.Process.Pid)
		}
	})
	return d
}

// waitTokens waits up to within for the demo to write tokensFile, failing
// at once if the demo exits first.
func (d *demoProc) waitTokens(t *testing.T, tokensFile string, within time.Duration) {
	t.Helper()
	waitFor(t, within, "tokens.env", func() (bool, string) {
		select {
		case <-d.exited:
			t.Fatalf("scimgate demo exited early (%v)\nstderr:\n%s", d.waitErr, tail(d.stderr.String(), 3000))
		default:
		}
		_, err := os.Stat(tokensFile)
		return err == nil, fmt.Sprint(err)
	})
}

// tokens waits for the demo's tokens.env in runDir and reads it.
func (d *demoProc) tokens(t *testing.T, runDir string, within time.Duration) map[string]string {
	t.Helper()
	tokensFile := filepath.Join(runDir, "tokens.env")
	d.waitTokens(t, tokensFile, within)
	data, err := os.ReadFile(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	return parseShellEnv(t, string(data))
}

// exitCode waits up to d for the process to end and returns its exit code.
func (d *demoProc) exitCode(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-d.exited:
	case <-time.After(within):
		t.Fatalf("scimgate demo still running after %v\nstderr:\n%s", within, tail(d.stderr.String(), 3000))
	}
	if d.waitErr == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(d.waitErr, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", d.waitErr)
	return -1
}

// parseShellEnv reads NAME='value' lines as demo.go's shellLines writes
// them ('\” inside a value is a quote).
func parseShellEnv(t testing.TB, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(data, "\n"), "\n") {
		name, rest, ok := strings.Cut(line, "=")
		if !ok || len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' || name == "" || strings.ContainsAny(name, " \t'\"$") {
			t.Fatalf("tokens.env line %d is not NAME='value': %q", i+1, line)
		}
		out[name] = strings.ReplaceAll(rest[1:len(rest)-1], `'\''`, `'`)
	}
	return out
}

// portRefuses reports whether nothing accepts connections on 127.0.0.1:port.
func portRefuses(port string) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 500*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// processStopped reports whether every thread of pid is stopped (SIGSTOP).
func processStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			return false
		}
	}
	return true
}

// TestDemo runs `make run`'s entry point as a subprocess: it comes up on the
// ports named by SCIMGATE_PORT, SCIMGATE_LDAP_PORT and SCIMGATE_METRICS_PORT,
// writes every contract variable to RUN_DIR/tokens.env, each token behaves
// as documented, and on SIGTERM a request in flight completes, the process
// exits 0 and its slapd is gone. A port in use stops it at once with a
// message naming the variable.
func TestDemo(t *testing.T) {
	root := moduleRoot(t)
	bin := buildScimgate(t, root, t.TempDir())

	// make run-389: the same demo on 389 Directory Server.
	t.Run("389", func(t *testing.T) {
		runDir := t.TempDir()
		d := startDemo(t, bin, root, runDir, demoPorts(t), "--directory", "389")
		env := d.tokens(t, runDir, 60*time.Second)
		if env["ACI_ATTR"] != "scimgateAci" || env["LDAP_ADMIN_DN"] != "cn=Directory Manager" {
			t.Fatalf("tokens.env on 389: ACI_ATTR %q, LDAP_ADMIN_DN %q", env["ACI_ATTR"], env["LDAP_ADMIN_DN"])
		}
		scim := &testEnv{t: t, base: env["SCIM_URL"], tokens: map[string]string{
			"connector": env["TOKEN_CONNECTOR"], "reporting": env["TOKEN_REPORTING"], "none": env["TOKEN_NONE"]}}
		if n := num(scim.must(200, "GET", "/Users", "reporting", nil).body, "totalResults"); n != 40 {
			t.Errorf("the reporting token lists %d users on 389, want the demo's 40", n)
		}
		scim.must(403, "POST", "/Users", "reporting", map[string]any{"schemas": []string{userURN}, "userName": "not-allowed"})
		if n := num(scim.must(200, "GET", "/Users", "none", nil).body, "totalResults"); n != 0 {
			t.Errorf("a token without scopes sees %d users on 389", n)
		}
		// The demo adds the browsing indexes: a page of users comes from them.
		page := scim.must(200, "GET", "/Users?startIndex=11&count=10", "connector", nil)
		_, _, metrics := rawGet(env["METRICS_URL"], "", 5*time.Second)
		if num(page.body, "itemsPerPage") != 10 || metricValue(metrics, `scimgate_list_pages_total{served="indexed"}`) == "" {
			t.Errorf("a page of users on 389: %d users; pages served from a browsing index: %q", num(page.body, "itemsPerPage"),
				metricValue(metrics, `scimgate_list_pages_total{served="indexed"}`))
		}
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := d.exitCode(t, 30*time.Second); code != 0 {
			t.Errorf("exit code %d after SIGTERM\nstderr:\n%s", code, tail(d.stderr.String(), 3000))
		}
	})

	// make run-ha: two providers, two gateways; a write through one
	// gateway reaches the other provider and is read through the other
	// gateway, and a killed provider leaves both gateways working.
	t.Run("ha", func(t *testing.T) {
		runDir := t.TempDir()
		p := freePorts(t, 6)
		ports := map[string]string{"SCIMGATE_PORT": p[0], "SCIMGATE_LDAP_PORT": p[1], "SCIMGATE_METRICS_PORT": p[2],
			"SCIMGATE_PORT_2": p[3], "SCIMGATE_LDAP_PORT_2": p[4], "SCIMGATE_METRICS_PORT_2": p[5]}
		d := startDemo(t, bin, root, runDir, ports, "-ha")
		env := d.tokens(t, runDir, 60*time.Second)
		if env["SCIM_URL_2"] == "" || env["LDAP_URL_2"] != "ldap://127.0.0.1:"+ports["SCIMGATE_LDAP_PORT_2"] {
			t.Fatalf("tokens.env: SCIM_URL_2 %q, LDAP_URL_2 %q", env["SCIM_URL_2"], env["LDAP_URL_2"])
		}
		tokens := map[string]string{"connector": env["TOKEN_CONNECTOR"]}
		one := &testEnv{t: t, base: env["SCIM_URL"], tokens: tokens}
		two := &testEnv{t: t, base: env["SCIM_URL_2"], tokens: tokens}
		id := str(one.must(201, "POST", "/Users", "connector", map[string]any{"schemas": []string{userURN}, "userName": "ha-demo"}).body, "id")
		waitFor(t, 5*time.Second, "the user through the second gateway", func() (bool, string) {
			r := two.do("GET", "/Users/"+id, "connector", nil)
			return r.status == 200, r.raw
		})
		// The first provider dies: both gateways go on, on the second.
		pid, err := os.ReadFile(filepath.Join(runDir, "ldap-ha", "provider1", "slapd.pid"))
		if err != nil {
			t.Fatal(err)
		}
		slapdPID, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
		if err := syscall.Kill(slapdPID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for _, gw := range []*testEnv{one, two} {
			waitFor(t, 5*time.Second, "a write with the first provider dead", func() (bool, string) {
				r := gw.do("PATCH", "/Users/"+id, "connector", patchOp("replace", "displayName", "after the kill"))
				return r.status == 200, r.raw
			})
		}
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := d.exitCode(t, 30*time.Second); code != 0 {
			t.Errorf("exit code %d after SIGTERM\nstderr:\n%s", code, tail(d.stderr.String(), 3000))
		}
	})

	t.Run("run and SIGTERM", func(t *testing.T) {
		runDir := t.TempDir()
		ports := demoPorts(t)
		scimPort, ldapPort, metricsPort := ports["SCIMGATE_PORT"], ports["SCIMGATE_LDAP_PORT"], ports["SCIMGATE_METRICS_PORT"]
		d := startDemo(t, bin, root, runDir, ports)
		tokensFile := filepath.Join(runDir, "tokens.env")
		d.waitTokens(t, tokensFile, 30*time.Second)
		fi, err := os.Stat(tokensFile)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("tokens.env is readable by others: %v", fi.Mode().Perm())
		}
		data, err := os.ReadFile(tokensFile)
		if err != nil {
			t.Fatal(err)
		}
		env := parseShellEnv(t, string(data))
		for _, name := range []string{"SCIM_URL", "TOKEN_CONNECTOR", "TOKEN_REPORTING", "TOKEN_NONE", "LDAP_URL",
			"LDAP_BASE", "LDAP_ADMIN_DN", "LDAP_ADMIN_PASSWORD", "METRICS_URL"} {
			if env[name] == "" {
				t.Errorf("tokens.env lacks %s", name)
			}
		}
		for name, want := range map[string]string{
			"SCIM_URL":    "http://127.0.0.1:" + scimPort + "/scim/v2",
			"LDAP_URL":    "ldap://127.0.0.1:" + ldapPort,
			"LDAP_BASE":   "dc=example,dc=com",
			"METRICS_URL": "http://127.0.0.1:" + metricsPort + "/metrics",
		} {
			if env[name] != want {
				t.Errorf("%s = %q, want %q", name, env[name], want)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		if env["TOKEN_CONNECTOR"] == env["TOKEN_REPORTING"] || env["TOKEN_REPORTING"] == env["TOKEN_NONE"] {
			t.Error("the tokens are not distinct")
		}
		// The banner shows the same values and how to use them.
		waitFor(t, 5*time.Second, "the banner on stdout", func() (bool, string) {
			out := d.stdout.String()
			return strings.Contains(out, env["TOKEN_CONNECTOR"]) && strings.Contains(out, "curl") && strings.Contains(out, tokensFile), tail(out, 300)
		})

		// Each token once, as the contract describes it.
		scim := &testEnv{t: t, base: env["SCIM_URL"], tokens: map[string]string{
			"connector": env["TOKEN_CONNECTOR"], "reporting": env["TOKEN_REPORTING"], "none": env["TOKEN_NONE"]}}
		if n := num(scim.must(200, "GET", "/Users", "connector", nil).body, "totalResults"); n != 40 {
			t.Errorf("the connector lists %d users, want the demo's 40", n)
		}
		scim.must(403, "POST", "/Users", "reporting", map[string]any{"schemas": []string{userURN}, "userName": "not-allowed"})
		if n := num(scim.must(200, "GET", "/Users", "none", nil).body, "totalResults"); n != 0 {
			t.Errorf("a token without scopes sees %d users", n)
		}
		if s, _, b := rawGet("http://127.0.0.1:"+scimPort+"/readyz", "", 5*time.Second); s != 200 {
			t.Errorf("/readyz: %d %s", s, b)
		}
		// The LDAP variables work: an admin bind and a read of the base.
		conn, err := ldap.DialURL(env["LDAP_URL"], ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetTimeout(5 * time.Second)
		if err := conn.Bind(env["LDAP_ADMIN_DN"], env["LDAP_ADMIN_PASSWORD"]); err != nil {
			t.Errorf("admin bind with tokens.env's credentials: %v", err)
		} else if _, err := conn.Search(ldap.NewSearchRequest(env["LDAP_BASE"], ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 5, false, "(objectClass=*)", nil, nil)); err != nil {
			t.Errorf("reading LDAP_BASE: %v", err)
		}
		conn.Close()
		metrics := func() string {
			s, _, b := rawGet(env["METRICS_URL"], "", 5*time.Second)
			if s != 200 {
				t.Fatalf("METRICS_URL: %d %s", s, b)
			}
			return b
		}
		if !strings.Contains(metrics(), `scimgate_http_requests_total{method="GET",route="/Users",status="200"}`) {
			t.Error("METRICS_URL does not count the requests just made")
		}

		// slapd's pid, from the pid file slapd writes in RUN_DIR/ldap.
		pidText, err := os.ReadFile(filepath.Join(runDir, "ldap", "slapd.pid"))
		if err != nil {
			t.Fatalf("slapd's pid file: %v", err)
		}
		slapdPID, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
		if err != nil || slapdPID <= 1 {
			t.Fatalf("slapd.pid holds %q", pidText)
		}
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", slapdPID)); !strings.HasPrefix(string(comm), "slapd") {
			t.Fatalf("pid %d from slapd.pid is %q, not slapd", slapdPID, comm)
		}

		// Make a request that is in flight when SIGTERM arrives: suspend
		// slapd so the user list waits on it.
		if err := syscall.Kill(slapdPID, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		continued := false
		cont := func() {
			if !continued {
				continued = true
				_ = syscall.Kill(slapdPID, syscall.SIGCONT)
			}
		}
		t.Cleanup(cont)
		waitFor(t, 3*time.Second, "slapd suspended", func() (bool, string) { return processStopped(slapdPID), "running" })
		type result struct {
			status int
			body   string
		}
		inFlight := make(chan result, 1)
		go func() {
			s, _, b := rawGet(env["SCIM_URL"]+"/Users", env["TOKEN_CONNECTOR"], 30*time.Second)
			inFlight <- result{s, b}
		}()
		waitFor(t, 5*time.Second, "the request in flight", func() (bool, string) {
			v := metricValue(metrics(), "scimgate_http_requests_in_flight")
			return v == "1", "in flight: " + v
		})

		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The server stops accepting connections but waits for the request.
		waitFor(t, 5*time.Second, "the SCIM listener closed", func() (bool, string) { return portRefuses(scimPort), "still accepting" })
		select {
		case r := <-inFlight:
			t.Fatalf("the request in flight ended before the directory answered: %d %s", r.status, tail(r.body, 300))
		case <-d.exited:
			t.Fatalf("scimgate demo exited with a request in flight (%v)\nstderr:\n%s", d.waitErr, tail(d.stderr.String(), 3000))
		default:
		}
		cont()
		select {
		case r := <-inFlight:
			if r.status != 200 || !strings.Contains(r.body, `"totalResults":40`) {
				t.Errorf("the request in flight at SIGTERM: %d %s", r.status, tail(r.body, 300))
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the request in flight did not complete")
		}
		if code := d.exitCode(t, 25*time.Second); code != 0 {
			t.Errorf("scimgate demo exited %d after SIGTERM, want 0\nstderr:\n%s", code, tail(d.stderr.String(), 3000))
		}
		// slapd is gone: its pid is no more, nothing listens on any port.
		if err := syscall.Kill(slapdPID, 0); !errors.Is(err, syscall.ESRCH) {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", slapdPID))
			t.Errorf("slapd (pid %d, %q) still exists after the demo exited: %v", slapdPID, strings.TrimSpace(string(comm)), err)
		}
		for what, port := range map[string]string{"LDAP": ldapPort, "SCIM": scimPort, "metrics": metricsPort} {
			if !portRefuses(port) {
				t.Errorf("something still listens on the %s port %s", what, port)
			}
		}
		if errs := d.stderr.String(); !strings.Contains(errs, "directory stopped") {
			t.Errorf("no \"directory stopped\" in stderr:\n%s", tail(errs, 2000))
		}
	})

	t.Run("port in use", func(t *testing.T) {
		for _, name := range []string{"SCIMGATE_PORT", "SCIMGATE_LDAP_PORT", "SCIMGATE_METRICS_PORT"} {
			t.Run(name, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				_, busy, _ := net.SplitHostPort(ln.Addr().String())
				ports := demoPorts(t)
				ports[name] = busy
				runDir := t.TempDir()
				d := startDemo(t, bin, root, runDir, ports)
				if code := d.exitCode(t, 15*time.Second); code == 0 {
					t.Fatalf("exit 0 with port %s (%s) in use", busy, name)
				}
				msg := d.stderr.String()
				if !strings.Contains(msg, name+"=") || !strings.Contains(msg, busy) || !strings.Contains(msg, "in use") {
					t.Errorf("the message does not name %s and port %s:\n%s", name, busy, msg)
				}
				if _, err := os.Stat(filepath.Join(runDir, "tokens.env")); err == nil {
					t.Error("tokens.env written although the demo did not start")
				}
				// Nothing was left listening on the free ports.
				for k, p := range ports {
					if k != name && !portRefuses(p) {
						t.Errorf("%s port %s is in use after the failed start", k, p)
					}
				}
			})
		}
	})
}
