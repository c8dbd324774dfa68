package ldapconn

import (
	"errors"
	"fmt"
	"slices"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// VLVRequest is the Virtual List View request control
// (draft-ietf-ldapext-ldapv3-vlv-09) asking, by offset, for one window of a
// sorted result: the entry at offset (1-based) and after-1 entries after it.
// go-ldap knows the control's OID but does not encode it. It is sent
// critical: a directory that cannot honour it must fail the search rather
// than return every match.
type VLVRequest struct {
	Offset, After int
	// ContextID, from the response to an earlier request on the same
	// connection, asks for a window of the list that request sorted
	// (OpenLDAP's sssvlv keeps it for the connection): no sort again.
	ContextID []byte
}

func (c *VLVRequest) GetControlType() string { return ldap.ControlTypeVLVRequest }

func (c *VLVRequest) Encode() *ber.Packet {
	// VirtualListViewRequest ::= SEQUENCE { beforeCount INTEGER, afterCount INTEGER,
	//   target CHOICE { byOffset [0] SEQUENCE { offset INTEGER, contentCount INTEGER }, ... },
	//   contextID OCTET STRING OPTIONAL }
	val := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "VirtualListViewRequest")
	val.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), "beforeCount"))
	val.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(c.After), "afterCount"))
	off := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "byOffset")
	off.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(c.Offset), "offset"))
	off.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), "contentCount"))
	val.AppendChild(off)
	if c.ContextID != nil {
		val.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(c.ContextID), "contextID"))
	}

	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ldap.ControlTypeVLVRequest, "Control Type"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(val.Bytes()), "Control Value"))
	return p
}

func (c *VLVRequest) String() string {
	return fmt.Sprintf("VLV request: offset %d, %d after", c.Offset, c.After)
}

// VLVResult is what the VLV response control reports.
type VLVResult struct {
	Position, Count int    // the target's position and the number of matches
	Code            int    // 0 on success
	ContextID       []byte // names the sorted list for the next request, if the directory keeps it
}

// ParseVLVResponse finds and decodes the VLV response control among a search
// result's controls.
func ParseVLVResponse(controls []ldap.Control) (VLVResult, error) {
	for _, c := range controls {
		if c.GetControlType() != ldap.ControlTypeVLVResponse {
			continue
		}
		cs, ok := c.(*ldap.ControlString)
		if !ok {
			return VLVResult{}, fmt.Errorf("VLV response control of type %T", c)
		}
		// VirtualListViewResponse ::= SEQUENCE { targetPosition INTEGER,
		//   contentCount INTEGER, virtualListViewResult ENUMERATED, contextID OCTET STRING OPTIONAL }
		p, err := ber.DecodePacketErr([]byte(cs.ControlValue))
		if err != nil {
			return VLVResult{}, fmt.Errorf("VLV response control: %w", err)
		}
		if len(p.Children) < 3 {
			return VLVResult{}, errors.New("VLV response control: too few fields")
		}
		var out [3]int
		for i := range out {
			v, ok := p.Children[i].Value.(int64)
			if !ok || v < 0 || v > 1<<31 {
				return VLVResult{}, fmt.Errorf("VLV response control: field %d is not a count", i+1)
			}
			out[i] = int(v)
		}
		r := VLVResult{Position: out[0], Count: out[1], Code: out[2]}
		if len(p.Children) > 3 {
			if id := p.Children[3].Data.Bytes(); len(id) > 0 {
				r.ContextID = slices.Clone(id)
			}
		}
		return r, nil
	}
	return VLVResult{}, errors.New("no VLV response control")
}

// NewVLVRequest returns the VLV request control for the window of after+1
// entries from offset (1-based), as the gateway sends it; for benchmarks
// and tools that compare with the gateway.
func NewVLVRequest(offset, after int) ldap.Control { return &VLVRequest{Offset: offset, After: after} }

// ResultVLVError is LDAP result code 76, virtualListViewError: the
// directory refused the window, here an offset past the last match.
const ResultVLVError = 76
