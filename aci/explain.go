package aci

// Explanation records how a decision was reached: every ACI on the target's
// path, in the order considered, with what it did.
type Explanation struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// Incomplete names an attribute a rule needed of an entry that was
	// read without it (Decision.Incomplete).
	Incomplete string     `json:"incomplete_entry,omitempty"`
	ACIs       []ACITrace `json:"acis"`
}

// ACITrace is one ACI's part in a decision.
type ACITrace struct {
	ACI      string      `json:"aci"`
	Name     string      `json:"name"`
	Location string      `json:"location"` // entry DN, or "global"
	Status   string      `json:"status"`   // allows, denies, not applicable: why, applies but no rule holds
	Rules    []RuleTrace `json:"rules,omitempty"`
}

// RuleTrace is how one allow or deny rule evaluated.
type RuleTrace struct {
	Rule   int         `json:"rule"` // 1-based position in the ACI
	Allow  bool        `json:"allow"`
	Result string      `json:"result"` // true, false, undefined
	Note   string      `json:"note,omitempty"`
	Conds  []CondTrace `json:"conds,omitempty"`
}

func (e *Explanation) finish(d Decision) {
	e.Decision = "deny"
	if d.Allowed {
		e.Decision = "allow"
	}
	e.Reason = d.Reason()
	e.Incomplete = d.Incomplete
}
