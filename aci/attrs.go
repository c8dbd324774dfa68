package aci

import (
	"strings"
	"sync"
	"sync/atomic"
)

// operationalAttrs is the engine's own list of operational attributes, used
// for targetattr="+" and to keep "*" and "!=" lists to user attributes. It
// does not depend on the directory's schema: OpenLDAP, for one, can only
// store aci as a user attribute. Names are lowercased.
var operationalAttrs = map[string]bool{
	"aci": true, "createtimestamp": true, "creatorsname": true, "modifytimestamp": true,
	"modifiersname": true, "entryuuid": true, "entrycsn": true, "entrydn": true,
	"memberof": true, "structuralobjectclass": true, "hassubordinates": true,
	"numsubordinates": true, "subschemasubentry": true, "nsuniqueid": true,
	"contextcsn": true, "entryttl": true, "ismemberof": true,
	"ds-entry-checksum": true, "ds-pwp-account-disabled": true, "nsaccountlock": true,
	"nsroledn": true, "nsrole": true, "objectguid": true, "ds-sync-hist": true,
	"governingstructurerule": true, "collectivesubentries": true, "subschema": true,
	"altserver": true, "namingcontexts": true, "supportedcontrol": true,
	"supportedextension": true, "supportedldapversion": true, "supportedsaslmechanisms": true,
	"supportedfeatures": true, "vendorname": true, "vendorversion": true,
}

// IsOperational reports whether the engine treats attr (any case, options
// ignored) as an operational attribute: the list above, and every pwd*
// password-policy attribute.
func IsOperational(attr string) bool {
	a := baseAttr(attr)
	return operationalAttrs[a] || strings.HasPrefix(a, "pwd") || strings.HasPrefix(a, "ds-pwp-")
}

// attrAliases maps the long names of common attributes to the short names
// the engine keys on, so targetattr="commonName" covers cn.
var attrAliases = map[string]string{
	"commonname": "cn", "surname": "sn", "givenname": "givenname", "gn": "givenname",
	"userid": "uid", "rfc822mailbox": "mail", "domaincomponent": "dc",
	"localityname": "l", "stateorprovincename": "st", "organizationname": "o",
	"organizationalunitname": "ou", "countryname": "c", "streetaddress": "street",
	"facsimiletelephonenumber": "facsimiletelephonenumber", "mobiletelephonenumber": "mobile",
	"pagertelephonenumber": "pager", "homephone": "homephone", "hometelephonenumber": "homephone",
	"userpassword": "userpassword", "2.5.4.3": "cn", "2.5.4.4": "sn", "0.9.2342.19200300.100.1.1": "uid",
	"2.5.4.0": "objectclass", "2.5.4.31": "member", "2.16.840.1.113730.3.1.55": "aci",
}

// baseAttr lowercases attr and drops its options (";lang-en").
func baseAttr(attr string) string {
	if i := strings.IndexByte(attr, ';'); i >= 0 {
		attr = attr[:i]
	}
	for i := 0; i < len(attr); i++ {
		if c := attr[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(attr)
		}
	}
	return attr
}

func canonicalAttr(attr string) string { return CanonicalAttr(attr) }

// canonNames remembers the canonical form of names that are not already
// canonical ("givenName", "cn;lang-en"), so that entries adapted for the
// engine on every request do not lowercase the same few names again and
// again. It holds at most canonNamesMax names: beyond, names are lowercased
// each time.
var (
	canonNames  sync.Map // string -> string
	canonNamesN atomic.Int32
)

const canonNamesMax = 4096

// CanonicalAttr returns the name the engine keys attr on: lowercased,
// without options, long names mapped to short ones. Entry implementations
// store values under this name.
func CanonicalAttr(attr string) string {
	if plainLower(attr) {
		if s, ok := attrAliases[attr]; ok {
			return s
		}
		return attr
	}
	if c, ok := canonNames.Load(attr); ok {
		return c.(string)
	}
	a := baseAttr(attr)
	if s, ok := attrAliases[a]; ok {
		a = s
	}
	if canonNamesN.Load() < canonNamesMax {
		if _, loaded := canonNames.LoadOrStore(strings.Clone(attr), a); !loaded {
			canonNamesN.Add(1)
		}
	}
	return a
}

// plainLower reports whether attr has no upper-case letter and no option.
func plainLower(attr string) bool {
	for i := 0; i < len(attr); i++ {
		if c := attr[i]; c >= 'A' && c <= 'Z' || c == ';' {
			return false
		}
	}
	return true
}
