package slapd

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseLDIF(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []ldifRecord // compared without end offsets
		err  string
	}{
		{
			name: "content with folding, base64, comments and CRLF",
			src:  "version: 1\r\n\r\n# comment\r\ndn: cn=a,dc=x\r\nobjectClass: top\r\ncn:: w6k=\r\ndescription: long\r\n  line\r\n#  folded\r\n  comment\r\n\r\n",
			want: []ldifRecord{{line: 4, dn: "cn=a,dc=x", attrs: []ldifAttr{{"objectClass", "top"}, {"cn", "é"}, {"description", "long line"}}}},
		},
		{
			name: "version line directly before the first record",
			src:  "version: 1\ndn: cn=a\ncn: a\n",
			want: []ldifRecord{{line: 2, dn: "cn=a", attrs: []ldifAttr{{"cn", "a"}}}},
		},
		{
			name: "change records",
			src: "dn: cn=a\nchangetype: modify\nadd: member\nmember: cn=b\nmember: cn=c\n-\nreplace: description\n-\ndelete: mail\nmail: x\n-\nincrement: n\nn: 2\n\n" +
				"dn: cn=b\nchangetype: delete\n\n" +
				"dn: cn=c\nchangetype: modrdn\nnewrdn: cn=d\ndeleteoldrdn: 1\nnewsuperior: ou=y\n\n" +
				"dn: cn=e\nchangetype: add\ncn: e\n\n" +
				"dn: cn=f\nchangetype: modify\nreplace: cn\ncn: f\n",
			want: []ldifRecord{
				{line: 1, dn: "cn=a", changeType: "modify", mods: []ldifMod{
					{"add", "member", []string{"cn=b", "cn=c"}}, {"replace", "description", nil},
					{"delete", "mail", []string{"x"}}, {"increment", "n", []string{"2"}},
				}},
				{line: 15, dn: "cn=b", changeType: "delete"},
				{line: 18, dn: "cn=c", changeType: "modrdn", newRDN: "cn=d", deleteOld: true, newSup: "ou=y", hasNewSup: true},
				{line: 24, dn: "cn=e", changeType: "add", attrs: []ldifAttr{{"cn", "e"}}},
				{line: 28, dn: "cn=f", changeType: "modify", mods: []ldifMod{{"replace", "cn", []string{"f"}}}},
			},
		},
		{name: "no dn", src: "cn: a\n", err: `src:1: record starts with "cn", want dn`},
		{name: "no colon", src: "dn: cn=a\n\ndn: cn=b\ncn b\n", err: `src:4: missing ':' in "cn b"`},
		{name: "bad base64", src: "dn: cn=a\ncn:: !!\n", err: `src:2: attribute "cn": bad base64`},
		{name: "url", src: "dn: cn=a\njpegPhoto:< file:///x\n", err: "URL values are not supported"},
		{name: "control", src: "dn: cn=a\ncontrol: 1.2.3\nchangetype: delete\n", err: "controls are not supported"},
		{name: "unknown changetype", src: "dn: cn=a\nchangetype: frob\n", err: `unknown changetype "frob"`},
		{name: "mixed modification", src: "dn: cn=a\nchangetype: modify\nadd: cn\nsn: x\n", err: `src:4: attribute "sn" inside a modification of "cn"`},
		{name: "empty entry", src: "dn: cn=a\n", err: `entry "cn=a" has no attributes`},
		{name: "modrdn without newrdn", src: "dn: cn=a\nchangetype: modrdn\ndeleteoldrdn: 1\n", err: "without newrdn"},
		{name: "version", src: "version: 2\n\ndn: cn=a\ncn: a\n", err: `unsupported LDIF version "2"`},
		{
			name: "every error is reported",
			src:  "dn: cn=a\ncn a\n\ndn: cn=b\nsn b\n",
			err:  "src:2: missing ':' in \"cn a\"\nsrc:5: missing ':' in \"sn b\"",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := parseLDIF("src", []byte(c.src))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				recs[i].end = 0
			}
			if !reflect.DeepEqual(recs, c.want) {
				t.Errorf("got  %+v\nwant %+v", recs, c.want)
			}
		})
	}
}

