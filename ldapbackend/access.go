package ldapbackend

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/scim/resource"
)

// reqCtx is one request's view: the ACI set it started with, its
// subject, and the directory for lookups.
type reqCtx struct {
	ctx     context.Context
	b       *Backend
	set     *aci.Set
	subj    *aci.Subject
	dir     aci.Directory
	caller  *resource.Caller
	proxied bool        // reads carry the Proxied Authorization control (readSetFor)
	debug   bool        // log explanations
	scratch aci.Request // reused by ask, so a check allocates nothing

	// Decisions are summed up here and handed to the audit once, when the
	// operation ends (flush): building each decision's text would cost more
	// than the decision.
	allowedN, deniedN int
	lastAllow         aci.Decision
	lastAllowReq      aci.Request // kept for the debug explanation
	firstDeny         aci.Decision

	// readOnce holds read decisions made for every entry under
	// readOnceBase at once (decideReadsOnce): 1 allowed, 0 denied, -1
	// the ACIs tell entries apart there.
	readOnce     map[string]int8
	readOnceBase string
}

// flush records the operation's access decisions in the caller's audit;
// at debug level it also logs the full explanation of the last grant
// (denials are explained as they happen).
func (rc *reqCtx) flush() {
	if rc.debug && rc.allowedN > 0 {
		req := rc.lastAllowReq
		_, exp := rc.set.Explain(&req, rc.dir)
		rc.b.opt.Log.Debug().Str("request_id", rc.caller.RequestID).Str("target", req.TargetDN).Str("right", req.Right.String()).
			Str("attr", req.Attr).Int("checks_allowed", rc.allowedN).Int("checks_denied", rc.deniedN).
			Interface("explanation", exp).Msg("access granted")
	}
	if rc.b.opt.OnDecisions != nil {
		rc.b.opt.OnDecisions(rc.allowedN, rc.deniedN)
	}
	if rc.caller.Audit == nil || rc.allowedN+rc.deniedN == 0 {
		return
	}
	var allow, deny string
	if rc.allowedN > 0 {
		allow = rc.lastAllow.Reason()
	}
	if rc.deniedN > 0 {
		deny = rc.firstDeny.Reason()
	}
	rc.caller.Audit.Add(rc.allowedN, rc.deniedN, allow, deny)
}

func (b *Backend) begin(ctx context.Context) (*reqCtx, error) {
	set, err := b.opt.ACIs.Current()
	if err != nil {
		var lock *acisource.LockdownError
		if errors.As(err, &lock) {
			return nil, resource.Unavailable(err, "service locked down: the directory holds an invalid ACI: %s", lock.Error())
		}
		return nil, resource.Unavailable(err, "access control not available yet")
	}
	caller, ok := resource.CallerFrom(ctx)
	if !ok {
		return nil, resource.Internal(errors.New("no caller in context"))
	}
	subj := &aci.Subject{
		DN:         b.opt.ServiceDN,
		AuthMethod: "simple",
		IP:         caller.IP,
		Secure:     caller.Secure,
		Time:       b.opt.Now(),
		HasToken:   caller.HasToken,
		Scopes:     caller.Scopes,
	}
	opCtx, proxiedAs := ctx, false
	if caller.BindDN != "" {
		subj.DN = caller.BindDN
		if b.opt.ProxiedAuthz {
			opCtx, proxiedAs = context.WithValue(ctx, proxyKey{}, caller.BindDN), true
		}
	}
	// ACI lookups (groups, userattr) run as the service account: the
	// engine needs the whole picture whatever the subject may read.
	return &reqCtx{ctx: opCtx, b: b, set: set, subj: subj, dir: b.opt.Directory.WithContext(ctx), caller: caller,
		proxied: proxiedAs, debug: b.opt.Log.GetLevel() <= zerolog.DebugLevel}, nil
}

// open starts an operation on type t: its mapping and the request's
// access-control context. The caller defers rc.flush().
func (b *Backend) open(ctx context.Context, t *resource.Type) (*typeState, *reqCtx, error) {
	ts, err := b.state(t)
	if err != nil {
		return nil, nil, err
	}
	rc, err := b.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ts, rc, nil
}

// ask checks one request, reusing the context's scratch request.
func (rc *reqCtx) ask(r aci.Request) bool {
	rc.scratch = r
	return rc.allowed(&rc.scratch)
}

