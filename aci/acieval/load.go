package acieval

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldif"
)

// LoadTree reads an LDIF file of content records into a tree.
func LoadTree(path string) (*ldif.Tree, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := ldif.Parse(f)
	if err != nil {
		return nil, err
	}
	return ldif.NewTree(recs)
}

// ReadACILines reads a file of ACIs, one a line; blank lines and lines
// starting with "#" are skipped, and an "aci:" prefix is dropped. Each ACI
// comes with its line number and the column where its text starts.
func ReadACILines(path string) ([]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	no := 0
	for sc.Scan() {
		no++
		text := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimLeft(text, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		col := len(text) - len(trimmed) + 1
		if len(trimmed) >= 4 && strings.EqualFold(trimmed[:4], "aci:") {
			rest := trimmed[4:]
			col += 4 + len(rest) - len(strings.TrimLeft(rest, " "))
			trimmed = strings.TrimLeft(rest, " ")
		}
		out = append(out, Line{No: no, Col: col, Text: trimmed})
	}
	return out, sc.Err()
}

// Line is one ACI read from a file.
type Line struct {
	No, Col int
	Text    string
}

// NewEnv compiles the tree's ACIs and the global ones. Any ACI that fails
// to load is returned as an error: an evaluation over a partial set could
// allow what the full set denies.
func NewEnv(tree *ldif.Tree, globals []string) (*Env, error) {
	b := aci.NewBuilder()
	b.AddGlobal(globals...)
	tree.ACIs(b)
	set, errs := b.Build()
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, errors.New(strings.Join(msgs, "\n"))
	}
	return &Env{Set: set, Dir: tree, Tree: tree, Now: time.Now()}, nil
}

// Scenario is one directory of an ACI corpus: its tree with the ACIs it
// holds and the global ones, loaded into an Env, and its requests in order.
type Scenario struct {
	Name     string
	Env      *Env
	Requests []ScenarioRequest
}

// ScenarioRequest is one line of a scenario's requests.jsonl.
type ScenarioRequest struct {
	Line int
	*Request
}

// LoadScenarios loads every scenario directory under root (tree.ldif, an
// optional global.aci, requests.jsonl), in name order.
func LoadScenarios(root string) ([]*Scenario, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "*"))
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		s, err := LoadScenario(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// LoadScenario loads one scenario directory.
func LoadScenario(dir string) (*Scenario, error) {
	tree, err := LoadTree(filepath.Join(dir, "tree.ldif"))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	var globals []string
	if lines, err := ReadACILines(filepath.Join(dir, "global.aci")); err == nil {
		for _, l := range lines {
			globals = append(globals, l.Text)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	env, err := NewEnv(tree, globals)
	if err != nil {
		return nil, fmt.Errorf("%s: ACIs do not load: %v", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "requests.jsonl"))
	if err != nil {
		return nil, err
	}
	s := &Scenario{Name: filepath.Base(dir), Env: env}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for no := 1; sc.Scan(); no++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r, err := Decode(line)
		if err != nil {
			return nil, fmt.Errorf("%s/requests.jsonl:%d: %v", dir, no, err)
		}
		s.Requests = append(s.Requests, ScenarioRequest{Line: no, Request: r})
	}
	return s, sc.Err()
}
