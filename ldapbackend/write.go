package ldapbackend

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// ldapFromSCIM converts the SCIM values of one mapping to LDAP values;
// references become DNs, and an unknown id is 400 invalidValue.
func (b *Backend) ldapFromSCIM(ctx context.Context, a *scimldap.AttrMapping, vals []any) ([]string, error) {
	if a.Kind != scimldap.KindReference {
		out := make([]string, 0, len(vals))
		for _, v := range vals {
			s, err := scimldap.FromSCIMValue(a, v)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	var ids []string
	for _, v := range vals {
		id, ok := v.(string)
		if !ok {
			return nil, resource.InvalidValue("%s must hold resource ids", a.SCIM)
		}
		ids = append(ids, id)
	}
	dns, err := b.DNsForIDs(ctx, a.RefTypes, ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		dn, ok := dns[id]
		if !ok {
			return nil, resource.InvalidValue("%s: no %s with id %q", a.SCIM, strings.Join(a.RefTypes, " or "), id)
		}
		out = append(out, dn)
	}
	return out, nil
}

// firstMapping reports whether a is the first mapping of its SCIM
// attribute: elements without a type land there.
func (ts *typeState) firstMapping(a *scimldap.AttrMapping) bool {
	for _, x := range ts.m.Attrs {
		if x.URN == a.URN && x.Attr == a.Attr {
			return x == a
		}
	}
	return false
}

// Create implements resource.Backend.
func (b *Backend) Create(ctx context.Context, t *resource.Type, attrs map[string]any, p resource.Projection) (*resource.Resource, error) {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer rc.flush()
	ctx = rc.ctx
	vals := map[string][]string{}
	for _, a := range ts.m.Attrs {
		if a.ReadOnly {
			continue
		}
		sv, _ := scimldap.SCIMValues(attrs, a, ts.firstMapping(a))
		if len(sv) == 0 {
			continue
		}
		lv, err := b.ldapFromSCIM(ctx, a, sv)
		if err != nil {
			return nil, err
		}
		if len(lv) > 0 {
			vals[a.LDAP] = append(vals[a.LDAP], lv...)
		}
	}
	for _, attr := range slices.Sorted(maps.Keys(ts.m.CreateDefaults)) {
		if len(vals[attr]) > 0 {
			continue
		}
		for _, path := range ts.m.CreateDefaults[attr] {
			if src := ts.mappingFor(path); src != nil && len(vals[src.LDAP]) > 0 {
				vals[attr] = []string{vals[src.LDAP][0]}
				break
			}
		}
	}
	rdn := vals[ts.m.RDNAttr]
	if len(rdn) != 1 || strings.TrimSpace(rdn[0]) == "" {
		return nil, resource.InvalidValue("%s needs exactly one value for %s", ts.t.Name, ts.rdnSCIM())
	}
	for _, a := range ts.m.Attrs {
		if a.Kind == scimldap.KindReference && ts.m.EmptyMember != "" && a.LDAP == "member" && len(vals[a.LDAP]) == 0 {
			vals[a.LDAP] = []string{ts.m.EmptyMember}
		}
	}
	dn := ts.m.RDNAttr + "=" + ldap.EscapeDN(rdn[0]) + "," + ts.m.BaseDN
	ndn, err := ldapfilter.NormalizeDN(dn)
	if err != nil {
		return nil, resource.InvalidValue("%s is not usable in a DN", ts.rdnSCIM())
	}
	newAttrs := map[string][]string{"objectClass": ts.m.ObjectClasses}
	for k, v := range vals {
		newAttrs[k] = v
	}
	entry := mapEntry{dn: ndn, vals: lowerKeys(newAttrs)}
	if !rc.ask(aci.Request{TargetDN: ndn, Entry: entry, Right: aci.RightAdd}) {
		return nil, resource.Forbidden("not allowed to create this %s", ts.t.Name)
	}
	anyOK, allOK := false, true
	for _, attr := range slices.Sorted(maps.Keys(newAttrs)) {
		if rc.ask(aci.Request{TargetDN: ndn, Entry: entry, Right: aci.RightAdd, Attr: attr}) {
			anyOK = true
		} else {
			allOK = false
			if !b.opt.AddAnyAttribute {
				return nil, resource.Forbidden("not allowed to create a %s with %s", ts.t.Name, ts.scimName(attr))
			}
		}
	}
	if !anyOK || !allOK && !b.opt.AddAnyAttribute {
		return nil, resource.Forbidden("not allowed to create this %s", ts.t.Name)
	}
	// Only a caller allowed to create learns whether the name is taken.
	if err := b.checkUnique(rc, ts, rdn[0], ""); err != nil {
		return b.retriedCreate(rc, ts, dn, newAttrs, p, err)
	}
	add := ldap.NewAddRequest(dn, proxied(ctx, nil))
	for _, attr := range slices.Sorted(maps.Keys(newAttrs)) {
		add.Attribute(attr, newAttrs[attr])
	}
	if err := b.do(ctx, "add", func(ctx context.Context) error { return b.opt.Conn.Add(ctx, add) }); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return b.retriedCreate(rc, ts, dn, newAttrs, p, MapError(err, "create"))
		}
		return nil, MapError(err, "create")
	}
	fp := rc.plan(ts, p)
	le, err := b.fetchDN(ctx, dn, fp.attrs)
	if err != nil {
		return nil, err
	}
	if le == nil {
		return nil, resource.Internal(errors.New("created entry vanished"))
	}
	return b.toResourceOf(rc, ts, le, fp.entry(le), p)
}

