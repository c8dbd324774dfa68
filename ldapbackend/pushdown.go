package ldapbackend

import (
	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// pushdown returns the plan's filter with the caller's access compiled
// into it (aci.Set.Pushdown): an entry of the type matches exactly when
// the client's filter matches and the caller may see it (read on
// objectClass) and search every attribute the client's filter names. The
// directory can then sort, count and cut a listing whatever the ACIs, so
// a page costs the same at any size of the directory. ok is false when an
// ACI cannot be expressed as a filter; the log says which, once per ACI.
func (p *listPlan) pushdown() (filter string, ok bool) {
	if p.pushDone {
		return p.pushed, p.pushed != ""
	}
	p.pushDone = true
	rc := p.rc
	opt := aci.PushdownOptions{DNMatching: p.b.opt.DNMatching}
	parts := []ldapfilter.Filter{p.tree}
	asks := []aci.Request{{Right: aci.RightRead, Attr: "objectclass"}}
	for _, a := range p.clientAttrs {
		asks = append(asks, aci.Request{Right: aci.RightSearch, Attr: a})
	}
	for _, ask := range asks {
		ask.Subject = rc.subj
		f, np := rc.set.Pushdown(&ask, p.ts.base, rc.dir, opt)
		if np != nil {
			ref := ""
			if np.ACI != nil {
				ref = np.ACI.Ref()
			}
			p.pushTransient = np.Reason == aci.ReasonGroupsIncomplete
			if _, seen := p.b.pushWarned.LoadOrStore(ref+"\x00"+np.Reason, true); !seen {
				p.b.opt.Log.Warn().Str("aci", ref).Str("reason", np.Reason).Str("type", p.ts.t.Name).
					Msg("an ACI keeps lists from being cut by the directory: the gateway reads every match of such a listing itself, up to limits.lookthrough")
			}
			return "", false
		}
		parts = append(parts, f)
	}
	p.access = parts[1:]
	p.pushed = (&ldapfilter.And{Filters: parts}).String()
	return p.pushed, true
}
