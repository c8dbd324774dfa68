package ldapbackend

import (
	"context"
	"reflect"
	"slices"
	"strings"

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
		var folded []string
		for _, v := range vals {
			s, err := scimldap.FromSCIMValue(a, v)
			if err != nil {
				return nil, err
			}
			if a.Kind == scimldap.KindJSON {
				if slices.Contains(out, s) {
					continue // the same element twice is one value
				}
				// The directory compares these values ignoring case and
				// runs of spaces: two that differ only so are one to it.
				f := scimldap.FoldSpaceCase(s)
				if slices.Contains(folded, f) {
					return nil, resource.InvalidValue("two values of %s differ only in case or spacing, which the directory takes for one value", a.SCIM)
				}
				folded = append(folded, f)
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
// attribute besides a json one and the read_only ones: elements without
// a type land there, on writes and so on reads.
func (ts *typeState) firstMapping(a *scimldap.AttrMapping) bool {
	for _, x := range ts.m.Attrs {
		if x.URN == a.URN && x.Attr == a.Attr && x.Kind != scimldap.KindJSON && !x.ReadOnly {
			return x == a
		}
	}
	return false
}

// besideJSON reports whether a is a typed mapping of an attribute that
// also has a json mapping: a read reconciles it with the elements
// (readAttr.beside), and several elements may carry one value of a's LDAP
// attribute (two work addresses in one town), which the directory holds
// once (uniqueFold).
func (ts *typeState) besideJSON(a *scimldap.AttrMapping) bool {
	if a.Kind == scimldap.KindJSON || a.Kind == scimldap.KindReference {
		return false
	}
	for _, x := range ts.m.Attrs {
		if x.Kind == scimldap.KindJSON && !x.WriteOnly && strings.EqualFold(x.URN, a.URN) && x.Attr == a.Attr {
			return true
		}
	}
	return false
}

// uniqueFold keeps the first of values that the directory takes for one
// (scimldap.FoldSpaceCase): it refuses a value twice in one attribute.
func uniqueFold(values []string) []string {
	seen := make(map[string]bool, len(values))
	out := values[:0:0]
	for _, v := range values {
		if f := scimldap.FoldSpaceCase(v); !seen[f] {
			seen[f] = true
			out = append(out, v)
		}
	}
	return out
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

// Replace implements resource.Backend (PUT). Attributes the caller can see
// and left out are cleared; attributes it cannot see are left alone, so a
// client never erases what it was not allowed to read.
func (b *Backend) Replace(ctx context.Context, t *resource.Type, id string, attrs map[string]any, c resource.Conditions, p resource.Projection) (*resource.Resource, error) {
	return retryConflicts(ctx, c, func() (*resource.Resource, error) {
		return b.modify(ctx, t, id, c, p, func(old map[string]any) (map[string]any, error) { return attrs, nil })
	})
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
	guarded := true
	if len(cond.IfMatch) == 0 && len(cond.IfNoneMatch) == 0 && len(rc.set.EntryAttributes()) == 0 {
		// Value adds and deletes commute: concurrent membership changes
		// all apply without a version check; a value someone else added
		// or removed meanwhile is a conflict that retryConflicts reads
		// again. Only while no ACI reads the entry, though: the write
		// right may then rest on the entry's state (an owner, a
		// targetfilter; its absence as much as its presence), and the
		// version assertion binds the decision to the state it was made
		// on. A conflict is then worked out again (memberConflictRetries).
		assertion, guarded = nil, false
	}
	if err := b.patchMembers(rc, ts, le, e, add, del, assertion, guarded); err != nil {
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
// A json mapping's attribute is written whole, yet keeps what the caller
// could not read of it (jsonElements).
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
	if err := ts.m.Unclaimed(next); err != nil {
		return nil, err
	}
	mods := ldap.NewModifyRequest(le.DN, proxied(ctx, nil))
	newRDN := ""
	newNames := map[string]string{} // the naming values that change (uniqueNames)
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
		var jw jsonWrite
		if a.Kind == scimldap.KindJSON {
			if jw, err = b.jsonElements(rc, ts, le, e, a, old.Attrs, next, newS); err != nil {
				return nil, err
			}
			newS = jw.elems
		}
		newL, err := b.ldapFromSCIM(ctx, a, newS)
		if err != nil {
			return nil, err
		}
		if ts.besideJSON(a) {
			newL = uniqueFold(newL)
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
			if a.Kind == scimldap.KindJSON && scimldap.SameElements(newS, jw.settled) {
				// Changed only where the caller may write (mail): a read
				// shows the elements sent (scimldap.Reconcile).
				continue
			}
			return nil, resource.Forbidden("not allowed to change %s", a.SCIM)
		}
		if n := ts.uniqueName(a.LDAP); n != "" && len(newL) == 1 {
			newNames[n] = newL[0]
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
	rc.withAuxClasses(ts, le, e, mods)
	// Without the Assertion control, the write token guards the write.
	var token *tokenExchange
	if len(mods.Changes) > 0 || newRDN != "" && !strings.EqualFold(newRDN, le.GetAttributeValue(ts.m.RDNAttr)) {
		token = b.exchangeToken(le, mods)
	}
	// Everything is worked out and checked above; now the write. A rename
	// and a modify are two LDAP operations but one outcome: the rename goes
	// first (it carries the If-Match assertion), and when the modify that
	// follows fails, the rename is undone, so a refused request leaves the
	// entry as it was.
	dn := le.DN
	renamed := false
	if err := b.checkUnique(rc, ts, newNames, le.DN); err != nil {
		return nil, err
	}
	if newRDN != "" && !strings.EqualFold(newRDN, le.GetAttributeValue(ts.m.RDNAttr)) {
		rdn := ts.m.RDNAttr + "=" + ldap.EscapeDN(newRDN)
		if err := b.rename(ctx, le.DN, rdn, assertion); err != nil {
			if taken := b.takenMeanwhile(rc, ts, err, newNames, le.DN); taken != nil {
				return nil, taken
			}
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
			err = token.conflict(err)
			if renamed {
				if uerr := b.undoRename(ctx, dn, le.DN); uerr != nil {
					return nil, uerr
				}
			}
			if taken := b.takenMeanwhile(rc, ts, err, newNames, dn); taken != nil {
				return nil, taken
			}
			return nil, MapError(err, "modify")
		}
		if lost := b.lostName(rc, ts, newNames, dn); lost != nil {
			if !resource.IsUniqueness(lost) {
				return nil, lost
			}
			lost = b.unmodify(ctx, ts, dn, le, mods, lost)
			if renamed {
				if uerr := b.undoRename(ctx, dn, le.DN); uerr != nil {
					return nil, uerr
				}
			}
			return nil, lost
		}
	}
	return b.reread(rc, ts, dn, id, p)
}

// auxClasses are the auxiliary classes of scimgate's schema
// (testdata/schema): they allow attributes and require none, so adding
// one never makes an entry invalid.
var auxClasses = []string{"scimResource", "scimAccount"}

// withAuxClasses adds to mods, when it stores values, each of auxClasses
// that the mapping's object classes name and the entry lacks: an entry
// made by another tool (an inetOrgPerson alone) could not hold the
// attributes they allow (scimEmails, scimExternalId), and the directory
// would refuse the whole modify (objectClassViolation). It goes first,
// in the same modify. A caller who may not add the class to objectClass
// writes without it, as before; the directory refuses what then needs it.
func (rc *reqCtx) withAuxClasses(ts *typeState, le *ldap.Entry, e aci.Entry, mods *ldap.ModifyRequest) {
	stores := slices.ContainsFunc(mods.Changes, func(c ldap.Change) bool {
		return c.Operation != ldap.DeleteAttribute && len(c.Modification.Vals) > 0
	})
	if !stores {
		return
	}
	have := le.GetAttributeValues("objectClass")
	var add []string
	for _, c := range ts.m.ObjectClasses {
		if containsFold(auxClasses, c) && !containsFold(have, c) && !containsFold(add, c) {
			add = append(add, c)
		}
	}
	if len(add) == 0 || !rc.mayWriteValues(e, "objectClass", add, nil) {
		return
	}
	oc := ldap.Change{Operation: ldap.AddAttribute, Modification: ldap.PartialAttribute{Type: "objectClass", Vals: add}}
	mods.Changes = append([]ldap.Change{oc}, mods.Changes...)
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
