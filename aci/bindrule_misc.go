package aci

import (
	"fmt"
	"strings"
)

// authMethodCond matches how the subject authenticated; "none" matches
// every subject, anonymous included.
type authMethodCond string

func canonAuthMethod(v string) (string, string) {
	f := strings.Fields(v)
	switch {
	case len(f) == 1 && (strings.EqualFold(f[0], "none") || strings.EqualFold(f[0], "simple") || strings.EqualFold(f[0], "ssl")):
		return strings.ToLower(f[0]), ""
	case len(f) == 2 && strings.EqualFold(f[0], "sasl"):
		return "sasl " + strings.ToUpper(f[1]), ""
	}
	return "", fmt.Sprintf(`authmethod must be none, simple, ssl or "sasl MECHANISM", not %q`, v)
}

func (c authMethodCond) eval(st *evalState) result {
	if c == "none" {
		return rTrue
	}
	return boolResult(strings.EqualFold(st.subj.authMethod(), string(c)))
}

func (c authMethodCond) note(st *evalState) string { return "authenticated by " + st.subj.authMethod() }

func (s *Subject) authMethod() string {
	if s.AuthMethod != "" {
		return s.AuthMethod
	}
	if s.DN == "" {
		return "none"
	}
	return "simple"
}

type secureCond bool

func canonBool(v string) (string, string) {
	switch strings.ToLower(v) {
	case "true", "false":
		return strings.ToLower(v), ""
	}
	return "", fmt.Sprintf(`secure must be "true" or "false", not %q`, v)
}

func (c secureCond) eval(st *evalState) result { return boolResult(st.subj.Secure == bool(c)) }

func (c secureCond) note(st *evalState) string {
	if st.subj.Secure {
		return "secure connection"
	}
	return "connection not secure"
}

// timeOfDayCond compares the subject's clock, as HHMM in its own location.
type timeOfDayCond struct {
	op   Op
	hhmm int
}

func parseHHMM(v string) (int, error) {
	if len(v) != 4 || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf(`timeofday must be four digits "HHMM", not %q`, v)
	}
	h, m := int(v[0]-'0')*10+int(v[1]-'0'), int(v[2]-'0')*10+int(v[3]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("timeofday %q is not a time between 0000 and 2359", v)
	}
	return h*100 + m, nil
}

func compileTimeOfDay(op Op, v string) (condEval, error) {
	n, err := parseHHMM(v)
	if err != nil {
		return nil, err
	}
	// "!=" is applied by the leaf's negation; keep "=" here.
	if op == OpNe {
		op = OpEq
	}
	return &timeOfDayCond{op: op, hhmm: n}, nil
}

func (c *timeOfDayCond) eval(st *evalState) result {
	t := st.subj.Time
	if t.IsZero() {
		return rUndefined
	}
	now := t.Hour()*100 + t.Minute()
	switch c.op {
	case OpLt:
		return boolResult(now < c.hhmm)
	case OpLe:
		return boolResult(now <= c.hhmm)
	case OpGt:
		return boolResult(now > c.hhmm)
	case OpGe:
		return boolResult(now >= c.hhmm)
	}
	return boolResult(now == c.hhmm)
}

func (c *timeOfDayCond) note(st *evalState) string {
	if st.subj.Time.IsZero() {
		return "no clock"
	}
	return "time " + st.subj.Time.Format("1504 MST")
}

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func canonDay(v string) (string, string) {
	for _, d := range dayNames {
		if strings.EqualFold(v, d) {
			return d, ""
		}
	}
	return "", fmt.Sprintf("dayofweek takes sun, mon, tue, wed, thu, fri, sat; not %q", v)
}

type dayOfWeekCond uint8 // bit per time.Weekday

func compileDayOfWeek(vals []string) (condEval, error) {
	var c dayOfWeekCond
	for _, v := range vals {
		for i, d := range dayNames {
			if v == d {
				c |= 1 << i
			}
		}
	}
	return c, nil
}

func (c dayOfWeekCond) eval(st *evalState) result {
	if st.subj.Time.IsZero() {
		return rUndefined
	}
	return boolResult(c&(1<<st.subj.Time.Weekday()) != 0)
}

func (c dayOfWeekCond) note(st *evalState) string {
	if st.subj.Time.IsZero() {
		return "no clock"
	}
	return "day " + strings.ToLower(st.subj.Time.Weekday().String()[:3])
}

// scopeCond is oauthscope: true when the token holds a scope matching any
// pattern (exact and case-sensitive; "*" a wildcard; a lone "*" any scope
// at all). Without a token the result is undefined.
type scopeCond []scopePat

// scopePat is one oauthscope pattern, split on "*" when it has wildcards.
type scopePat struct {
	exact string
	parts []string // nil for an exact pattern
}

func compileScope(vals []string) scopeCond {
	c := make(scopeCond, len(vals))
	for i, v := range vals {
		c[i].exact = v
		if strings.Contains(v, "*") {
			c[i].parts = strings.Split(v, "*")
		}
	}
	return c
}

func checkScopePattern(v string) string {
	for i := 0; i < len(v); i++ {
		c := v[i]
		// RFC 6749 scope-token characters.
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return fmt.Sprintf("invalid character %q in oauthscope value %q", c, v)
		}
	}
	if strings.Contains(v, "**") {
		return fmt.Sprintf("oauthscope pattern %q has a doubled \"*\"", v)
	}
	return ""
}

func (c scopeCond) eval(st *evalState) result {
	if !st.subj.HasToken {
		return rUndefined
	}
	for i := range c {
		p := &c[i]
		for _, s := range st.subj.Scopes {
			if s == p.exact || p.parts != nil && globMatch(p.parts, s) {
				return rTrue
			}
		}
	}
	return rFalse
}

func (c scopeCond) note(st *evalState) string {
	if !st.subj.HasToken {
		return "no OAuth token"
	}
	return fmt.Sprintf("token scopes %q", st.subj.Scopes)
}