func TestWithMemberOf(t *testing.T) {
	users := "dn: uid=a,ou=P,dc=x\nobjectClass: person\ncn: a\nsn: a\n\n" +
		"# b already lists one group, differently spelled\n" +
		"dn: uid=b,ou=P,dc=x\ncn: b\nmemberOf: CN=G1, ou=G,dc=x\n\n" +
		"dn: uid=c,ou=P,dc=x\ncn: c" // no final newline
	grps := "dn: cn=g1,ou=G,dc=x\nobjectClass: groupOfNames\nmember: uid=a,ou=P,dc=x\nmember: UID=B,ou=P,dc=x\nmember: uid=c,ou=P,dc=x\n\n" +
		"dn: cn=ü,ou=G,dc=x\nobjectClass: GROUPOFNAMES\nmember: uid=b,ou=P,dc=x\nmember: cn=g1,ou=G,dc=x\n\n" +
		"dn: cn=u,ou=G,dc=x\nobjectClass: groupOfUniqueNames\nuniqueMember: uid=a,ou=P,dc=x\n"
	var seeds []seedFile
	for i, src := range []string{users, grps} {
		recs, err := parseLDIF(fmt.Sprint(i), []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, seedFile{src: []byte(src), recs: recs})
	}
	seeds = append(seeds, seedFile{src: []byte("dn: cn=z\ncn: z\n"), recs: []ldifRecord{{dn: "cn=z", attrs: []ldifAttr{{"cn", "z"}}}}})
	got := withMemberOf(seeds)
	if got[2] != nil {
		t.Errorf("a seed without members was rewritten: %q", got[2])
	}
	wantUsers := "dn: uid=a,ou=P,dc=x\nobjectClass: person\ncn: a\nsn: a\nmemberOf: cn=g1,ou=G,dc=x\n\n" +
		"# b already lists one group, differently spelled\n" +
		"dn: uid=b,ou=P,dc=x\ncn: b\nmemberOf: CN=G1, ou=G,dc=x\nmemberOf:: Y249w7wsb3U9RyxkYz14\n\n" +
		"dn: uid=c,ou=P,dc=x\ncn: c\nmemberOf: cn=g1,ou=G,dc=x\n"
	if string(got[0]) != wantUsers {
		t.Errorf("users:\n%s\nwant:\n%s", got[0], wantUsers)
	}
	wantGroups := strings.Replace(grps, "member: uid=c,ou=P,dc=x\n\n", "member: uid=c,ou=P,dc=x\nmemberOf:: Y249w7wsb3U9RyxkYz14\n\n", 1)
	if string(got[1]) != wantGroups {
		t.Errorf("groups:\n%s\nwant:\n%s", got[1], wantGroups)
	}
}

func TestDNKey(t *testing.T) {
	for _, c := range [][2]string{
		{"uid=A, ou=People,DC=example,dc=com", "UID=a,ou=people,dc=EXAMPLE,dc=com"},
		{"cn=a+sn=b,dc=x", "SN=B+cn=A,dc=x"},
		{`cn=a\2cb,dc=x`, `cn=a\,b,dc=x`},
	} {
		if dnKey(c[0]) != dnKey(c[1]) {
			t.Errorf("dnKey(%q) = %q != dnKey(%q) = %q", c[0], dnKey(c[0]), c[1], dnKey(c[1]))
		}
	}
	if dnKey("cn=a,dc=x") == dnKey("cn=b,dc=x") {
		t.Error("different DNs share a key")
	}
}

