package acieval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCorpus runs every scenario of testdata/aci: a tree.ldif with its
// aci values, optional global.aci, and requests.jsonl whose lines carry the
// expected decision. The corpus was written from the specification, apart
// from the engine, so a disagreement is a bug in one of them.
func TestCorpus(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/aci/*")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			total += runScenario(t, dir)
		})
	}
	if total < 300 {
		t.Errorf("the corpus holds %d decisions; it must hold at least 300", total)
	}
	t.Logf("%d scenarios, %d decisions", len(dirs), total)
}

func runScenario(t *testing.T, dir string) int {
	tree, err := LoadTree(filepath.Join(dir, "tree.ldif"))
	if err != nil {
		t.Fatalf("tree.ldif: %v", err)
	}
	var globals []string
	if lines, err := ReadACILines(filepath.Join(dir, "global.aci")); err == nil {
		for _, l := range lines {
			globals = append(globals, l.Text)
		}
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	env, err := NewEnv(tree, globals)
	if err != nil {
		t.Fatalf("ACIs do not load: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for no := 1; sc.Scan(); no++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r, err := Decode(line)
		if err != nil {
			t.Fatalf("requests.jsonl:%d: %v", no, err)
		}
		if r.Expect != "allow" && r.Expect != "deny" {
			t.Fatalf("requests.jsonl:%d: expect must be allow or deny", no)
		}
		n++
		res := env.Eval(no, r)
		if res.Error != "" {
			t.Errorf("requests.jsonl:%d: %s", no, res.Error)
			continue
		}
		if res.Decision != r.Expect {
			exp, _ := json.MarshalIndent(res, "  ", "  ")
			t.Errorf("requests.jsonl:%d: %s, want %s (%s)\n  %s", no, res.Decision, r.Expect, r.Why, exp)
		}
	}
	return n
}