// retriedCreate answers a create whose name is taken: 409 uniqueness, as
// Okta's and Entra's tests require even for an identical POST. A client
// that retries a POST after a timeout (the first may have been applied
// when the directory resumed) sends the same externalId: when the entry at
// dn is one the caller may see and carries that externalId, the detail
// says so and gives the entry's id, so the client finds it rather than a
// bare conflict.
func (b *Backend) retriedCreate(rc *reqCtx, ts *typeState, dn string, newAttrs map[string][]string, p resource.Projection, conflict error) (*resource.Resource, error) {
	ext := ts.mappingFor("externalId")
	if ext == nil {
		return nil, conflict
	}
	want := newAttrs[ext.LDAP]
	if len(want) != 1 || want[0] == "" {
		return nil, conflict
	}
	fp := rc.plan(ts, p)
	le, err := b.fetchDN(rc.ctx, dn, fp.attrs)
	if err != nil || le == nil {
		return nil, conflict
	}
	e := fp.entry(le)
	if !rc.visible(e) || !rc.canRead(e, aci.CanonicalAttr(ext.LDAP)) || le.GetAttributeValue(ext.LDAP) != want[0] {
		return nil, conflict
	}
	return nil, resource.Uniqueness("a %s with this %s already exists, with the externalId sent: id %q (a create retried after it was applied?)",
		ts.t.Name, ts.rdnSCIM(), le.GetAttributeValue(ts.m.IDAttr))
}

// defaultFor derives a value for an LDAP attribute from CreateDefaults,
// reading the SCIM values of attrs; "" when there is none.
func (b *Backend) defaultFor(ctx context.Context, ts *typeState, ldapAttr string, attrs map[string]any) (string, error) {
	for _, path := range ts.m.CreateDefaults[ldapAttr] {
		src := ts.mappingFor(path)
		if src == nil || strings.EqualFold(src.LDAP, ldapAttr) {
			continue // the attribute's own mapping is what came out empty
		}
		sv, _ := scimldap.SCIMValues(attrs, src, ts.firstMapping(src))
		if len(sv) == 0 {
			continue
		}
		lv, err := b.ldapFromSCIM(ctx, src, sv[:1])
		if err != nil {
			return "", err
		}
		if len(lv) > 0 && lv[0] != "" {
			return lv[0], nil
		}
	}
	return "", nil
}

