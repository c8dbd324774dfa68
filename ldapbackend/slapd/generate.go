package slapd

import (
	"bufio"
	"fmt"
	"io"
)

// Word lists for generated users; chosen so that names, departments and titles repeat
// with different periods and filters on them select varied fractions of the users.
var (
	genGivenNames = []string{
		"Ada", "Alan", "Barbara", "Brian", "Claude", "Dennis", "Donald", "Edsger", "Frances",
		"Grace", "Hedy", "Ivan", "Joan", "John", "Katherine", "Ken", "Leslie", "Linus",
		"Margaret", "Niklaus", "Radia", "Robin", "Shafi", "Tim", "Whitfield",
	}
	genSurnames = []string{
		"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldwasser", "Hamilton",
		"Hopper", "Johnson", "Kahn", "Knuth", "Lamport", "Liskov", "Milner", "Perlman", "Ritchie",
		"Shannon", "Sutherland", "Thompson", "Turing", "Wirth",
	}
	genDepartments = []string{"Engineering", "Finance", "Legal", "Marketing", "Operations", "Sales", "Support"}
	genTitles      = []string{"Analyst", "Engineer", "Senior Engineer", "Manager", "Director", "Specialist"}
)

// GenerateUsersLDIF writes n user entries under ou=People,<suffix> as LDIF, for benchmarks
// and load tests. The output depends only on suffix and n. The entries are uid=user000001
// and so on (inetOrgPerson + scimResource + scimAccount, with cn, sn, givenName, mail,
// displayName, title, telephoneNumber, employeeNumber, departmentNumber, scimExternalId and
// scimAccountActive; every 10th is inactive; every user after the first of each block of 50
// has that first one as manager). ou=People itself is not written: seed it first, e.g. with
// testdata/demo/directory.ldif, then this output.
func GenerateUsersLDIF(w io.Writer, suffix string, n int) error {
	if n < 0 {
		return fmt.Errorf("slapd: GenerateUsersLDIF: negative count %d", n)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	base := "ou=People," + suffix
	for i := 1; i <= n; i++ {
		uid := userUID(i)
		given := genGivenNames[i%len(genGivenNames)]
		sn := genSurnames[(i/len(genGivenNames))%len(genSurnames)]
		active := "TRUE"
		if i%10 == 0 {
			active = "FALSE"
		}
		fmt.Fprintf(bw, "dn: uid=%s,%s\n", uid, base)
		bw.WriteString("objectClass: inetOrgPerson\nobjectClass: scimResource\nobjectClass: scimAccount\n")
		fmt.Fprintf(bw, "uid: %s\n", uid)
		fmt.Fprintf(bw, "cn: %s %s %d\n", given, sn, i)
		fmt.Fprintf(bw, "sn: %s\n", sn)
		fmt.Fprintf(bw, "givenName: %s\n", given)
		fmt.Fprintf(bw, "displayName: %s %s\n", given, sn)
		fmt.Fprintf(bw, "mail: %s@example.com\n", uid)
		fmt.Fprintf(bw, "title: %s\n", genTitles[i%len(genTitles)])
		fmt.Fprintf(bw, "telephoneNumber: +1 555 %03d %04d\n", (i/10000)%1000, i%10000)
		fmt.Fprintf(bw, "employeeNumber: %d\n", 100000+i)
		fmt.Fprintf(bw, "departmentNumber: %s\n", genDepartments[i%len(genDepartments)])
		fmt.Fprintf(bw, "scimExternalId: ext-%06d\n", i)
		fmt.Fprintf(bw, "scimAccountActive: %s\n", active)
		if lead := i - (i-1)%50; lead != i {
			fmt.Fprintf(bw, "manager: uid=%s,%s\n", userUID(lead), base)
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}

// userUID returns the uid of the i-th generated user (1-based).
func userUID(i int) string { return fmt.Sprintf("user%06d", i) }
