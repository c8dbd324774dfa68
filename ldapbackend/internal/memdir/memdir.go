// Package memdir is a directory in memory behind ldapconn.Conn, for the
// backend's unit tests: entries loaded from LDIF, searches matched with
// aci/ldapfilter (base, one-level and subtree scope, size limits,
// server-side sort), adds, modifies, renames and deletes with the result
// codes a directory gives, the LDAP Assertion control, and the operational
// attributes the backend reads (entryUUID, entryCSN, the timestamps,
// entryDN). Unless VLV is set it answers the Virtual List View control
// with "unavailable critical extension", as a directory without sssvlv
// does, so the backend takes its other listing paths. Fail injects errors.
package memdir

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/aci/ldif"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// Dir is the directory. Safe for concurrent use.
type Dir struct {
	// VLV serves Virtual List View windows (by offset) of sorted searches.
	VLV bool
	// Fail, when set, is asked before every operation ("search", "add",
	// "modify", "modrdn", "delete") and its error returned instead.
	Fail func(op string, req any) error

	mu      sync.Mutex
	entries map[string]*entry // by normalized DN
	seq     int               // for entryUUID and entryCSN
	ops     map[string]int
}

type entry struct {
	dn    string
	attrs []*ldap.EntryAttribute
}

// Load returns a directory holding the entries of the LDIF r.
func Load(r io.Reader) (*Dir, error) {
	recs, err := ldif.Parse(r)
	if err != nil {
		return nil, err
	}
	d := &Dir{entries: map[string]*entry{}, ops: map[string]int{}}
	for _, rec := range recs {
		if rec.Change {
			return nil, fmt.Errorf("line %d: change records are not loaded", rec.Line)
		}
		e := &entry{dn: rec.DN}
		for _, a := range rec.Attrs {
			e.add(a.Name, a.Value)
		}
		n, err := ldapfilter.NormalizeDN(rec.DN)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", rec.Line, err)
		}
		d.stamp(e, true)
		d.entries[n] = e
	}
	return d, nil
}

// Count is how many operations of the kind op (as Fail names them) ran.
func (d *Dir) Count(op string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ops[op]
}

// Entry returns a copy of the entry dn with every attribute, or nil.
func (d *Dir) Entry(dn string) *ldap.Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.lookup(dn)
	if e == nil {
		return nil
	}
	return e.copyOut([]string{"*", "+"})
}

func (d *Dir) lookup(dn string) *entry {
	n, err := ldapfilter.NormalizeDN(dn)
	if err != nil {
		return nil
	}
	return d.entries[n]
}

// begin counts op and asks Fail and ctx whether it may run.
func (d *Dir) begin(ctx context.Context, op string, req any) error {
	if err := ctx.Err(); err != nil {
		return ldapconn.Unavailable(err)
	}
	d.mu.Lock()
	d.ops[op]++
	d.mu.Unlock()
	if d.Fail != nil {
		return d.Fail(op, req)
	}
	return nil
}

func ldapErr(code uint16, format string, args ...any) error {
	return ldap.NewError(code, fmt.Errorf(format, args...))
}

// Search implements ldapconn.Conn.
func (d *Dir) Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	if err := d.begin(ctx, "search", req); err != nil {
		return nil, err
	}
	f, err := ldapfilter.Parse(req.Filter)
	if err != nil {
		return nil, ldapErr(ldap.LDAPResultFilterError, "%v", err)
	}
	var sortKeys []*ldap.SortKey
	var vlv *ldapconn.VLVRequest
	for _, c := range req.Controls {
		switch c := c.(type) {
		case *ldap.ControlServerSideSorting:
			sortKeys = c.SortKeys
		case *ldapconn.VLVRequest:
			if !d.VLV {
				return nil, ldapErr(ldap.LDAPResultUnavailableCriticalExtension, "no Virtual List View here")
			}
			vlv = c
		}
	}
	if vlv != nil && sortKeys == nil {
		return nil, ldapErr(ldap.LDAPResultUnwillingToPerform, "Virtual List View without a sort")
	}
	base, err := ldapfilter.NormalizeDN(req.BaseDN)
	if err != nil {
		return nil, ldapErr(ldap.LDAPResultInvalidDNSyntax, "%v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.entries[base]; !ok {
		return nil, ldapErr(ldap.LDAPResultNoSuchObject, "no entry %q", req.BaseDN)
	}
	var dns []string
	for n := range d.entries {
		switch req.Scope {
		case ldap.ScopeBaseObject:
			if n != base {
				continue
			}
		case ldap.ScopeSingleLevel:
			if ldapfilter.ParentDN(n) != base {
				continue
			}
		default:
			if !ldapfilter.IsDescendant(n, base) {
				continue
			}
		}
		if ldapfilter.Match(f, matchable{d.entries[n]}) == ldapfilter.True {
			dns = append(dns, n)
		}
	}
	slices.Sort(dns)
	res := &ldap.SearchResult{}
	if sortKeys != nil {
		slices.SortStableFunc(dns, func(a, b string) int { return compareBy(sortKeys, d.entries[a], d.entries[b]) })
		res.Controls = append(res.Controls, &ldap.ControlServerSideSortingResult{Result: ldap.ControlServerSideSortingCodeSuccess})
	}
	if vlv != nil {
		count := len(dns)
		if vlv.Offset < 1 || vlv.Offset > count {
			return nil, ldapErr(ldapconn.ResultVLVError, "offset %d of %d", vlv.Offset, count)
		}
		dns = dns[vlv.Offset-1 : min(count, vlv.Offset+vlv.After)]
		res.Controls = append(res.Controls, vlvResponse(vlv.Offset, count))
	}
	for i, n := range dns {
		if req.SizeLimit > 0 && i == req.SizeLimit {
			return res, ldapErr(ldap.LDAPResultSizeLimitExceeded, "size limit %d exceeded", req.SizeLimit)
		}
		res.Entries = append(res.Entries, d.entries[n].copyOut(req.Attributes))
	}
	return res, nil
}