// mappingFor finds the mapping of a SCIM path (as written in config).
func (ts *typeState) mappingFor(path string) *scimldap.AttrMapping {
	for _, a := range ts.m.Attrs {
		if strings.EqualFold(a.SCIM, path) {
			return a
		}
	}
	return nil
}

func (ts *typeState) rdnSCIM() string { return ts.scimName(ts.m.RDNAttr) }

// scimName names an LDAP attribute by its SCIM path, for messages.
func (ts *typeState) scimName(ldapAttr string) string {
	for _, a := range ts.m.Attrs {
		if strings.EqualFold(a.LDAP, ldapAttr) {
			return a.SCIM
		}
	}
	return ldapAttr
}

// checkUnique refuses a second resource with the same naming value
// (userName, group displayName): 409 uniqueness.
func (b *Backend) checkUnique(rc *reqCtx, ts *typeState, value, selfDN string) error {
	f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.filter, &ldapfilter.Equality{Attr: ts.m.RDNAttr, Value: value}}}
	req := ts.searchRequest(f.String(), 2, []string{"1.1"}, nil)
	res, err := b.search(rc.ctx, req, "uniqueness check")
	if err != nil {
		return err
	}
	for _, e := range res.Entries {
		if selfDN == "" || !strings.EqualFold(e.DN, selfDN) {
			return resource.Uniqueness("a %s with %s %q already exists", ts.t.Name, ts.rdnSCIM(), value)
		}
	}
	return nil
}

// Replace implements resource.Backend (PUT). Attributes the caller can see
// and left out are cleared; attributes it cannot see are left alone, so a
// client never erases what it was not allowed to read.
func (b *Backend) Replace(ctx context.Context, t *resource.Type, id string, attrs map[string]any, c resource.Conditions, p resource.Projection) (*resource.Resource, error) {
	return retryConflicts(ctx, c, func() (*resource.Resource, error) {
		return b.modify(ctx, t, id, c, p, func(old map[string]any) (map[string]any, error) { return attrs, nil })
	})
}

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

// Patch implements resource.Backend. A PATCH that only adds or removes
// group members takes a short path that never resolves the whole member
// list.
func (b *Backend) Patch(ctx context.Context, t *resource.Type, id string, ops []resource.PatchOp, c resource.Conditions, p resource.Projection) (*resource.Resource, error) {
	if ts, err := b.state(t); err == nil {
		if add, del, ok := memberOps(ts, ops); ok {
			return retryConflictsN(ctx, c, memberConflictRetries, func() (*resource.Resource, error) {
				return b.patchMembersByID(ctx, ts, id, add, del, c, p)
			})
		}
	}
	touched := resource.TouchedAttributes(ops, t)
	return retryConflicts(ctx, c, func() (*resource.Resource, error) {
		return b.modify(ctx, t, id, c, p, func(old map[string]any) (map[string]any, error) { return resource.ApplyPatch(old, ops, t) }, touched...)
	})
}

func (b *Backend) patchMembersByID(ctx context.Context, ts *typeState, id string, add, del []string, cond resource.Conditions, p resource.Projection) (*resource.Resource, error) {
	rc, err := b.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.flush()
	le, e, assertion, err := b.writable(rc, ts, id, cond, []string{"members"})
	if err != nil {
		return nil, err
	}
	if len(cond.IfMatch) == 0 && len(cond.IfNoneMatch) == 0 && len(rc.set.EntryAttributes()) == 0 {
		// Value adds and deletes commute: concurrent membership changes
		// all apply without a version check; a value someone else added
		// or removed meanwhile is a conflict that retryConflicts reads
		// again. Only while no ACI reads the entry, though: the write
		// right may then rest on the entry's state (an owner, a
		// targetfilter; its absence as much as its presence), and the
		// version assertion binds the decision to the state it was made
		// on. A conflict is then worked out again (memberConflictRetries).
		assertion = nil
	}
	if err := b.patchMembers(rc, ts, le, e, add, del, assertion); err != nil {
		return nil, err
	}
	return b.reread(rc, ts, le.DN, id, p)
}

