// Package acieval runs ACI access checks written as JSON lines against an
// LDIF tree: the engine behind `scimgate aci eval` and the ACI corpus.
package acieval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/aci/ldif"
)

// Request is one line of a requests file. The fields follow the contract
// of `scimgate aci eval` in DESIGN.md; Expect and Why are for corpora.
type Request struct {
	BindDN     string              `json:"bind_dn"`
	TargetDN   string              `json:"target_dn"`
	Right      string              `json:"right"`
	Attr       string              `json:"attr"`
	Value      *string             `json:"value,omitempty"`
	Op         string              `json:"op,omitempty"`    // add (default) or delete, for a write of a value
	Entry      map[string][]string `json:"entry,omitempty"` // the new entry, for add
	Scopes     json.RawMessage     `json:"scopes,omitempty"`
	IP         string              `json:"ip,omitempty"`
	DNS        string              `json:"dns,omitempty"`
	AuthMethod string              `json:"authmethod,omitempty"`
	Secure     bool                `json:"secure,omitempty"`
	Time       string              `json:"time,omitempty"`
	Control    string              `json:"control,omitempty"`
	ExtOp      string              `json:"extop,omitempty"`
	Expect     string              `json:"expect,omitempty"`
	Why        string              `json:"why,omitempty"`
}

// Result is one output line: the decision and its explanation, or the
// error that kept the request from being evaluated (then the decision is
// deny).
type Result struct {
	Line     int            `json:"line"`
	Decision string         `json:"decision"`
	Reason   string         `json:"reason,omitempty"`
	Error    string         `json:"error,omitempty"`
	ACIs     []aci.ACITrace `json:"acis,omitempty"`
}

// Env is what requests are evaluated against.
type Env struct {
	Set  *aci.Set
	Dir  aci.Directory
	Tree *ldif.Tree // for looking up target entries; may be nil
	Now  time.Time  // default clock
}

// Decode reads one request line strictly: unknown fields are an error.
func Decode(line []byte) (*Request, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("invalid request: %v", err)
	}
	return &r, nil
}

// Build turns a request line into an engine request.
func (env *Env) Build(r *Request) (*aci.Request, error) {
	subj := &aci.Subject{AuthMethod: r.AuthMethod, Secure: r.Secure, Host: r.DNS}
	if r.BindDN != "" {
		dn, err := ldapfilter.NormalizeDN(r.BindDN)
		if err != nil {
			return nil, fmt.Errorf("invalid bind_dn: %v", err)
		}
		subj.DN = dn
	}
	switch m := strings.ToLower(r.AuthMethod); {
	case m == "", m == "none", m == "simple", m == "ssl":
		subj.AuthMethod = m
	case strings.HasPrefix(m, "sasl "):
		subj.AuthMethod = "sasl " + strings.ToUpper(strings.TrimSpace(r.AuthMethod[5:]))
	default:
		return nil, fmt.Errorf("invalid authmethod %q", r.AuthMethod)
	}
	ip := r.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("invalid ip %q", r.IP)
	}
	subj.IP = a
	subj.Time = env.Now
	if r.Time != "" {
		t, err := time.Parse(time.RFC3339, r.Time)
		if err != nil {
			return nil, fmt.Errorf("invalid time %q: want RFC 3339", r.Time)
		}
		subj.Time = t
	}
	if len(r.Scopes) > 0 && string(r.Scopes) != "null" {
		if err := json.Unmarshal(r.Scopes, &subj.Scopes); err != nil {
			return nil, errors.New("scopes must be a list of strings")
		}
		subj.HasToken = true
	}
	right, ok := aci.ParseRight(r.Right)
	if !ok || right == aci.RightAll {
		return nil, fmt.Errorf("invalid right %q (read, search, compare, write, selfwrite, add, delete, import, export or proxy)", r.Right)
	}
	if r.Attr == "" && !right.IsEntryLevel() {
		return nil, fmt.Errorf("right %s needs an attribute", r.Right)
	}
	if r.Attr != "" && right&(aci.RightDelete|aci.RightProxy|aci.RightImport|aci.RightExport) != 0 {
		return nil, fmt.Errorf("right %s is checked on the entry: attr must be empty", r.Right)
	}
	target, err := ldapfilter.NormalizeDN(r.TargetDN)
	if err != nil {
		return nil, fmt.Errorf("invalid target_dn: %v", err)
	}
	req := &aci.Request{Subject: subj, TargetDN: target, Right: right, Attr: r.Attr, Control: r.Control, ExtOp: r.ExtOp}
	if r.Value != nil {
		req.Value, req.HasValue = *r.Value, true
	}
	switch strings.ToLower(r.Op) {
	case "", "add":
	case "delete":
		req.DeleteValue = true
	default:
		return nil, fmt.Errorf("invalid op %q (add or delete)", r.Op)
	}
	if r.Entry != nil {
		e, err := ldif.NewEntry(r.TargetDN, r.Entry)
		if err != nil {
			return nil, err
		}
		req.Entry = e
	} else if right == aci.RightAdd {
		return nil, errors.New("right add needs the new entry's attributes in \"entry\"")
	}
	return req, nil
}

// Eval evaluates one request and explains the decision.
func (env *Env) Eval(line int, r *Request) Result {
	req, err := env.Build(r)
	if err != nil {
		return Result{Line: line, Decision: "deny", Error: err.Error()}
	}
	_, exp := env.Set.Explain(req, env.Dir)
	return Result{Line: line, Decision: exp.Decision, Reason: exp.Reason, ACIs: exp.ACIs}
}
