package acieval

import (
	"encoding/json"
	"testing"

	"github.com/scimgate/scimgate/aci"
)

// TestCorpus runs every scenario of testdata/aci: a tree.ldif with its
// aci values, optional global.aci, and requests.jsonl whose lines carry the
// expected decision. The corpus was written from the specification, apart
// from the engine, so a disagreement is a bug in one of them.
func TestCorpus(t *testing.T) {
	scenarios, err := LoadScenarios("../../testdata/aci")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			total += runScenario(t, sc)
		})
	}
	if total < 300 {
		t.Errorf("the corpus holds %d decisions; it must hold at least 300", total)
	}
	t.Logf("%d scenarios, %d decisions", len(scenarios), total)
}

func runScenario(t *testing.T, sc *Scenario) int {
	env := sc.Env
	n := 0
	for _, req := range sc.Requests {
		no, r := req.Line, req.Request
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

// corpusSubjects returns the subjects a scenario's requests use (as
// requests to read cn, to be re-aimed), and the attributes they name plus
// objectClass, cn and userPassword.
func corpusSubjects(sc *Scenario) ([]*aci.Request, map[string]bool) {
	var subjects []*aci.Request
	attrs := map[string]bool{"objectClass": true, "cn": true, "userPassword": true}
	for _, sr := range sc.Requests {
		r := *sr.Request
		if r.Attr != "" {
			attrs[r.Attr] = true
		}
		r.Right, r.Attr, r.Value, r.Entry, r.Op, r.Control, r.ExtOp = "read", "cn", nil, nil, "", "", ""
		req, err := sc.Env.Build(&r)
		if err != nil {
			continue
		}
		subjects = append(subjects, req)
	}
	return subjects, attrs
}