// writable reads the entry of id as the caller sees it (404 otherwise) and
// checks what every modification checks first: the preconditions, and the
// write right on the touched attributes. It returns the entry and the
// assertion control that makes the write fail if the entry changes in
// between (nil where the directory has none).
func (b *Backend) writable(rc *reqCtx, ts *typeState, id string, cond resource.Conditions, touched []string) (*ldap.Entry, aci.Entry, ldap.Control, error) {
	le, e, err := b.fetchVisible(rc, ts, id, rc.plan(ts, resource.Projection{}))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkPreconditions(cond, b.version(le)); err != nil {
		return nil, nil, nil, err
	}
	if err := rc.mayWriteAll(ts, e, touched); err != nil {
		return nil, nil, nil, err
	}
	assertion, err := b.versionAssertion(le)
	if err != nil {
		return nil, nil, nil, resource.Internal(err)
	}
	return le, e, assertion, nil
}

// reread returns the resource as the caller may see it after a write.
func (b *Backend) reread(rc *reqCtx, ts *typeState, dn, id string, p resource.Projection) (*resource.Resource, error) {
	fp := rc.plan(ts, p)
	fresh, err := b.fetchDN(rc.ctx, dn, fp.attrs)
	if err != nil {
		return nil, err
	}
	if fresh == nil {
		return nil, resource.NotFound("%s %q not found", ts.t.Name, id)
	}
	return b.toResourceOf(rc, ts, fresh, fp.entry(fresh), p)
}

