package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line int
	text string
}

// readmeShellBlocks returns the README's ```sh blocks in order.
func readmeShellBlocks(t *testing.T, root string) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	var cur *readmeBlock
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```sh"):
			cur = &readmeBlock{line: i + 1}
		case cur != nil && strings.HasPrefix(l, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	return out
}

// TestReadmeExamples runs the README's shell examples against a running
// `make run` (the demo binary, on free ports), from a directory laid out
// as the repository root is, and checks what each prints. A new example
// without an expectation here fails, so the README cannot drift from the
// code unnoticed. The blocks that are `make` commands themselves are what
// CI and TestDemo run.
func TestReadmeExamples(t *testing.T) {
	root := moduleRoot(t)
	work := t.TempDir()
	// The repository as the examples see it: everything but bin/ and .run/.
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "bin" && n != ".run" && n != ".git" {
			if err := os.Symlink(filepath.Join(root, n), filepath.Join(work, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	bin := buildScimgate(t, root, filepath.Join(work, "bin"))
	if filepath.Base(bin) != "scimgate" {
		t.Fatalf("built %s", bin)
	}
	runDir := filepath.Join(work, ".run")
	d := startDemo(t, bin, root, runDir, demoPorts(t))
	d.waitTokens(t, filepath.Join(runDir, "tokens.env"), 30*time.Second)

	// What each example prints, by its first line.
	expect := map[string][]string{
		". .run/tokens.env": {`"userName":"alice"`, `"displayName":"engineering"`, `"totalResults":0`},
		"go build -o bin/scimgate ./cmd/scimgate": {
			"lint.aci:", "warning:", `"decision":"allow"`, `"line":2`,
		},
		". .run/tokens.env    # written by make run: LDAP_URL, LDAP_BASE, LDAP_ADMIN_DN, LDAP_ADMIN_PASSWORD": {
			`"decision":"deny"`, `"reason":"no ACI allowed"`,
		},
	}
	ran := 0
	for _, b := range readmeShellBlocks(t, root) {
		first := strings.SplitN(b.text, "\n", 2)[0]
		if strings.HasPrefix(first, "make ") {
			continue
		}
		want, ok := expect[strings.TrimSpace(first)]
		if !ok {
			t.Errorf("README.md:%d: a shell example with no expectation in TestReadmeExamples: %q", b.line, first)
			continue
		}
		ran++
		cmd := exec.Command("bash", "-c", b.text)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+filepath.Join(work, "bin")+":"+os.Getenv("PATH"))
		out, _ := cmd.CombinedOutput() // aci lint exits 1 on the errors it is shown finding
		t.Logf("README.md:%d: %d bytes of output", b.line, len(out))
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("README.md:%d: the example's output lacks %q:\n%s", b.line, w, tail(string(out), 3000))
			}
		}
		for _, bad := range []string{`"status":"4`, `"status":"5`, "command not found", "No such file", "go: "} {
			if strings.Contains(string(out), bad) {
				t.Errorf("README.md:%d: the example's output holds %q:\n%s", b.line, bad, tail(string(out), 3000))
			}
		}
	}
	if ran != len(expect) {
		t.Errorf("ran %d README examples, expected %d", ran, len(expect))
	}
}
