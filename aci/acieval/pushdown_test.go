package acieval

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// checkPushdown compares, for every subject, base entry, right and
// attribute, the filter Set.Pushdown gives (matched in memory) with
// Evaluate on every entry at or below the base: not one entry may differ
// either way. It returns how many filters were compared and how many
// requests were declined.
func checkPushdown(t *testing.T, name string, env *Env, subjects []*aci.Request, attrs map[string]bool, opt aci.PushdownOptions) (pushed, declined int) {
	t.Helper()
	dns := env.Tree.DNs()
	for _, subj := range subjects {
		for _, base := range dns {
			for _, right := range []aci.Right{aci.RightRead, aci.RightSearch} {
				for attr := range attrs {
					req := *subj
					req.Right, req.Attr = right, attr
					f, np := env.Set.Pushdown(&req, base, env.Dir, opt)
					if np != nil {
						declined++
						continue
					}
					pushed++
					cf := ldapfilter.Compile(f)
					for _, dn := range dns {
						if dn != base && !ldapfilter.IsDescendant(dn, base) {
							continue
						}
						e, _ := env.Dir.Entry(dn)
						one := *subj
						// A subject of its own: the engine caches lookups in it.
						s := *subj.Subject
						one.Subject = &s
						one.Right, one.Attr, one.TargetDN, one.Entry = right, attr, dn, e
						want := env.Set.Evaluate(&one, env.Dir).Allowed
						if got := cf.Match(e) == ldapfilter.True; got != want {
							t.Errorf("%s: subject %q scopes %v, %s %s under %q: filter %s matches %q: %v, Evaluate: %v",
								name, subj.Subject.DN, subj.Subject.Scopes, right, attr, base, f, dn, got, want)
						}
					}
				}
			}
		}
	}
	return pushed, declined
}

// TestPushdownAgreesOnCorpus: over the whole ACI corpus, for every subject
// its requests use and every entry as the base, the pushed-down filter
// selects exactly the entries Evaluate allows.
func TestPushdownAgreesOnCorpus(t *testing.T) {
	scenarios, err := LoadScenarios("../../testdata/aci")
	if err != nil {
		t.Fatal(err)
	}
	var pushed, declined int
	for _, sc := range scenarios {
		subjects, attrs := corpusSubjects(sc)
		delete(attrs, "userPassword")
		p, d := checkPushdown(t, sc.Name, sc.Env, subjects, attrs, aci.PushdownOptions{DNMatching: true})
		pushed, declined = pushed+p, declined+d
	}
	t.Logf("Pushdown answered %d times and declined %d times", pushed, declined)
	if pushed < 5000 {
		t.Errorf("the test is too weak: Pushdown answered only %d times (declined %d)", pushed, declined)
	}
}

// TestPushdownGenerated: the same over generated ACIs that tell entries
// apart in every way pushdown handles (targetfilter, targetscope, target,
// userattr, self, parent, ACIs below the base) and some it declines, at
// every level of a small tree, alone and with a broad grant.
func TestPushdownGenerated(t *testing.T) {
	const tree = `dn: dc=ex
objectClass: domain
dc: ex

dn: ou=p,dc=ex
objectClass: organizationalUnit
ou: p

dn: uid=a,ou=p,dc=ex
objectClass: inetOrgPerson
uid: a
cn: a
sn: a
employeeType: staff
manager: uid=b,uid=a,ou=p,dc=ex
seeAlso: cn=g,ou=p,dc=ex

dn: uid=b,uid=a,ou=p,dc=ex
objectClass: inetOrgPerson
uid: b
cn: b
sn: b
employeeType: contractor
seeAlso: uid=a,ou=p,dc=ex

dn: uid=c,ou=p,dc=ex
objectClass: inetOrgPerson
uid: c
cn: c
sn: c
title: Senior  Engineer

dn: cn=g,ou=p,dc=ex
objectClass: groupOfNames
cn: g
member: uid=c,ou=p,dc=ex
`
	path := filepath.Join(t.TempDir(), "tree.ldif")
	if err := os.WriteFile(path, []byte(tree), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, err := LoadTree(path)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []*aci.Request
	for _, dn := range []string{"", "uid=a,ou=p,dc=ex", "uid=b,uid=a,ou=p,dc=ex", "uid=c,ou=p,dc=ex", "ou=p,dc=ex"} {
		for _, scopes := range [][]string{nil, {"scim:read"}} {
			subjects = append(subjects, &aci.Request{Subject: &aci.Subject{DN: dn, AuthMethod: "simple", HasToken: scopes != nil, Scopes: scopes}})
		}
	}
	attrs := map[string]bool{"objectClass": true, "title": true}
	var pushed, declined, n int
	for _, at := range []string{"", "dc=ex", "ou=p,dc=ex", "uid=a,ou=p,dc=ex"} {
		for _, scope := range []string{"", `(targetscope="base")`, `(targetscope="onelevel")`, `(targetscope="subordinate")`} {
			for _, extra := range []string{"", `(target="ldap:///uid=a,ou=p,dc=ex")`, `(target!="ldap:///uid=a,ou=p,dc=ex")`,
				`(targetfilter="(employeeType=contractor)")`, `(targetfilter!="(|(uid=c)(title=senior engineer))")`,
				`(targetfilter="(&(objectClass=inetOrgPerson)(!(employeeType=*)))")`, `(target="ldap:///uid=*,ou=p,dc=ex")`} {
				for _, targetattr := range []string{`(targetattr="*")`, `(targetattr!="cn")`} {
					for _, bind := range []string{`userdn="ldap:///anyone"`, `userdn="ldap:///self"`, `userdn="ldap:///parent"`,
						`userattr="manager#USERDN"`, `userattr="seeAlso#GROUPDN"`, `oauthscope="scim:read"`, `not userdn="ldap:///self"`,
						`userdn="ldap:///self" or oauthscope="scim:read"`, `userattr="parent[1].manager#USERDN"`,
						`groupdn="ldap:///cn=g,ou=p,dc=ex"`, `not oauthscope="scim:read"`,
						`not (userdn="ldap:///self" and oauthscope="scim:read")`, `userattr="manager#USERDN" and not oauthscope="scim:read"`,
						`not (userattr="seeAlso#GROUPDN" or oauthscope!="scim:read")`} {
						for _, kind := range []string{"allow", "deny"} {
							text := scope + extra + targetattr + `(version 3.0; acl "gen"; ` + kind + ` (read,search) ` + bind + `;)`
							for _, broad := range []bool{false, true} {
								if n++; n%raceStride != 0 {
									continue
								}
								b := aci.NewBuilder()
								if broad {
									b.AddGlobal(`(targetattr="*")(version 3.0; acl "base"; allow (read,search) userdn="ldap:///all";)`)
								}
								if at == "" {
									b.AddGlobal(text)
								} else {
									b.Add(at, text)
								}
								set, errs := b.Build()
								if len(errs) > 0 {
									t.Fatalf("%s: %v", text, errs)
								}
								env := &Env{Set: set, Dir: parsed, Tree: parsed}
								p, d := checkPushdown(t, at+" "+text, env, subjects, attrs, aci.PushdownOptions{DNMatching: true})
								pushed, declined = pushed+p, declined+d
							}
						}
					}
				}
			}
		}
	}
	t.Logf("Pushdown answered %d times and declined %d times", pushed, declined)
	if pushed < 300000/raceStride || declined == 0 {
		t.Errorf("the test is too weak: Pushdown answered %d and declined %d times", pushed, declined)
	}
}
