package ldapbackend

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/acieval"
	"github.com/scimgate/scimgate/aci/ldif"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
)

// asPlanned is the entry the directory returns for a search that follows
// fp: the full entry's values of the planned attributes only.
func asPlanned(fp *fetchPlan, full aci.Entry) aci.Entry {
	le := &ldap.Entry{DN: full.DN()}
	for _, a := range fp.attrs {
		if v := full.Values(a); len(v) > 0 {
			le.Attributes = append(le.Attributes, &ldap.EntryAttribute{Name: a, Values: v})
		}
	}
	return fp.entry(le)
}

// samePlannedDecision evaluates req on the full target entry and on the
// entry as a fetch plan with the least rendering needs reads it: the two
// decisions must agree, and the planned one must never be incomplete.
func samePlannedDecision(t *testing.T, name string, set *aci.Set, dir aci.Directory, req *aci.Request, full aci.Entry) {
	t.Helper()
	attrs := planAttrs(set, []string{"objectClass"})
	fp := &fetchPlan{set: set, attrs: attrs, read: acisource.NewReadSet(attrs)}
	want := *req
	want.Entry = full
	got := *req
	got.Entry = asPlanned(fp, full)
	dw := set.Evaluate(&want, dir)
	dg := set.Evaluate(&got, dir)
	if dg.Incomplete != "" || dg.Allowed != dw.Allowed {
		t.Errorf("%s: %s %s on %s: planned entry %v (incomplete %q), full entry %v",
			name, req.Right, req.Attr, req.TargetDN, dg.Allowed, dg.Incomplete, dw.Allowed)
	}
}

// TestFetchPlanAgreesOnCorpus: over every request of the ACI corpus, the
// decision the backend reaches on an entry read as its fetch plan says
// equals the engine's decision on the full entry.
func TestFetchPlanAgreesOnCorpus(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/aci/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		tree, err := acieval.LoadTree(filepath.Join(dir, "tree.ldif"))
		if err != nil {
			t.Fatal(err)
		}
		var globals []string
		if lines, err := acieval.ReadACILines(filepath.Join(dir, "global.aci")); err == nil {
			for _, l := range lines {
				globals = append(globals, l.Text)
			}
		}
		env, err := acieval.NewEnv(tree, globals)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "requests.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			r, err := acieval.Decode(line)
			if err != nil {
				t.Fatal(err)
			}
			req, err := env.Build(r)
			if err != nil || req.Entry != nil {
				continue // a request the corpus expects to fail, or an add (the new entry is whole)
			}
			full, err := tree.Entry(req.TargetDN)
			if err != nil || full == nil {
				continue
			}
			samePlannedDecision(t, filepath.Base(dir), env.Set, env.Dir, req, full)
			n++
		}
	}
	if n < 400 {
		t.Fatalf("only %d corpus requests compared", n)
	}
	t.Logf("%d corpus requests compared", n)
}

// TestFetchPlanAgreesOnGeneratedACIs: the same over generated ACI sets
// whose targetfilter, targattrfilters and userattr rules read attributes
// no SCIM mapping would fetch, for several callers and rights.
func TestFetchPlanAgreesOnGeneratedACIs(t *testing.T) {
	const src = `dn: dc=ex
objectClass: domain
dc: ex

dn: ou=p,dc=ex
objectClass: organizationalUnit
ou: p
businessCategory: cn=g,ou=p,dc=ex

dn: cn=g,ou=p,dc=ex
objectClass: groupOfNames
cn: g
member: uid=a,ou=p,dc=ex

dn: uid=a,ou=p,dc=ex
objectClass: inetOrgPerson
uid: a
cn: a
sn: a
employeeType: staff
departmentNumber: 7

dn: uid=b,ou=p,dc=ex
objectClass: inetOrgPerson
uid: b
cn: b
sn: b
employeeType: contractor
seeAlso: uid=a,ou=p,dc=ex
manager: uid=a,ou=p,dc=ex
title: junior

dn: uid=c,ou=p,dc=ex
objectClass: inetOrgPerson
uid: c
cn: c
sn: c
seeAlso: cn=g,ou=p,dc=ex
departmentNumber: 9
title: senior
`
	recs, err := ldif.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ldif.NewTree(recs)
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"(targetfilter=\"(employeeType=contractor)\")", "(targetfilter=\"(!(employeeType=staff))\")",
		"(targetfilter=\"(departmentNumber>=8)\")", "(targetfilter=\"(|(seeAlso=*)(title=jun*))\")", ""}
	binds := []string{`userattr="seeAlso#USERDN"`, `userattr="seeAlso#GROUPDN"`, `userattr="manager#USERDN"`,
		`userattr="parent[0,1].businessCategory#GROUPDN"`, `userattr="employeeType#staff"`, `oauthscope="s"`, `userdn="ldap:///all"`}
	attrs := []string{`(targetattr="*")`, `(targetattr="title || cn")`, `(targattrfilters="add=title:(title=sen*)")`}
	subjects := []string{"uid=a,ou=p,dc=ex", "uid=b,ou=p,dc=ex", "uid=c,ou=p,dc=ex", "cn=svc,dc=ex"}
	asks := []struct {
		right aci.Right
		attr  string
	}{{aci.RightRead, "objectclass"}, {aci.RightSearch, "cn"}, {aci.RightWrite, "title"}, {aci.RightDelete, ""}, {aci.RightCompare, "title"}}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	n := 0
	for i := 0; i < 300; i++ {
		b := aci.NewBuilder()
		b.AddGlobal(`(targetattr="*")(version 3.0; acl "base"; allow (read,search,compare) userdn="ldap:///all";)`)
		var texts []string
		for k := 0; k < 1+rng.IntN(3); k++ {
			kind := "allow"
			if rng.IntN(2) == 0 {
				kind = "deny"
			}
			text := pick(targets) + pick(attrs) + fmt.Sprintf(`(version 3.0; acl "g%d"; %s (read,search,compare,write,delete) %s;)`, k, kind, pick(binds))
			texts = append(texts, text)
			b.Add("ou=p,dc=ex", text)
		}
		set, errs := b.Build()
		if len(errs) > 0 {
			t.Fatalf("%v: %v", texts, errs)
		}
		for _, s := range subjects {
			for _, target := range []string{"uid=a,ou=p,dc=ex", "uid=b,ou=p,dc=ex", "uid=c,ou=p,dc=ex"} {
				full, err := tree.Entry(target)
				if err != nil || full == nil {
					t.Fatal(target, err)
				}
				for _, a := range asks {
					req := &aci.Request{Subject: &aci.Subject{DN: s, HasToken: true, Scopes: []string{"s"}}, TargetDN: target, Right: a.right, Attr: a.attr}
					if a.right == aci.RightWrite {
						req.Value, req.HasValue = "senior", true
					}
					samePlannedDecision(t, strings.Join(texts, " "), set, tree, req, full)
					n++
				}
			}
		}
	}
	t.Logf("%d generated requests compared", n)
}
