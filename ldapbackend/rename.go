package ldapbackend

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/scim/resource"
)

// rename gives the entry dn the new RDN rdn (escaped), the old RDN's values
// removed, under the If-Match assertion when there is one.
func (b *Backend) rename(ctx context.Context, dn, rdn string, assertion ldap.Control) error {
	mdn := &ldap.ModifyDNRequest{DN: dn, NewRDN: rdn, DeleteOldRDN: true, Controls: withControl(proxied(ctx, nil), assertion)}
	return b.do(ctx, "modrdn", func(ctx context.Context) error { return b.opt.Conn.ModifyDN(ctx, mdn) })
}

// versionAfterRename reads the version of the entry just renamed to dn,
// as the service account (the version is no secret, and the caller's own
// view under proxied authorization may lack it), and returns the
// assertion of it.
func (b *Backend) versionAfterRename(ctx context.Context, dn string) (ldap.Control, error) {
	res, err := b.searchRaw(ctx, entryRequest(dn, []string{b.opt.VersionAttr}))
	if err != nil {
		return nil, MapError(err, "read after rename")
	}
	if len(res.Entries) == 0 {
		// Renamed or deleted by someone else at once: a conflict.
		return nil, MapError(ldap.NewError(ldap.LDAPResultAssertionFailed, errors.New("the renamed entry changed before its modify")), "read after rename")
	}
	ctl, err := b.versionAssertion(res.Entries[0])
	if err != nil {
		return nil, resource.Internal(err)
	}
	return ctl, nil
}

// undoRename gives the entry now at dn its old DN back, after the write
// that was to follow its rename failed. It runs even when the request's
// deadline has passed (the write may have failed for that), under a
// deadline of its own. If it fails too, the entry keeps its new name: the
// log says so, loudly, with both DNs, and the error returned says so to
// the client, instead of the failed write's error, which would suggest
// that nothing changed. It is 503, not 500: the entry is valid and the
// request may be sent again (it then finds the new name and makes the
// rest of the change), which is what a provisioning client does with a
// 503.
func (b *Backend) undoRename(ctx context.Context, dn, oldDN string) error {
	ctx, cancel := undoContext(ctx)
	defer cancel()
	err := errors.New("the old DN has no RDN")
	if rdn := firstRDN(oldDN); rdn != "" {
		err = b.rename(ctx, dn, rdn, nil)
	}
	if err == nil {
		return nil
	}
	b.opt.Log.Error().Err(err).Str("entry", dn).Str("old_dn", oldDN).
		Msg("a modify failed after its rename, and the rename could not be undone: the entry keeps its new name")
	return resource.Unavailable(err, "the resource was renamed, but the rest of the change failed and the rename could not be undone: it keeps its new name (%s); send the request again", dn)
}

// firstRDN is the first RDN of dn as a string fit for a ModifyDN request
// (values escaped); "" when dn does not parse.
func firstRDN(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return ""
	}
	parts := make([]string, len(d.RDNs[0].Attributes))
	for i, a := range d.RDNs[0].Attributes {
		parts[i] = a.Type + "=" + ldap.EscapeDN(a.Value)
	}
	return strings.Join(parts, "+")
}

// parentOf is the DN of dn's parent as the directory spelled it ("" for a
// DN of one RDN or one that does not parse).
func parentOf(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	return (&ldap.DN{RDNs: d.RDNs[1:]}).String()
}

// undoContext bounds an operation that takes back a write the request
// made: it goes on when the request's context ends (the client left),
// for a few seconds at most.
func undoContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
