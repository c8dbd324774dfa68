package acieval

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// TestUniformAgreesWithEvaluate checks Set.Uniform against entry-by-entry
// evaluation over the whole corpus: for every scenario, every subject its
// requests use, every entry of its tree as the base, and the read, search
// and write rights on a few attributes, whenever Uniform answers, every
// entry at or below the base must get that answer from Evaluate. Uniform
// lets a listing skip per-entry checks, so a wrong answer would show or
// hide entries; the test also makes sure it does answer in many cases.
func TestUniformAgreesWithEvaluate(t *testing.T) {
	scenarios, err := LoadScenarios("../../testdata/aci")
	if err != nil {
		t.Fatal(err)
	}
	var answered, declined int
	for _, sc := range scenarios {
		subjects, attrs := corpusSubjects(sc)
		a, d := checkUniform(t, sc.Name, sc.Env, subjects, attrs)
		answered, declined = answered+a, declined+d
	}
	t.Logf("Uniform answered %d times and declined %d times", answered, declined)
	if answered < 1000 || declined < 1000 {
		t.Errorf("the test is too weak: Uniform answered %d and declined %d times", answered, declined)
	}
}

// checkUniform compares Uniform with Evaluate for every subject, base,
// right (read, search, write) and attribute, and counts how often Uniform
// answered and declined.
func checkUniform(t *testing.T, name string, env *Env, subjects []*aci.Request, attrs map[string]bool) (answered, declined int) {
	t.Helper()
	dns := env.Tree.DNs()
	for _, subj := range subjects {
		for _, base := range dns {
			for _, right := range []aci.Right{aci.RightRead, aci.RightSearch, aci.RightWrite} {
				for attr := range attrs {
					req := *subj
					req.Right, req.Attr = right, attr
					d, ok := env.Set.Uniform(&req, base, env.Dir)
					want := d.Allowed
					if !ok {
						declined++
						continue
					}
					answered++
					for _, dn := range dns {
						if dn != base && !ldapfilter.IsDescendant(dn, base) {
							continue
						}
						e, _ := env.Dir.Entry(dn)
						one := *subj
						one.Right, one.Attr, one.TargetDN, one.Entry = right, attr, dn, e
						if got := env.Set.Evaluate(&one, env.Dir).Allowed; got != want {
							t.Errorf("%s: subject %q scopes %v, %s %s: Uniform(base %q) = %v, but Evaluate(%q) = %v",
								name, subj.Subject.DN, subj.Subject.Scopes, right, attr, base, want, dn, got)
						}
					}
				}
			}
		}
	}
	return answered, declined
}

// TestUniformGenerated runs the same comparison over generated ACIs: one
// allow or deny ACI at each level of a small tree, with every targetscope,
// with and without a target and a targetfilter, and with bind rules that do
// and do not look at the target.
func TestUniformGenerated(t *testing.T) {
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
manager: uid=b,uid=a,ou=p,dc=ex

dn: uid=b,uid=a,ou=p,dc=ex
objectClass: inetOrgPerson
uid: b
cn: b
sn: b

dn: uid=c,ou=p,dc=ex
objectClass: inetOrgPerson
uid: c
cn: c
sn: c
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
	for _, dn := range []string{"", "uid=a,ou=p,dc=ex", "uid=b,uid=a,ou=p,dc=ex", "ou=p,dc=ex"} {
		subjects = append(subjects, &aci.Request{Subject: &aci.Subject{DN: dn, AuthMethod: "simple", HasToken: true, Scopes: []string{"scim:read"}}})
	}
	attrs := map[string]bool{"objectClass": true, "cn": true}
	var answered, declined int
	for _, at := range []string{"", "dc=ex", "ou=p,dc=ex", "uid=a,ou=p,dc=ex"} {
		for _, scope := range []string{"", `(targetscope="base")`, `(targetscope="onelevel")`, `(targetscope="subtree")`, `(targetscope="subordinate")`} {
			for _, extra := range []string{"", `(target="ldap:///uid=a,ou=p,dc=ex")`, `(targetfilter="(uid=c)")`, `(targetcontrol="1.2.3")`} {
				for _, targetattr := range []string{`(targetattr="*")`, `(targetattr="cn")`, `(targetattr!="cn")`} {
					for _, bind := range []string{`userdn="ldap:///anyone"`, `userdn="ldap:///self"`, `userdn="ldap:///parent"`,
						`userattr="manager#USERDN"`, `oauthscope="scim:read"`, `userdn="ldap:///uid=a,ou=p,dc=ex"`, `not userdn="ldap:///self"`} {
						for _, kind := range []string{"allow", "deny"} {
							text := scope + extra + targetattr + `(version 3.0; acl "gen"; ` + kind + ` (read,search,write) ` + bind + `;)`
							b := aci.NewBuilder()
							// A broad grant, so that denies have something to take away.
							b.AddGlobal(`(targetattr="*")(version 3.0; acl "base"; allow (read,search) userdn="ldap:///all";)`)
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
							a, d := checkUniform(t, at+" "+text, env, subjects, attrs)
							answered, declined = answered+a, declined+d
						}
					}
				}
			}
		}
	}
	t.Logf("Uniform answered %d times and declined %d times", answered, declined)
	if answered < 1000 || declined < 1000 {
		t.Errorf("the test is too weak: Uniform answered %d and declined %d times", answered, declined)
	}
}

// TestUniformAnswersForTargetFreeBindRules: every bind rule that looks only
// at the subject and the connection keeps Uniform answering.
func TestUniformAnswersForTargetFreeBindRules(t *testing.T) {
	for _, bind := range []string{
		`userdn="ldap:///anyone"`, `userdn="ldap:///all"`, `userdn="ldap:///uid=a,ou=p,dc=ex"`,
		`userdn="ldap:///ou=p,dc=ex??sub?(uid=a)"`, `groupdn="ldap:///cn=g,dc=ex"`, `oauthscope="scim:read"`,
		`ip="127.0.0.1"`, `dns="*.example.com"`, `authmethod="simple"`, `secure="true"`,
		`timeofday>="0000"`, `dayofweek="sun,mon,tue,wed,thu,fri,sat"`,
		`(ip="127.0.0.1" and not authmethod="none") or oauthscope="scim:*"`,
	} {
		b := aci.NewBuilder()
		b.Add("ou=p,dc=ex", `(targetattr="*")(version 3.0; acl "t"; allow (read) `+bind+`;)`)
		set, errs := b.Build()
		if len(errs) > 0 {
			t.Fatalf("%s: %v", bind, errs)
		}
		req := &aci.Request{Subject: &aci.Subject{DN: "uid=a,ou=p,dc=ex"}, Right: aci.RightRead, Attr: "cn"}
		if _, ok := set.Uniform(req, "ou=p,dc=ex", nil); !ok {
			t.Errorf("%s: Uniform declined", bind)
		}
	}
}
