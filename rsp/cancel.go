package rsp

import (
	"encoding/asn1"

	"github.com/smdpp/smdpp/tlv"
)

const tagCancelSession tlv.Tag = 0xBF41 // [65]

// CancelSessionRequest is the ES10b.CancelSession command (SGP.22 §5.7.14), tag BF41.
type CancelSessionRequest struct {
	TransactionID []byte              // [0] TransactionId, 1 to 16 octets
	Reason        CancelSessionReason // [1]
	Extensions    []byte              // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *CancelSessionRequest) Marshal() ([]byte, error) {
	return marshal(tagCancelSession, "CancelSessionRequest", func(e encoder) {
		e.octets(0x80, "transactionId", r.TransactionID, 1, 16)
		e.integer(0x81, int64(r.Reason))
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one CancelSessionRequest.
func (r *CancelSessionRequest) Unmarshal(der []byte) error {
	var v CancelSessionRequest
	_, err := unmarshal(der, tagCancelSession, "CancelSessionRequest", func(d *decoder) {
		v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
		v.Reason = CancelSessionReason(d.integer(0x81, "reason"))
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// EuiccCancelSessionSigned is the data the eUICC signs when cancelling a session
// (SGP.22 §5.7.14), verified by the SM-DP+ in ES9+.CancelSession (§5.6.5). A SEQUENCE, tag 30.
type EuiccCancelSessionSigned struct {
	TransactionID []byte                // [0] TransactionId, 1 to 16 octets
	SmdpOid       asn1.ObjectIdentifier // [1] the SM-DP+ OID of CERT.DPauth
	Reason        CancelSessionReason   // [2]
	Extensions    []byte                // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and by CancelSessionResponse;
	// euiccCancelSessionSignature is verified over exactly these bytes. Marshal ignores it.
	Raw []byte
}

func (v *EuiccCancelSessionSigned) marshalBody(e encoder) {
	e.octets(0x80, "transactionId", v.TransactionID, 1, 16)
	e.oid(0x81, "smdpOid", v.SmdpOid)
	e.integer(0x82, int64(v.Reason))
	e.extensions(v.Extensions)
}

func (v *EuiccCancelSessionSigned) unmarshalBody(d *decoder) {
	v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	v.SmdpOid = d.oid(0x81, "smdpOid")
	v.Reason = CancelSessionReason(d.integer(0x82, "reason"))
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v: the bytes to sign for euiccCancelSessionSignature.
func (v *EuiccCancelSessionSigned) Marshal() ([]byte, error) {
	return marshal(tlv.TagSequence, "EuiccCancelSessionSigned", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one EuiccCancelSessionSigned, and keeps it in Raw.
func (v *EuiccCancelSessionSigned) Unmarshal(der []byte) error {
	var x EuiccCancelSessionSigned
	raw, err := unmarshal(der, tlv.TagSequence, "EuiccCancelSessionSigned", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// CancelSessionResponseOk is the success alternative of CancelSessionResponse (SGP.22 §5.7.14).
type CancelSessionResponseOk struct {
	EuiccCancelSessionSigned    EuiccCancelSessionSigned // Raw holds the signed bytes
	EuiccCancelSessionSignature []byte                   // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	Extensions                  []byte                   // fields of later SGP.22 versions, as received; written back by Marshal
}

// CancelSessionResponse is the eUICC's answer to ES10b.CancelSession, which the LPA forwards
// in ES9+.CancelSession (SGP.22 §5.7.14, §5.6.5), tag BF41. Exactly one alternative is set.
type CancelSessionResponse struct {
	CancelSessionResponseOk    *CancelSessionResponseOk    // [0], tag A0
	CancelSessionResponseError *CancelSessionResponseError // [1], tag 81
}

// Marshal returns the DER encoding of r.
func (r *CancelSessionResponse) Marshal() ([]byte, error) {
	return marshal(tagCancelSession, "CancelSessionResponse", func(e encoder) {
		if !oneOf(e, r.CancelSessionResponseOk != nil, r.CancelSessionResponseError != nil) {
			return
		}
		if r.CancelSessionResponseError != nil {
			e.integer(0x81, int64(*r.CancelSessionResponseError))
			return
		}
		ok := r.CancelSessionResponseOk
		e.seq(0xA0, "cancelSessionResponseOk", func(e encoder) {
			e.seq(tlv.TagSequence, "euiccCancelSessionSigned", ok.EuiccCancelSessionSigned.marshalBody)
			e.octets(tagSignature, "euiccCancelSessionSignature", ok.EuiccCancelSessionSignature, 0, unbounded)
			e.extensions(ok.Extensions)
		})
	})
}

// Unmarshal decodes der, which must be exactly one CancelSessionResponse.
func (r *CancelSessionResponse) Unmarshal(der []byte) error {
	var v CancelSessionResponse
	_, err := unmarshal(der, tagCancelSession, "CancelSessionResponse", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			ok := new(CancelSessionResponseOk)
			d.seq(0xA0, "cancelSessionResponseOk", func(d *decoder) {
				s := &ok.EuiccCancelSessionSigned
				s.Raw = d.seq(tlv.TagSequence, "euiccCancelSessionSigned", s.unmarshalBody)
				ok.EuiccCancelSessionSignature = d.octets(tagSignature, "euiccCancelSessionSignature", 0, unbounded)
				ok.Extensions = d.extensions()
			})
			v.CancelSessionResponseOk = ok
		case 0x81:
			e := CancelSessionResponseError(d.integer(0x81, "cancelSessionResponseError"))
			v.CancelSessionResponseError = &e
		default:
			d.missing(0xA0, "", "cancelSessionResponseOk or cancelSessionResponseError")
		}
	})
	if err == nil {
		*r = v
	}
	return err
}
