package ldapbackend

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/scim/resource"
)

// conflictRetries is how many times a write without a precondition is
// worked out again when another writer changed the entry in between;
// memberConflictRetries the same for a membership PATCH, which many
// clients send to one group at once (Okta and Entra push memberships in
// parallel) and which asserts the version when the ACIs read the entry.
const (
	conflictRetries       = 8
	memberConflictRetries = 32
)

// retryConflicts runs a read-modify-write that asserts the version it read.
// When the client sent a precondition, a concurrent change answers 412 as
// it should. When it sent none, the change is not the client's business: a
// 412 answers only a precondition the client sent (Okta and Entra never
// retry one), so the write is read and worked out again, after a short
// random pause, until it applies. An entry that keeps changing faster than
// that is 503, never 412.
func retryConflicts(ctx context.Context, c resource.Conditions, write func() (*resource.Resource, error)) (*resource.Resource, error) {
	return retryConflictsN(ctx, c, conflictRetries, write)
}

// retryConflictsN is retryConflicts working a write out again at most
// retries times.
func retryConflictsN(ctx context.Context, c resource.Conditions, retries int, write func() (*resource.Resource, error)) (*resource.Resource, error) {
	if len(c.IfMatch) > 0 || len(c.IfNoneMatch) > 0 {
		return write()
	}
	for i := 0; ; i++ {
		r, err := write()
		if err == nil || !isConflict(err) {
			return r, err
		}
		if i == retries {
			return nil, resource.Unavailable(err, "the resource kept changing while it was being written; try again")
		}
		pause := time.Duration(1+rand.IntN(1<<min(i, 5))) * time.Millisecond
		select {
		case <-ctx.Done():
			return nil, resource.Unavailable(ctx.Err(), "the resource kept changing while it was being written; try again")
		case <-time.After(pause):
		}
	}
}

// isConflict reports whether a write failed because the entry changed
// after it was read: the version assertion failed, or a value worked out
// from the read was added or removed by someone else meanwhile.
func isConflict(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && (le.ResultCode == ldap.LDAPResultAssertionFailed ||
		le.ResultCode == ldap.LDAPResultAttributeOrValueExists || le.ResultCode == ldap.LDAPResultNoSuchAttribute)
}

// checkPreconditions applies If-Match and If-None-Match to the entry's
// current version.
func checkPreconditions(c resource.Conditions, version string) error {
	if len(c.IfMatch) > 0 && !etagIn(c.IfMatch, version) {
		return resource.PreconditionFailed("the resource changed: its version is not the one in If-Match")
	}
	if len(c.IfNoneMatch) > 0 && etagIn(c.IfNoneMatch, version) {
		return resource.PreconditionFailed("the resource matches If-None-Match")
	}
	return nil
}

func etagIn(list []string, version string) bool {
	for _, v := range list {
		if v == "*" || v == version {
			return true
		}
	}
	return false
}
