package ldapconn

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// How a Cluster chooses servers: what this gateway wrote (the mark), which
// server has it, where writes and reads go, and the fences.

// wrote records that this gateway just wrote dns to s: the write's change
// number, read back from s at once (the entry's entryCSN; for a delete,
// s's contextCSN), goes into the mark that reads must find covered. When
// it cannot be read (389 DS has no entryCSN; s went away), s alone has
// the write for sure until a check of s reads its contextCSN.
func (c *Cluster) wrote(ctx context.Context, s *server, dns ...string) {
	if len(c.servers) == 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.checkTimeout())
	defer cancel()
	csn := map[string]string{}
	for _, dn := range dns {
		res, err := s.pool.Search(ctx, &ldap.SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject,
			Filter: "(objectClass=*)", Attributes: []string{"entryCSN"}})
		if err == nil && len(res.Entries) == 1 {
			if v := res.Entries[0].GetAttributeValue("entryCSN"); CSNServerID(v) != "" {
				csn[CSNServerID(v)] = max(csn[CSNServerID(v)], v)
			}
		}
	}
	if len(csn) == 0 && len(dns) > 0 && ctx.Err() == nil {
		if got, err := ContextCSN(ctx, s.pool, c.cfg.Suffix); err == nil {
			csn = got // a delete (or a rename's old DN): what s has is the least others need
		}
	}
	s.mu.Lock()
	for sid, v := range csn {
		s.ours[sid] = max(s.ours[sid], v)
	}
	s.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.warned = s, false
	if len(csn) == 0 {
		c.blind[s] = time.Now()
		return
	}
	for sid, v := range csn {
		c.mark[sid] = max(c.mark[sid], v)
	}
}

// has reports whether s holds what this gateway wrote: for every server
// id, the newest change number this gateway wrote, as written to s or as
// s's contextCSN says; and s is the server written to when a write's
// change number is unknown.
func (c *Cluster) has(s *server) bool {
	c.mu.Lock()
	last := c.last
	blindElsewhere := false
	for b := range c.blind {
		blindElsewhere = blindElsewhere || b != s
	}
	mark := maps.Clone(c.mark)
	c.mu.Unlock()
	if last == nil {
		return true // nothing written
	}
	if blindElsewhere {
		return false
	}
	for sid, v := range mark {
		if !s.holds(sid, v) {
			return false
		}
	}
	return true
}

// holds reports whether s has change number v of server id sid: this
// gateway wrote it there, or s's contextCSN has reached it.
func (s *server) holds(sid, v string) bool {
	s.mu.Lock()
	ours := s.ours[sid]
	s.mu.Unlock()
	return ours >= v || s.csn.Load().cur[sid] >= v
}

// caughtUp reports whether s, a provider back from an outage, may take
// writes again although it lacks some of this gateway's: it has answered
// for two checks (five without contextCSN), and holds what every other
// healthy provider held one check earlier.
func (c *Cluster) caughtUp(s *server) bool {
	st := s.csn.Load()
	up := time.Since(time.Unix(0, s.upSince.Load()))
	if len(st.cur) == 0 {
		return up >= 5*c.cfg.CheckInterval
	}
	if up < 2*c.cfg.CheckInterval {
		return false
	}
	for _, o := range c.servers {
		if o != s && o.provider && o.up.Load() && !covers(st.cur, o.csn.Load().prev) {
			return false
		}
	}
	return true
}

// writers returns the providers to write to, the chosen one first, then
// the other healthy ones in configured order, then those down (whose
// pools fail at once while they are down, or find them back). The chosen
// one stays chosen while it answers, so that one gateway's writes do not
// alternate between providers (its reads could then find neither has them
// all); it gives way when it stops answering, to the first healthy
// provider in order that has this gateway's writes (or any healthy one),
// and to an earlier provider in order once that one has them or has
// caught up with the others (caughtUp).
func (c *Cluster) writers() []*server {
	var providers []*server
	for _, s := range c.servers {
		if s.provider {
			providers = append(providers, s)
		}
	}
	c.mu.Lock()
	cur := c.writer
	c.mu.Unlock()
	pick := cur
	if pick == nil || !pick.up.Load() {
		pick = nil
		for _, s := range providers {
			if s.up.Load() && c.has(s) {
				pick = s
				break
			}
		}
		if pick == nil {
			for _, s := range providers {
				if s.up.Load() {
					pick = s
					break
				}
			}
		}
	} else {
		for _, s := range providers {
			if s == pick {
				break
			}
			if s.up.Load() && (c.has(s) || c.caughtUp(s)) {
				pick = s
				break
			}
		}
	}
	if pick != cur {
		c.mu.Lock()
		if c.writer == cur {
			c.writer = pick
		}
		pick = c.writer
		c.mu.Unlock()
		if pick != nil && cur != nil {
			c.log.Info().Str("from", cur.url).Str("to", pick.url).Msg("writes go to another provider")
		}
	}
	out := make([]*server, 0, len(providers))
	if pick != nil {
		out = append(out, pick)
	}
	var down []*server
	for _, s := range providers {
		switch {
		case s == pick:
		case s.up.Load():
			out = append(out, s)
		default:
			down = append(down, s)
		}
	}
	return append(out, down...)
}

