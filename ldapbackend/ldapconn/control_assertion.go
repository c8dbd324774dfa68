package ldapconn

import (
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// ControlTypeAssertion is the OID of the LDAP Assertion control (RFC 4528).
const ControlTypeAssertion = "1.3.6.1.1.12"

// NewAssertionControl returns a critical LDAP Assertion control (RFC 4528) for
// an RFC 4515 filter: the directory performs the operation only if the target
// entry matches the filter, and fails it with assertionFailed (122) otherwise,
// which MapError turns into 412. The backend uses it for If-Match, asserting
// the entryCSN the ETag was made from, so that concurrent writers never lose an
// update. Build the filter with escaped values (ldap.EscapeFilter).
func NewAssertionControl(filter string) (ldap.Control, error) {
	p, err := ldap.CompileFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("assertion control: %w", err)
	}
	return &assertionControl{
		ControlString: ldap.ControlString{ControlType: ControlTypeAssertion, Criticality: true, ControlValue: string(p.Bytes())},
		filter:        filter,
	}, nil
}

// assertionControl carries the BER-encoded filter as its value; it prints the
// filter rather than its encoding.
type assertionControl struct {
	ldap.ControlString
	filter string
}

func (c *assertionControl) String() string {
	return fmt.Sprintf("Control Type: Assertion (%q)  Criticality: true  Filter: %s", ControlTypeAssertion, c.filter)
}