// SearchPaged implements ldapconn.PagedSearcher.
func (d *Dir) SearchPaged(ctx context.Context, req *ldap.SearchRequest, _ uint32) (*ldap.SearchResult, error) {
	return d.Search(ctx, req)
}

// Add implements ldapconn.Conn.
func (d *Dir) Add(ctx context.Context, req *ldap.AddRequest) error {
	if err := d.begin(ctx, "add", req); err != nil {
		return err
	}
	n, err := ldapfilter.NormalizeDN(req.DN)
	if err != nil {
		return ldapErr(ldap.LDAPResultInvalidDNSyntax, "%v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.entries[n]; ok {
		return ldapErr(ldap.LDAPResultEntryAlreadyExists, "%q exists", req.DN)
	}
	if _, ok := d.entries[ldapfilter.ParentDN(n)]; !ok {
		return ldapErr(ldap.LDAPResultNoSuchObject, "no parent for %q", req.DN)
	}
	e := &entry{dn: req.DN}
	for _, a := range req.Attributes {
		for _, v := range a.Vals {
			e.add(a.Type, v)
		}
	}
	if len(e.values("objectClass")) == 0 {
		return ldapErr(ldap.LDAPResultObjectClassViolation, "no objectClass")
	}
	d.stamp(e, true)
	d.entries[n] = e
	return nil
}

// Modify implements ldapconn.Conn: every change applies, or none.
func (d *Dir) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	if err := d.begin(ctx, "modify", req); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.lookup(req.DN)
	if e == nil {
		return ldapErr(ldap.LDAPResultNoSuchObject, "no entry %q", req.DN)
	}
	if err := assert(req.Controls, e); err != nil {
		return err
	}
	next := e.clone()
	for _, c := range req.Changes {
		a := c.Modification
		switch c.Operation {
		case ldap.AddAttribute:
			for _, v := range a.Vals {
				if next.has(a.Type, v) {
					return ldapErr(ldap.LDAPResultAttributeOrValueExists, "%s: %q exists", a.Type, v)
				}
				next.add(a.Type, v)
			}
		case ldap.DeleteAttribute:
			if len(a.Vals) == 0 {
				if len(next.values(a.Type)) == 0 {
					return ldapErr(ldap.LDAPResultNoSuchAttribute, "no %s", a.Type)
				}
				next.drop(a.Type, nil)
			}
			for _, v := range a.Vals {
				if !next.has(a.Type, v) {
					return ldapErr(ldap.LDAPResultNoSuchAttribute, "%s: no %q", a.Type, v)
				}
				next.drop(a.Type, &v)
			}
		case ldap.ReplaceAttribute:
			next.drop(a.Type, nil)
			for _, v := range a.Vals {
				next.add(a.Type, v)
			}
		default:
			return ldapErr(ldap.LDAPResultUnwillingToPerform, "operation %d", c.Operation)
		}
	}
	if len(next.values("objectClass")) == 0 {
		return ldapErr(ldap.LDAPResultObjectClassViolation, "no objectClass left")
	}
	d.stamp(next, false)
	*e = *next
	return nil
}

