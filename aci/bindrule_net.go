package aci

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ipItem is one entry of an ip list: any address, an IPv4 pattern with
// "*" octets, or a prefix (CIDR, or an address with a "+netmask").
type ipItem struct {
	any      bool
	wildcard []int // 4 octets, -1 for "*"
	prefix   netip.Prefix
	mask     [4]byte // for +netmask forms
	maskNet  [4]byte
	hasMask  bool
}

func parseIPItem(s string) (ipItem, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return ipItem{any: true}, nil
	}
	if strings.Contains(s, "*") {
		parts := strings.Split(s, ".")
		if len(parts) != 4 {
			return ipItem{}, fmt.Errorf("IPv4 pattern %q needs four parts", s)
		}
		it := ipItem{wildcard: make([]int, 4)}
		for i, p := range parts {
			if p == "*" {
				it.wildcard[i] = -1
				continue
			}
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 255 {
				return ipItem{}, fmt.Errorf("invalid octet %q in %q", p, s)
			}
			it.wildcard[i] = n
		}
		return it, nil
	}
	if addr, mask, ok := strings.Cut(s, "+"); ok {
		a, err := netip.ParseAddr(addr)
		m, err2 := netip.ParseAddr(mask)
		if err != nil || err2 != nil || !a.Is4() || !m.Is4() {
			return ipItem{}, fmt.Errorf("invalid address+netmask %q", s)
		}
		it := ipItem{hasMask: true, mask: m.As4()}
		a4 := a.As4()
		for i := range a4 {
			it.maskNet[i] = a4[i] & it.mask[i]
		}
		return it, nil
	}
	s = strings.TrimPrefix(s, "[")
	s = strings.Replace(s, "]", "", 1)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return ipItem{}, fmt.Errorf("invalid address prefix %q", s)
		}
		return ipItem{prefix: p.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ipItem{}, fmt.Errorf("invalid IP address %q", s)
	}
	a = a.Unmap()
	return ipItem{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
}

func (it *ipItem) match(a netip.Addr) bool {
	switch {
	case it.any:
		return true
	case it.wildcard != nil:
		if !a.Is4() {
			return false
		}
		b := a.As4()
		for i, w := range it.wildcard {
			if w >= 0 && int(b[i]) != w {
				return false
			}
		}
		return true
	case it.hasMask:
		if !a.Is4() {
			return false
		}
		b := a.As4()
		for i := range b {
			if b[i]&it.mask[i] != it.maskNet[i] {
				return false
			}
		}
		return true
	}
	return it.prefix.Contains(a)
}

type ipCond struct{ items []ipItem }

func compileIP(vals []string) (condEval, error) {
	c := &ipCond{}
	for _, v := range vals {
		it, err := parseIPItem(v)
		if err != nil {
			return nil, err
		}
		c.items = append(c.items, it)
	}
	return c, nil
}

func (c *ipCond) eval(st *evalState) result {
	if !st.subj.IP.IsValid() {
		return rUndefined
	}
	a := st.subj.IP.Unmap()
	for i := range c.items {
		if c.items[i].match(a) {
			return rTrue
		}
	}
	return rFalse
}

func (c *ipCond) note(st *evalState) string {
	if !st.subj.IP.IsValid() {
		return "client address unknown"
	}
	return "client address " + st.subj.IP.String()
}

// dnsCond matches the client's host name against names and "*.domain"
// patterns, case-insensitively.
type dnsCond []string

func canonDNS(v string) (string, string) {
	v = strings.ToLower(strings.TrimSuffix(v, "."))
	if v == "*" {
		return v, ""
	}
	for i, label := range strings.Split(v, ".") {
		if label == "*" && i == 0 {
			continue
		}
		if label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return "", fmt.Sprintf("invalid host name %q in dns (\"*\" may only be the leftmost label)", v)
		}
	}
	return v, ""
}

func (c dnsCond) eval(st *evalState) result {
	host := strings.ToLower(strings.TrimSuffix(st.subj.Host, "."))
	if host == "" {
		return rUndefined
	}
	for _, p := range c {
		if p == "*" || p == host {
			return rTrue
		}
		if strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:]) {
			return rTrue
		}
	}
	return rFalse
}

func (c dnsCond) note(st *evalState) string {
	if st.subj.Host == "" {
		return "client host name unknown"
	}
	return "client host " + st.subj.Host
}