func TestGenerateUsersLDIF(t *testing.T) {
	var a, b bytes.Buffer
	if err := GenerateUsersLDIF(&a, "dc=example,dc=com", 1000); err != nil {
		t.Fatal(err)
	}
	if err := GenerateUsersLDIF(&b, "dc=example,dc=com", 1000); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("output is not deterministic")
	}
	recs, err := parseLDIF("gen", a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1000 || recs[999].dn != "uid=user001000,ou=People,dc=example,dc=com" {
		t.Fatalf("%d records, last %q", len(recs), recs[len(recs)-1].dn)
	}
	uids := map[string]bool{}
	for _, r := range recs {
		uids[r.values("uid")[0]] = true
	}
	if len(uids) != 1000 {
		t.Errorf("%d distinct uids", len(uids))
	}
	var empty bytes.Buffer
	if err := GenerateUsersLDIF(&empty, "dc=x", 0); err != nil || empty.Len() != 0 {
		t.Errorf("n=0: %q, %v", empty.String(), err)
	}
	if err := GenerateUsersLDIF(&empty, "dc=x", -1); err == nil {
		t.Error("n=-1 accepted")
	}
	// The first entry, in full, pins the format that benchmarks rely on.
	first := a.String()[:strings.Index(a.String(), "\n\n")+2]
	const want = `dn: uid=user000001,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: scimResource
objectClass: scimAccount
uid: user000001
cn: Alan Allen 1
sn: Allen
givenName: Alan
displayName: Alan Allen
mail: user000001@example.com
title: Engineer
telephoneNumber: +1 555 000 0001
employeeNumber: 100001
departmentNumber: Finance
scimExternalId: ext-000001
scimAccountActive: TRUE

`
	if first != want {
		t.Errorf("first entry:\n%s\nwant:\n%s", first, want)
	}
}

func TestRenderConf(t *testing.T) {
	o, err := Options{SchemaDir: "/s", AdminPassword: `p"w\d`}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	conf := renderConf(o, "/w")
	for _, want := range []string{
		`include "/etc/ldap/schema/core.schema"`,
		`include "/s/scimgate.schema"`,
		`rootpw "p\"w\\d"`,
		`directory "/w/data"`,
		"maxsize 1073741824",
		"sizelimit unlimited",
		"index entryUUID,entryCSN eq",
		"index memberOf eq",
		"index aci pres",
		"sssvlv-maxperconn 64",
		"access to *\n\tby dn.exact=\"cn=scimgate,ou=Services,dc=example,dc=com\" write\n\tby users read",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q", want)
		}
	}
	// Overlay order: syncprov lowest (first), ppolicy above the others, sssvlv on top (last).
	order := []string{"overlay syncprov", "overlay memberof", "overlay refint", "overlay ppolicy", "overlay sssvlv"}
	last := -1
	for _, ov := range order {
		i := strings.Index(conf, ov)
		if i < last {
			t.Errorf("%q out of order", ov)
		}
		if i < 0 {
			t.Errorf("%q missing", ov)
		}
		last = i
	}
	if strings.Contains(conf, "accesslog") {
		t.Error("accesslog configured by default")
	}
}

// TestDemoLDIFShape guards the demo file's shape that other packages' tests count on.
func TestDemoLDIFShape(t *testing.T) {
	src, err := os.ReadFile(demoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseLDIF(demoLDIF, src)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	acis := 0
	for _, r := range recs {
		for _, oc := range []string{"inetOrgPerson", "groupOfNames", "scimSyncProfile", "scimConnector", "applicationProcess"} {
			if r.hasObjectClass(oc) {
				count[oc]++
			}
		}
		if len(r.values("aci")) > 0 && !r.hasObjectClass("aciHolder") {
			t.Errorf("%s carries aci without aciHolder", r.dn)
		}
		acis += len(r.values("aci"))
	}
	want := map[string]int{"inetOrgPerson": 40, "groupOfNames": 6, "scimSyncProfile": 1, "scimConnector": 1, "applicationProcess": 1}
	if !reflect.DeepEqual(count, want) || acis != 12 {
		t.Errorf("counts %v, %d ACIs; want %v, 12", count, acis, want)
	}
}