// allowed asks the ACI engine and remembers the decision for the audit log.
func (rc *reqCtx) allowed(req *aci.Request) bool {
	req.Subject = rc.subj
	d := rc.set.Evaluate(req, rc.dir)
	if d.Incomplete != "" {
		if full := rc.unfiltered(req.Entry); full != nil {
			again := *req
			again.Entry = full
			req = &again
			d = rc.set.Evaluate(req, rc.dir)
		}
	}
	rc.note(d, *req)
	if !d.Allowed && rc.debug {
		_, exp := rc.set.Explain(req, rc.dir)
		rc.b.opt.Log.Debug().Str("request_id", rc.caller.RequestID).Str("target", req.TargetDN).Str("right", req.Right.String()).
			Str("attr", req.Attr).Interface("explanation", exp).Msg("access denied")
	}
	return d.Allowed
}

// unfiltered is the service account's view of e (the directory view the
// engine reads, which holds every attribute) when e was read under proxied
// authorization (acisource.Entry.Filtered) and so may lack what the
// directory hid from the mapped user; nil otherwise, or when the view has
// no such entry, and the incomplete decision stands (fail closed).
func (rc *reqCtx) unfiltered(e aci.Entry) aci.Entry {
	pe, ok := e.(*acisource.Entry)
	if !ok || !rc.proxied || !pe.Filtered() {
		return nil
	}
	full, err := rc.dir.Entry(pe.DN())
	if err != nil || full == nil {
		rc.b.opt.Log.Warn().Err(err).Str("request_id", rc.caller.RequestID).Str("target", pe.DN()).
			Msg("the service account's view of an entry read under proxied authorization is not available; the check fails closed")
		return nil
	}
	return pe.Completed(full)
}

// note records a decision for the audit. A decision made on an entry read
// without an attribute some ACI reads failed closed; it is logged as the
// bug it is, whatever the outcome.
func (rc *reqCtx) note(d aci.Decision, req aci.Request) {
	if d.Incomplete != "" {
		rc.b.opt.Log.Error().Str("request_id", rc.caller.RequestID).Str("target", req.TargetDN).Str("right", req.Right.String()).
			Str("attr", req.Attr).Str("missing_attribute", d.Incomplete).Bool("allowed", d.Allowed).
			Msg("an access check met an entry read without an attribute an ACI reads; the rule that needed it was undefined (never grants, denies in a deny rule)")
	}
	if d.Allowed {
		rc.allowedN++
		rc.lastAllow = d
		if rc.debug {
			req.Subject = rc.subj
			rc.lastAllowReq = req
		}
		return
	}
	if rc.deniedN == 0 {
		rc.firstDeny = d
	}
	rc.deniedN++
}

// uniform asks the engine for the decision on req for every entry of the
// type at once (aci.Set.Uniform); a decision it gives is recorded like one
// made by allowed.
func (rc *reqCtx) uniform(ts *typeState, req aci.Request) (allowed, ok bool) {
	req.Subject = rc.subj
	d, ok := rc.set.Uniform(&req, ts.base, rc.dir)
	if !ok {
		return false, false
	}
	req.TargetDN = ts.base
	rc.note(d, req)
	return d.Allowed, true
}

// canRead reports whether the subject may read attr of the entry.
func (rc *reqCtx) canRead(e aci.Entry, attr string) bool {
	if rc.readOnce != nil && ldapfilter.IsDescendant(e.DN(), rc.readOnceBase) {
		if v, ok := rc.readOnce[attr]; ok && v >= 0 {
			return v == 1
		} else if !ok {
			// Decide for the whole subtree once, if the ACIs allow.
			d, uniform := rc.set.Uniform(&aci.Request{Subject: rc.subj, Right: aci.RightRead, Attr: attr}, rc.readOnceBase, rc.dir)
			switch {
			case !uniform:
				rc.readOnce[attr] = -1
			case d.Allowed:
				rc.readOnce[attr] = 1
				rc.note(d, aci.Request{TargetDN: rc.readOnceBase, Right: aci.RightRead, Attr: attr})
				return true
			default:
				rc.readOnce[attr] = 0
				rc.note(d, aci.Request{TargetDN: rc.readOnceBase, Right: aci.RightRead, Attr: attr})
				return false
			}
		}
	}
	return rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightRead, Attr: attr})
}

// decideReadsOnce makes canRead decide each attribute once for every entry
// under base, where the ACIs cannot tell those entries apart (a page of a
// listing with such ACIs: see listPlan.uniform); other attributes and entries are
// decided one by one as always.
func (rc *reqCtx) decideReadsOnce(base string) {
	rc.readOnce, rc.readOnceBase = map[string]int8{}, base
}

// visibleHere is visible decided for this entry alone, never from a
// decision made for its whole subtree: the check that the subtree's
// decision holds.
func (rc *reqCtx) visibleHere(e aci.Entry) bool {
	return rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightRead, Attr: "objectclass"})
}

// visible: an entry exists for the caller only if it may read its objectClass.
func (rc *reqCtx) visible(e aci.Entry) bool { return rc.canRead(e, "objectclass") }
