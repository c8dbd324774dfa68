package ldapbackend

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// memberOps recognises a PATCH that only adds or removes members by id
// (Okta's and Entra's membership pushes): add members [{value}], remove
// members [{value}] (Entra's legacy form), remove members[value eq "x"].
// It returns the ids to add and to remove, and ok=false for anything else,
// which then takes the general path.
func memberOps(ts *typeState, ops []resource.PatchOp) (add, del []string, ok bool) {
	if ts.membersMapping() == nil || len(ops) == 0 {
		return nil, nil, false
	}
	for _, op := range ops {
		p := op.Path
		if p == nil || p.AttributePath.URIPrefix != nil || !strings.EqualFold(p.AttributePath.AttributeName, "members") ||
			p.AttributePath.SubAttribute != nil || p.SubAttribute != nil {
			return nil, nil, false
		}
		if p.ValueExpression != nil {
			ae, isAttr := p.ValueExpression.(*filter.AttributeExpression)
			id, isStr := "", false
			if isAttr {
				id, isStr = ae.CompareValue.(string)
			}
			if op.Op != "remove" || !isAttr || ae.Operator != filter.EQ || !strings.EqualFold(ae.AttributePath.AttributeName, "value") || !isStr || op.Value != nil {
				return nil, nil, false
			}
			del = append(del, id)
			continue
		}
		list, isList := op.Value.([]any)
		if !isList || op.Op == "replace" {
			return nil, nil, false
		}
		for _, el := range list {
			obj, isObj := el.(map[string]any)
			if !isObj {
				return nil, nil, false
			}
			v, _ := scimldap.GetCI(obj, "value")
			id, isStr := v.(string)
			if !isStr || id == "" {
				return nil, nil, false
			}
			if op.Op == "add" {
				add = append(add, id)
			} else {
				del = append(del, id)
			}
		}
	}
	return add, del, true
}

// patchMembers applies a members-only PATCH as value adds and deletes on
// the member attribute, without resolving the group's existing members:
// the cost depends on the members named, not on the size of the group.
func (b *Backend) patchMembers(rc *reqCtx, ts *typeState, le *ldap.Entry, e aci.Entry, addIDs, delIDs []string, assertion ldap.Control, guarded bool) error {
	m := ts.membersMapping() // memberOps found it
	dns, err := b.DNsForIDs(rc.ctx, m.RefTypes, append(append([]string{}, addIDs...), delIDs...))
	if err != nil {
		return err
	}
	present := map[string]bool{}
	oldL := le.GetAttributeValues(m.LDAP)
	for _, v := range oldL {
		if n, err := ldapfilter.NormalizeDN(v); err == nil {
			present[n] = true
		}
	}
	var add, del []string
	for _, id := range addIDs {
		dn, ok := dns[id]
		if !ok {
			return resource.InvalidValue("members: no %s with id %q", strings.Join(m.RefTypes, " or "), id)
		}
		if n, _ := ldapfilter.NormalizeDN(dn); !present[n] {
			present[n] = true
			add = append(add, dn)
		}
	}
	for _, id := range delIDs {
		dn, ok := dns[id]
		if !ok {
			continue // an unknown member is not a member: nothing to remove
		}
		if n, _ := ldapfilter.NormalizeDN(dn); present[n] {
			delete(present, n)
			del = append(del, dn)
		}
	}
	if ts.m.EmptyMember != "" {
		add, del = keepPlaceholder(oldL, add, del, ts.m.EmptyMember)
	}
	if len(add) == 0 && len(del) == 0 {
		return nil
	}
	if !rc.mayWriteValues(e, m.LDAP, add, del) {
		return resource.Forbidden("not allowed to change members")
	}
	mods := ldap.NewModifyRequest(le.DN, proxied(rc.ctx, nil))
	if len(del) > 0 {
		mods.Delete(m.LDAP, del)
	}
	if len(add) > 0 {
		mods.Add(m.LDAP, add)
	}
	mods.Controls = withControl(mods.Controls, assertion)
	var token *tokenExchange
	if guarded {
		token = b.exchangeToken(le, mods)
	}
	if err := b.do(rc.ctx, "modify", func(ctx context.Context) error { return b.opt.Conn.Modify(ctx, mods) }); err != nil {
		return MapError(token.conflict(err), "modify")
	}
	return nil
}

// membersMapping is the mapping of a group's members (members.value, a
// reference in the core schema), or nil.
func (ts *typeState) membersMapping() *scimldap.AttrMapping {
	var m *scimldap.AttrMapping
	for _, a := range ts.m.Attrs {
		if a.Attr == "members" && a.Sub == "value" && a.Kind == scimldap.KindReference && a.URN == "" {
			m = a
		}
	}
	return m
}