// modify reads the resource as the caller sees it, lets change compute the
// new attributes, and writes the difference as one LDAP modify (plus a
// rename when the naming attribute changes), after checking the write
// right on every value added or removed.
//
// touched names the attributes a PATCH operates on: the caller needs write
// on each even when the operation changes no value, so a caller without
// the right learns nothing from a no-op.
func (b *Backend) modify(ctx context.Context, t *resource.Type, id string, cond resource.Conditions, p resource.Projection, change func(map[string]any) (map[string]any, error), touched ...string) (*resource.Resource, error) {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer rc.flush()
	ctx = rc.ctx
	le, e, assertion, err := b.writable(rc, ts, id, cond, touched)
	if err != nil {
		return nil, err
	}
	old, err := b.toResourceOf(rc, ts, le, e, resource.Projection{})
	if err != nil {
		return nil, err
	}
	next, err := change(cloneMap(old.Attrs))
	if err != nil {
		return nil, err
	}
	mods := ldap.NewModifyRequest(le.DN, proxied(ctx, nil))
	newRDN := ""
	for _, a := range ts.m.Attrs {
		if a.ReadOnly {
			continue
		}
		first := ts.firstMapping(a)
		oldS, _ := scimldap.SCIMValues(old.Attrs, a, first)
		newS, present := scimldap.SCIMValues(next, a, first)
		if a.WriteOnly && !present {
			continue
		}
		if !a.WriteOnly && reflect.DeepEqual(oldS, newS) {
			continue
		}
		newL, err := b.ldapFromSCIM(ctx, a, newS)
		if err != nil {
			return nil, err
		}
		if len(newL) == 0 {
			// A required attribute with a default (cn, sn) is derived again
			// rather than cleared.
			if d, err := b.defaultFor(ctx, ts, a.LDAP, next); err != nil {
				return nil, err
			} else if d != "" {
				newL = []string{d}
			}
		}
		oldL := le.GetAttributeValues(a.LDAP)
		if a.WriteOnly {
			oldL = nil // never read; replaced as a whole
		}
		add, del := diffValues(oldL, newL, a.Kind == scimldap.KindReference)
		if a.Kind == scimldap.KindReference && ts.m.EmptyMember != "" && strings.EqualFold(a.LDAP, "member") {
			add, del = keepPlaceholder(oldL, add, del, ts.m.EmptyMember)
		}
		if len(add) == 0 && len(del) == 0 && !a.WriteOnly {
			continue
		}
		if !rc.mayWriteValues(e, a.LDAP, add, del) {
			return nil, resource.Forbidden("not allowed to change %s", a.SCIM)
		}
		if strings.EqualFold(a.LDAP, ts.m.RDNAttr) {
			if len(newL) != 1 || strings.TrimSpace(newL[0]) == "" {
				return nil, resource.InvalidValue("%s needs exactly one value", a.SCIM)
			}
			newRDN = newL[0]
			continue
		}
		switch {
		case a.WriteOnly || a.Kind != scimldap.KindReference && len(newL) > 0:
			mods.Replace(a.LDAP, newL)
		case len(newL) == 0 && a.Kind != scimldap.KindReference:
			mods.Delete(a.LDAP, nil)
		default:
			if len(del) > 0 {
				mods.Delete(a.LDAP, del)
			}
			if len(add) > 0 {
				mods.Add(a.LDAP, add)
			}
		}
	}
	// Everything is worked out and checked above; now the write. A rename
	// and a modify are two LDAP operations but one outcome: the rename goes
	// first (it carries the If-Match assertion), and when the modify that
	// follows fails, the rename is undone, so a refused request leaves the
	// entry as it was.
	dn := le.DN
	renamed := false
	if newRDN != "" && !strings.EqualFold(newRDN, le.GetAttributeValue(ts.m.RDNAttr)) {
		if err := b.checkUnique(rc, ts, newRDN, le.DN); err != nil {
			return nil, err
		}
		rdn := ts.m.RDNAttr + "=" + ldap.EscapeDN(newRDN)
		if err := b.rename(ctx, le.DN, rdn, assertion); err != nil {
			return nil, MapError(err, "rename")
		}
		dn, renamed = rdn+","+parentOf(le.DN), true
		if assertion != nil && len(mods.Changes) > 0 {
			// The rename changed the version: the modify asserts the one
			// it left, so that the rest of the change still rests on the
			// state it was decided on. (The Post-Read control would return
			// it with the rename, but the connection's ModifyDN returns no
			// response controls; the window is one search wide.)
			if assertion, err = b.versionAfterRename(rc.ctx, dn); err != nil {
				if uerr := b.undoRename(ctx, dn, le.DN); uerr != nil {
					return nil, uerr
				}
				return nil, err
			}
		}
	}
	if len(mods.Changes) > 0 {
		mods.DN = dn
		mods.Controls = withControl(mods.Controls, assertion)
		if err := b.do(ctx, "modify", func(ctx context.Context) error { return b.opt.Conn.Modify(ctx, mods) }); err != nil {
			if renamed {
				if uerr := b.undoRename(ctx, dn, le.DN); uerr != nil {
					return nil, uerr
				}
			}
			return nil, MapError(err, "modify")
		}
	}
	return b.reread(rc, ts, dn, id, p)
}

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
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
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

// mayWriteValues reports whether the subject may delete each of del from
// attr of the entry and add each of add (selfwrite counts for its own DN).
func (rc *reqCtx) mayWriteValues(e aci.Entry, attr string, add, del []string) bool {
	for _, v := range del {
		if !rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightWrite, Attr: attr, Value: v, HasValue: true, DeleteValue: true}) {
			return false
		}
	}
	for _, v := range add {
		if !rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightWrite, Attr: attr, Value: v, HasValue: true}) {
			return false
		}
	}
	return true
}