// ModifyDN implements ldapconn.Conn.
func (d *Dir) ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error {
	if err := d.begin(ctx, "modrdn", req); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old, err := ldapfilter.NormalizeDN(req.DN)
	if err != nil {
		return ldapErr(ldap.LDAPResultInvalidDNSyntax, "%v", err)
	}
	e, ok := d.entries[old]
	if !ok {
		return ldapErr(ldap.LDAPResultNoSuchObject, "no entry %q", req.DN)
	}
	if err := assert(req.Controls, e); err != nil {
		return err
	}
	if d.hasChildren(old) {
		return ldapErr(ldap.LDAPResultNotAllowedOnNonLeaf, "%q has children", req.DN)
	}
	parent := req.NewSuperior
	if parent == "" {
		_, parent, _ = strings.Cut(e.dn, ",")
	}
	newDN := req.NewRDN + "," + parent
	n, err := ldapfilter.NormalizeDN(newDN)
	if err != nil {
		return ldapErr(ldap.LDAPResultInvalidDNSyntax, "%v", err)
	}
	if _, ok := d.entries[n]; ok && n != old {
		return ldapErr(ldap.LDAPResultEntryAlreadyExists, "%q exists", newDN)
	}
	next := e.clone()
	if req.DeleteOldRDN {
		if typ, val, ok := rdn(e.dn); ok {
			next.drop(typ, &val)
		}
	}
	if typ, val, ok := rdn(newDN); ok && !next.has(typ, val) {
		next.add(typ, val)
	}
	next.dn = newDN
	d.stamp(next, false)
	delete(d.entries, old)
	d.entries[n] = next
	return nil
}

// Del implements ldapconn.Conn.
func (d *Dir) Del(ctx context.Context, req *ldap.DelRequest) error {
	if err := d.begin(ctx, "delete", req); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := ldapfilter.NormalizeDN(req.DN)
	if err != nil {
		return ldapErr(ldap.LDAPResultInvalidDNSyntax, "%v", err)
	}
	e, ok := d.entries[n]
	if !ok {
		return ldapErr(ldap.LDAPResultNoSuchObject, "no entry %q", req.DN)
	}
	if err := assert(req.Controls, e); err != nil {
		return err
	}
	if d.hasChildren(n) {
		return ldapErr(ldap.LDAPResultNotAllowedOnNonLeaf, "%q has children", req.DN)
	}
	delete(d.entries, n)
	return nil
}

func (d *Dir) hasChildren(n string) bool {
	for c := range d.entries {
		if ldapfilter.ParentDN(c) == n {
			return true
		}
	}
	return false
}

// stamp sets the operational attributes of a new or changed entry.
func (d *Dir) stamp(e *entry, created bool) {
	d.seq++
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(d.seq) * time.Second).Format("20060102150405Z")
	if created {
		if len(e.values("entryUUID")) == 0 {
			e.drop("entryUUID", nil)
			e.add("entryUUID", fmt.Sprintf("00000000-0000-4000-8000-%012d", d.seq))
		}
		if len(e.values("createTimestamp")) == 0 {
			e.add("createTimestamp", now)
		}
	}
	e.drop("entryCSN", nil)
	e.add("entryCSN", fmt.Sprintf("%s.%06d#000000#000#000000", now[:14], d.seq))
	e.drop("modifyTimestamp", nil)
	e.add("modifyTimestamp", now)
}

// assert applies the LDAP Assertion control, if any.
func assert(controls []ldap.Control, e *entry) error {
	for _, c := range controls {
		if c.GetControlType() != ldapconn.ControlTypeAssertion {
			continue
		}
		cs, ok := c.(interface{ Encode() *ber.Packet })
		if !ok {
			return ldapErr(ldap.LDAPResultProtocolError, "assertion control %T", c)
		}
		p := cs.Encode()
		if len(p.Children) < 3 {
			return ldapErr(ldap.LDAPResultProtocolError, "assertion control without a value")
		}
		fp, err := ber.DecodePacketErr(p.Children[2].Data.Bytes())
		if err != nil {
			return ldapErr(ldap.LDAPResultProtocolError, "assertion control: %v", err)
		}
		text, err := ldap.DecompileFilter(fp)
		if err != nil {
			return ldapErr(ldap.LDAPResultProtocolError, "assertion control: %v", err)
		}
		f, err := ldapfilter.Parse(text)
		if err != nil {
			return ldapErr(ldap.LDAPResultProtocolError, "assertion control: %v", err)
		}
		if ldapfilter.Match(f, matchable{e}) != ldapfilter.True {
			return ldapErr(ldap.LDAPResultAssertionFailed, "assertion failed")
		}
	}
	return nil
}

