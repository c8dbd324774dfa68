package ldapconn

import (
	"errors"

	"github.com/scimgate/scimgate/aci"
)

// GlobalACIErrors compiles the global ACIs of the configuration and returns
// their problems (Validate reports them; the ACI store refuses them).
func GlobalACIErrors(acis []string) []*aci.LoadError {
	b := aci.NewBuilder()
	b.AddGlobal(acis...)
	_, errs := b.Build()
	return errs
}

// ACIErrorMessages splits an ACI parse error list into its messages.
func ACIErrorMessages(err error) []string {
	var list aci.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}
