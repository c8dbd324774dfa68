// Package ldapfilter parses, prints and evaluates LDAP search filters
// (RFC 4515) and normalizes distinguished names (RFC 4514) for the ACI engine.
//
// # Filters
//
// [Parse] turns filter text into a closed tree of [Filter] values ([And],
// [Or], [Not], [Equality], [Approx], [GreaterOrEqual], [LessOrEqual],
// [Present], [Substrings], [Extensible]); every node prints itself back as
// canonical RFC 4515 text with String, and Parse(f.String()) yields the same
// tree. Assertion values hold raw bytes: "\XX" escapes are decoded when
// parsed and re-escaped when printed. The empty lists "(&)" and "(|)" of
// RFC 4526 are accepted and mean absolute true and absolute false.
// Parenthesized filters nest at most [MaxDepth] levels.
//
// # Evaluation
//
// [Match] (or [Compile] followed by [Compiled.Match] when a filter is used
// more than once) evaluates a filter against an [Entry] with the
// three-valued logic of RFC 4511 section 4.5.1.7: [True], [False] or
// [Undefined]. And is False when any operand is False, else Undefined when
// any is Undefined, else True; Or is the dual; Not swaps True and False and
// keeps Undefined.
//
// Attribute names are case-insensitive and options in the filter ("cn;lang-en")
// are ignored: the matcher calls [Entry.Values] with the lowercased attribute
// type without options, so an Entry must store its attributes under
// lowercased names. "entryDN" falls back to [Entry.DN] when the entry stores
// no entryDN values.
//
// An item is Undefined when its assertion value is not valid for the
// attribute's syntax, or the syntax has no rule for the operator, whether or
// not the entry holds the attribute. Otherwise it is True when some stored
// value matches, Undefined when none matches but some stored value is not
// valid for the syntax, and False otherwise; in particular an item (Present
// included) is False when the entry lacks the attribute.
//
// Each attribute has a syntax from a built-in table ([SyntaxOf]):
//
//   - [SyntaxDN] (member, uniqueMember, owner, manager, seeAlso, memberOf,
//     creatorsName, entryDN, ...): equality compares [NormalizeDN] forms, so
//     spacing and case in DNs do not matter; a value that is not a valid DN
//     is compared as a case-folded string. Substrings match
//     case-insensitively within the normalized form; ordering is Undefined.
//   - [SyntaxInteger] (uidNumber, gidNumber, numSubordinates, shadow* and
//     pwd* counters): numeric equality and ordering of integers of any size;
//     a value that is not an integer is Undefined; substrings are Undefined.
//   - [SyntaxGeneralizedTime] (createTimestamp, modifyTimestamp,
//     pwdChangedTime, ...): equality and ordering of the instants named;
//     substrings are Undefined.
//   - [SyntaxBoolean] (hasSubordinates, pwdReset, ...): TRUE or FALSE in any
//     case; ordering and substrings are Undefined.
//   - [SyntaxOctetString] (userPassword): byte-exact equality, byte
//     ordering and byte substrings.
//   - [SyntaxCaseExact] (aci): like the default but case-sensitive.
//   - [SyntaxCaseIgnore], the default (objectClass, uid, cn, entryUUID, ...):
//     values are prepared by trimming leading and trailing white space,
//     collapsing inner runs of white space to one space and lowercasing;
//     equality, ordering (byte order of the prepared forms) and substrings
//     compare prepared forms. In substrings the initial piece loses its
//     leading and the final piece its trailing space.
//
// Approximate match (~=) is case-ignore equality after removing all white
// space for the string syntaxes and plain equality for the others.
//
// Extensible match supports the rules caseIgnoreMatch (2.5.13.2),
// caseExactMatch (2.5.13.5), distinguishedNameMatch (2.5.13.1), booleanMatch
// (2.5.13.13), integerMatch (2.5.13.14), octetStringMatch (2.5.13.17),
// generalizedTimeMatch (2.5.13.27), caseIgnoreIA5Match and caseExactIA5Match;
// without a rule the attribute's equality rule applies, and an unknown rule
// makes the item Undefined. With ":dn:" the rule is also applied to the
// attribute value assertions of the entry's DN. An Entry cannot list its
// attributes, so an extensible item without an attribute is True when a DN
// value matches and Undefined otherwise.
//
// # Distinguished names
//
// [NormalizeDN] gives the canonical form that DN comparisons in this package
// and in the ACI engine rely on; [SplitDN], [ParentDN] and [IsDescendant]
// work on that form.
package ldapfilter