// mayWriteAll requires, for each touched SCIM attribute, the write right
// on at least one LDAP attribute behind it (phoneNumbers maps to several;
// a value-filtered path changes one). The values that really change are
// each checked later; this refuses a caller who may write none of them
// even when the PATCH would change nothing. An attribute whose every
// mapping is read-only (read_only in the configuration) is 400
// mutability, as ApplyPatch answers for one the schema makes read-only.
func (rc *reqCtx) mayWriteAll(ts *typeState, e aci.Entry, touched []string) error {
	for _, name := range touched {
		mapped, readOnly, ok := false, false, false
		for _, a := range ts.m.Attrs {
			if !strings.EqualFold(topPath(a), name) {
				continue
			}
			if a.ReadOnly {
				readOnly = true
				continue
			}
			mapped = true
			if rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightWrite, Attr: a.LDAP}) ||
				a.Kind == scimldap.KindReference && rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightSelfWrite, Attr: a.LDAP}) {
				ok = true // selfwrite may add or remove the caller's own DN
				break
			}
		}
		if readOnly && !mapped {
			return resource.Mutability("%s is read-only", name)
		}
		if mapped && !ok {
			return resource.Forbidden("not allowed to change %s", name)
		}
	}
	return nil
}

// Delete implements resource.Backend.
func (b *Backend) Delete(ctx context.Context, t *resource.Type, id string, cond resource.Conditions) error {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return err
	}
	defer rc.flush()
	ctx = rc.ctx
	le, e, err := b.fetchVisible(rc, ts, id, rc.plan(ts, resource.Projection{}))
	if err != nil {
		return err
	}
	if !rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightDelete}) {
		return resource.Forbidden("not allowed to delete this %s", ts.t.Name)
	}
	if err := checkPreconditions(cond, b.version(le)); err != nil {
		return err
	}
	del := ldap.NewDelRequest(le.DN, proxied(ctx, nil))
	if len(cond.IfMatch) > 0 {
		ctl, err := b.versionAssertion(le)
		if err != nil {
			return resource.Internal(err)
		}
		del.Controls = withControl(del.Controls, ctl)
	}
	if err := b.do(ctx, "delete", func(ctx context.Context) error { return b.opt.Conn.Del(ctx, del) }); err != nil {
		return MapError(err, "delete")
	}
	return nil
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

// diffValues returns the values to add and delete; DN values compare
// normalized.
func diffValues(oldL, newL []string, dn bool) (add, del []string) {
	key := func(v string) string {
		if dn {
			if n, err := ldapfilter.NormalizeDN(v); err == nil {
				return n
			}
		}
		return v
	}
	oldSet := map[string]bool{}
	for _, v := range oldL {
		oldSet[key(v)] = true
	}
	newSet := map[string]bool{}
	for _, v := range newL {
		k := key(v)
		if !newSet[k] && !oldSet[k] {
			add = append(add, v)
		}
		newSet[k] = true
	}
	for _, v := range oldL {
		if !newSet[key(v)] {
			del = append(del, v)
		}
	}
	return add, del
}

// keepPlaceholder keeps a group valid for classes that require a member:
// the placeholder goes when a real member arrives and comes back when the
// last one leaves.
func keepPlaceholder(oldL, add, del []string, placeholder string) ([]string, []string) {
	hasPH := false
	real := 0
	for _, v := range oldL {
		if strings.EqualFold(v, placeholder) {
			hasPH = true
		} else {
			real++
		}
	}
	var d2 []string
	for _, v := range del {
		if !strings.EqualFold(v, placeholder) {
			d2 = append(d2, v)
		}
	}
	remaining := real - len(d2) + len(add)
	switch {
	case remaining > 0 && hasPH:
		d2 = append(d2, placeholder)
	case remaining == 0 && !hasPH:
		add = append(add, placeholder)
	}
	return add, d2
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneValue(x)
		}
		return out
	}
	return v
}

// mapEntry is an entry under construction, for ACI checks on add.
type mapEntry struct {
	dn   string
	vals map[string][]string
}

func (m mapEntry) DN() string                  { return m.dn }
func (m mapEntry) Values(attr string) []string { return m.vals[aci.CanonicalAttr(attr)] }

func lowerKeys(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		c := aci.CanonicalAttr(k)
		out[c] = append(out[c], v...)
	}
	return out
}