// vlvResponse is the VLV response control for a window at offset of count
// matches.
func vlvResponse(offset, count int) ldap.Control {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "VirtualListViewResponse")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(offset), "targetPosition"))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(count), "contentCount"))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), "virtualListViewResult"))
	return ldap.NewControlString(ldap.ControlTypeVLVResponse, false, string(p.Bytes()))
}

// rdn splits the first RDN of dn into its type and value.
func rdn(dn string) (typ, val string, ok bool) {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return "", "", false
	}
	a := p.RDNs[0].Attributes[0]
	return a.Type, a.Value, true
}

// compareBy orders two entries by sort keys (case-insensitively; an entry
// without a value last, as RFC 2891 has it).
func compareBy(keys []*ldap.SortKey, a, b *entry) int {
	for _, k := range keys {
		va, vb := first(a.values(k.AttributeType)), first(b.values(k.AttributeType))
		var c int
		switch {
		case va == vb:
		case va == "":
			c = 1
		case vb == "":
			c = -1
		default:
			c = strings.Compare(strings.ToLower(va), strings.ToLower(vb))
			if k.Reverse {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func (e *entry) attr(name string) *ldap.EntryAttribute {
	c := aci.CanonicalAttr(name)
	for _, a := range e.attrs {
		if aci.CanonicalAttr(a.Name) == c {
			return a
		}
	}
	return nil
}

func (e *entry) values(name string) []string {
	if aci.CanonicalAttr(name) == "entrydn" {
		return []string{e.dn}
	}
	if a := e.attr(name); a != nil {
		return a.Values
	}
	return nil
}

// same compares two values of attr as the directory would: DNs by their
// normalized form, others without regard to case.
func same(attr, a, b string) bool {
	if ldapfilter.SyntaxOf(aci.CanonicalAttr(attr)) == ldapfilter.SyntaxDN {
		na, errA := ldapfilter.NormalizeDN(a)
		nb, errB := ldapfilter.NormalizeDN(b)
		if errA == nil && errB == nil {
			return na == nb
		}
	}
	return strings.EqualFold(a, b)
}

func (e *entry) has(name, v string) bool {
	for _, x := range e.values(name) {
		if same(name, x, v) {
			return true
		}
	}
	return false
}

func (e *entry) add(name, v string) {
	if a := e.attr(name); a != nil {
		a.Values = append(a.Values, v)
		return
	}
	e.attrs = append(e.attrs, &ldap.EntryAttribute{Name: name, Values: []string{v}})
}

// drop removes one value of name, or every value (v nil).
func (e *entry) drop(name string, v *string) {
	a := e.attr(name)
	if a == nil {
		return
	}
	if v != nil {
		a.Values = slices.DeleteFunc(a.Values, func(x string) bool { return same(name, x, *v) })
	}
	if v == nil || len(a.Values) == 0 {
		e.attrs = slices.DeleteFunc(e.attrs, func(x *ldap.EntryAttribute) bool { return x == a })
	}
}

func (e *entry) clone() *entry {
	out := &entry{dn: e.dn}
	for _, a := range e.attrs {
		out.attrs = append(out.attrs, &ldap.EntryAttribute{Name: a.Name, Values: slices.Clone(a.Values)})
	}
	return out
}

// copyOut is the entry as a search asking for attrs returns it.
func (e *entry) copyOut(attrs []string) *ldap.Entry {
	all := len(attrs) == 0
	user, oper := all, false
	want := map[string]bool{}
	for _, a := range attrs {
		switch a {
		case "*":
			user = true
		case "+":
			oper = true
		case "1.1":
		default:
			want[aci.CanonicalAttr(a)] = true
		}
	}
	out := &ldap.Entry{DN: e.dn}
	for _, a := range e.attrs {
		c := aci.CanonicalAttr(a.Name)
		if want[c] || (aci.IsOperational(c) && oper) || (!aci.IsOperational(c) && user) {
			out.Attributes = append(out.Attributes, &ldap.EntryAttribute{Name: a.Name, Values: slices.Clone(a.Values)})
		}
	}
	if want["entrydn"] || oper {
		out.Attributes = append(out.Attributes, &ldap.EntryAttribute{Name: "entryDN", Values: []string{e.dn}})
	}
	return out
}

// matchable is an entry as the filter matcher reads it.
type matchable struct{ e *entry }

func (m matchable) DN() string                  { return m.e.dn }
func (m matchable) Values(attr string) []string { return m.e.values(attr) }

var _ ldapconn.PagedSearcher = (*Dir)(nil)