// readers returns the servers to read from, the chosen one first: in
// configured order the healthy ones that have this gateway's writes, then
// the other healthy ones, then those down. When none that answers has
// them all (writes went to two providers as writes moved), it reads the
// healthy servers' contextCSN again for a while (catchUpWait, within ctx)
// rather than read from one that lacks some.
func (c *Cluster) readers(ctx context.Context) []*server {
	if len(c.servers) == 1 {
		return c.servers
	}
	classify := func() (ok, behind, down []*server) {
		for _, s := range c.servers {
			switch {
			case !s.up.Load():
				down = append(down, s)
			case c.has(s):
				ok = append(ok, s)
			default:
				behind = append(behind, s)
			}
		}
		return ok, behind, down
	}
	ok, behind, down := classify()
	if len(ok) == 0 && c.healthyHaveAll() {
		wctx, cancel := context.WithTimeout(ctx, catchUpWait)
		for wctx.Err() == nil && !c.anyHas() {
			// One read at a time refreshes the servers' contextCSN, all at
			// once and within the wait; the others look at what it found.
			if c.refreshing.TryLock() {
				var wg sync.WaitGroup
				for _, s := range c.servers {
					if !s.up.Load() {
						continue
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if csn, err := ContextCSN(wctx, s.pool, c.cfg.Suffix); err == nil {
							s.saw(csn, false)
						}
					}()
				}
				wg.Wait()
				c.refreshing.Unlock()
			}
			if !c.anyHas() {
				select {
				case <-wctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
		cancel()
		ok, behind, down = classify()
	}
	if len(ok) == 0 {
		c.mu.Lock()
		last := c.last
		if !c.warned && last != nil {
			c.warned = true
			c.log.Warn().Str("writer", last.url).Msg("no healthy server has all of this gateway's writes yet: reads go to the one it wrote to last, or the others, until they replicate (read-your-writes suspended)")
		}
		c.mu.Unlock()
		// The server written to last has the latest write at least.
		if i := slices.Index(behind, last); i > 0 {
			behind = append([]*server{last}, slices.Delete(behind, i, i+1)...)
		}
	}
	return append(append(ok, behind...), down...)
}

// catchUpWait bounds how long a read waits for a server to have all of
// this gateway's writes before it goes to one that lacks some.
const catchUpWait = time.Second

// healthyHaveAll reports whether the healthy servers together have every
// write of this gateway's (none is only on a server down): replication
// among them will then bring one all of them.
func (c *Cluster) healthyHaveAll() bool {
	c.mu.Lock()
	mark := maps.Clone(c.mark)
	for b := range c.blind {
		if !b.up.Load() {
			c.mu.Unlock()
			return false
		}
	}
	c.mu.Unlock()
	for sid, v := range mark {
		found := false
		for _, s := range c.servers {
			if !s.up.Load() {
				continue
			}
			if s.holds(sid, v) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// anyHas reports whether a healthy server has this gateway's writes.
func (c *Cluster) anyHas() bool {
	for _, s := range c.servers {
		if s.up.Load() && c.has(s) {
			return true
		}
	}
	return false
}

// failed marks s down when err says no connection could be had or the
// connection was lost, while ctx was alive (a cancelled request, a slow
// operation past its deadline or a busy pool say nothing of the server:
// the checks decide). It reports whether the operation may go to another
// server: it was not sent.
func (c *Cluster) failed(ctx context.Context, s *server, err error) (retry bool) {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if len(c.servers) > 1 && (noConnection(err) || IsConnError(err) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)) {
		if s.up.Swap(false) {
			c.log.Warn().Str("server", s.url).Err(err).Msg("directory server down: operations go to the others")
		}
	}
	return NotSent(err)
}

// read runs a read on the first reader and, while the directory was
// unavailable there and ctx allows, on the next: a read can be sent again.
func (c *Cluster) read(ctx context.Context, fn func(*server) error) error {
	var err error
	for _, s := range c.readers(ctx) {
		err = fn(s)
		c.failed(ctx, s, err)
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// write runs a write of the entries dns on the first writer, then on the
// next while none was sent or the server lacked the entry: a write sent
// may have been applied, and is not sent twice. While an earlier write of
// one of them is pending on a server that does not answer (fence), it
// fails with ErrUnavailable.
func (c *Cluster) write(ctx context.Context, fn func(*server) error, dns ...string) error {
	if s := c.fencedBy(dns...); s != nil {
		return Unavailable(errors.New("an earlier write of this entry went to " + s.url + ", which has not answered since: it may still apply it"))
	}
	var err error
	ws := c.writers()
	for i, s := range ws {
		err = fn(s)
		if c.failed(ctx, s, err) && ctx.Err() == nil {
			continue
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) && i+1 < len(ws) && ws[i+1].up.Load() {
			continue // not applied; the next provider may hold the entry (created while this one was away)
		}
		if NotSent(err) {
			return err // the client gave up before it went out
		}
		if err != nil && errors.Is(err, ErrUnavailable) {
			// Lost on the way: it may have been applied, or may yet be;
			// the client was told it failed, so reads need not find it.
			c.fence(s, dns...)
			return err
		}
		c.wrote(ctx, s, dns...) // also a refused write: it may have written something
		return err
	}
	return err
}

// fencedBy returns the server holding a write of one of dns whose outcome
// is unknown, while it has not answered again for a check interval; nil
// when none does.
func (c *Cluster) fencedBy(dns ...string) *server {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dn := range dns {
		k := normDN(dn)
		f, ok := c.fenced[k]
		if !ok {
			continue
		}
		if !c.releaseLocked(k, f) {
			return f.s
		}
	}
	return nil
}

// checked notes that s answered a check begun at began with contextCSN
// csn. A write to s whose change number was unknown, made a check
// interval or more before, is in csn now: others must reach that (without
// contextCSN, 389 DS, the write stays blind, and reads on s). The fences s
// holds start their last interval then; those past it, or past fenceMax,
// go.
func (c *Cluster) checked(s *server, began time.Time, csn map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.blind[s]; ok && began.After(at.Add(c.cfg.CheckInterval)) && len(csn) > 0 {
		for sid, v := range csn {
			c.mark[sid] = max(c.mark[sid], v)
		}
		delete(c.blind, s)
	}
	for k, f := range c.fenced {
		if f.s == s && f.answered.IsZero() && began.After(f.since) {
			f.answered = began
		}
		c.releaseLocked(k, f)
	}
}

// releaseLocked drops the fence f of entry k once its server has answered
// for a check interval, or has been silent past fenceMax (logged), and
// reports whether it did. c.mu is held.
func (c *Cluster) releaseLocked(k string, f *fence) bool {
	switch {
	case !f.answered.IsZero() && time.Since(f.answered) >= c.cfg.CheckInterval:
	case f.answered.IsZero() && time.Since(f.since) > fenceMax:
		c.log.Warn().Str("entry", k).Str("server", f.s.url).Msg("released an entry whose write went unanswered by a server silent for too long: if that server comes back and applies it, it overwrites what was written since")
	default:
		return false
	}
	delete(c.fenced, k)
	return true
}

// fence holds dns after a write of them sent to s went unanswered.
func (c *Cluster) fence(s *server, dns ...string) {
	if len(c.servers) == 1 {
		return // the old single-pool behaviour: a retry goes to the same server
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dn := range dns {
		c.fenced[normDN(dn)] = &fence{s: s, since: time.Now()}
	}
}

// normDN is a DN as the fences key it: normalized as the ACI engine
// compares DNs.
func normDN(dn string) string {
	if n, err := ldapfilter.NormalizeDN(dn); err == nil {
		return n
	}
	return strings.ToLower(dn)
}

// renamedDN is the DN a ModifyDN request gives its entry.
func renamedDN(req *ldap.ModifyDNRequest) string {
	parent := req.NewSuperior
	if parent == "" {
		if d, err := ldap.ParseDN(req.DN); err == nil && len(d.RDNs) > 0 {
			parent = (&ldap.DN{RDNs: d.RDNs[1:]}).String()
		}
	}
	if parent == "" {
		return req.NewRDN
	}
	return req.NewRDN + "," + parent
}
