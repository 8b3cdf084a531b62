package rsp

import (
	"encoding/asn1"
	"fmt"

	"github.com/smdpp/smdpp/tlv"
)

// VersionType is a version coded major, minor, revision in one octet each: {2, 2, 0} is v2.2.0
// (SGP.22 Annex H, VersionType).
type VersionType [3]byte

// String returns the version as "2.2.0".
func (v VersionType) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

func (d *decoder) version(tag tlv.Tag, field string) VersionType {
	var v VersionType
	copy(v[:], d.octets(tag, field, 3, 3))
	return v
}

func (d *decoder) optVersion(tag tlv.Tag, field string) *VersionType {
	if !d.present(tag) {
		return nil
	}
	v := d.version(tag, field)
	return &v
}

func (e encoder) optVersion(tag tlv.Tag, v *VersionType) {
	if v != nil {
		e.b.AddValue(tag, v[:])
	}
}

// keyIDs reads a SEQUENCE OF SubjectKeyIdentifier (CI public key identifiers).
func (d *decoder) keyIDs(tag tlv.Tag, field string) [][]byte {
	ids := [][]byte{}
	d.seqOf(tag, field, func(c *decoder) {
		ids = append(ids, c.octets(tlv.TagOctetString, "SubjectKeyIdentifier", 0, unbounded))
	})
	return ids
}

func (e encoder) keyIDs(tag tlv.Tag, field string, ids [][]byte) {
	e.seq(tag, field, func(e encoder) {
		for _, id := range ids {
			e.octets(tlv.TagOctetString, "SubjectKeyIdentifier", id, 0, unbounded)
		}
	})
}

// Tags of the types in this file.
const (
	tagEUICCInfo1         tlv.Tag = 0xBF20 // [32]
	tagEUICCInfo2         tlv.Tag = 0xBF22 // [34]
	tagGetEuiccChallenge  tlv.Tag = 0xBF2E // [46]
	tagCertificationData  tlv.Tag = 0xAC   // [12]
	tagKeyIDsVerification tlv.Tag = 0xA9   // [9]
	tagKeyIDsSigning      tlv.Tag = 0xAA   // [10]
)

// GetEuiccInfo1Request is the ES10b.GetEUICCInfo request for EUICCInfo1 (SGP.22 §5.7.8), tag BF20,
// normally empty: BF20 00.
type GetEuiccInfo1Request struct {
	Extensions []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *GetEuiccInfo1Request) Marshal() ([]byte, error) {
	return marshal(tagEUICCInfo1, "GetEuiccInfo1Request", func(e encoder) { e.extensions(r.Extensions) })
}

// Unmarshal decodes der, which must be exactly one GetEuiccInfo1Request.
func (r *GetEuiccInfo1Request) Unmarshal(der []byte) error {
	var v GetEuiccInfo1Request
	_, err := unmarshal(der, tagEUICCInfo1, "GetEuiccInfo1Request", func(d *decoder) { v.Extensions = d.extensions() })
	if err == nil {
		*r = v
	}
	return err
}

// GetEuiccInfo2Request is the ES10b.GetEUICCInfo request for EUICCInfo2 (SGP.22 §5.7.8), tag BF22,
// normally empty: BF22 00.
type GetEuiccInfo2Request struct {
	Extensions []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *GetEuiccInfo2Request) Marshal() ([]byte, error) {
	return marshal(tagEUICCInfo2, "GetEuiccInfo2Request", func(e encoder) { e.extensions(r.Extensions) })
}

// Unmarshal decodes der, which must be exactly one GetEuiccInfo2Request.
func (r *GetEuiccInfo2Request) Unmarshal(der []byte) error {
	var v GetEuiccInfo2Request
	_, err := unmarshal(der, tagEUICCInfo2, "GetEuiccInfo2Request", func(d *decoder) { v.Extensions = d.extensions() })
	if err == nil {
		*r = v
	}
	return err
}

// EUICCInfo1 is the eUICC information sent to the SM-DP+ in ES9+.InitiateAuthentication
// (SGP.22 §5.7.8, §5.6.1), tag BF20. Its CI key id lists tell the SM-DP+ which CI keys the eUICC
// can verify and sign with.
type EUICCInfo1 struct {
	SVN                            VersionType // [2] GSMA SGP.22 version supported
	EuiccCiPKIdListForVerification [][]byte    // [9] SEQUENCE OF SubjectKeyIdentifier
	EuiccCiPKIdListForSigning      [][]byte    // [10] SEQUENCE OF SubjectKeyIdentifier
	Extensions                     []byte      // fields of later SGP.22 versions, as received; written back by Marshal
}

func (v *EUICCInfo1) marshalBody(e encoder) {
	e.b.AddValue(0x82, v.SVN[:])
	e.keyIDs(tagKeyIDsVerification, "euiccCiPKIdListForVerification", v.EuiccCiPKIdListForVerification)
	e.keyIDs(tagKeyIDsSigning, "euiccCiPKIdListForSigning", v.EuiccCiPKIdListForSigning)
	e.extensions(v.Extensions)
}

func (v *EUICCInfo1) unmarshalBody(d *decoder) {
	v.SVN = d.version(0x82, "svn")
	v.EuiccCiPKIdListForVerification = d.keyIDs(tagKeyIDsVerification, "euiccCiPKIdListForVerification")
	v.EuiccCiPKIdListForSigning = d.keyIDs(tagKeyIDsSigning, "euiccCiPKIdListForSigning")
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v.
func (v *EUICCInfo1) Marshal() ([]byte, error) {
	return marshal(tagEUICCInfo1, "EUICCInfo1", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one EUICCInfo1.
func (v *EUICCInfo1) Unmarshal(der []byte) error {
	var x EUICCInfo1
	_, err := unmarshal(der, tagEUICCInfo1, "EUICCInfo1", x.unmarshalBody)
	if err == nil {
		*v = x
	}
	return err
}

// EUICCInfo2 is the detailed eUICC information signed into euiccSigned1 of
// AuthenticateServerResponse (SGP.22 §5.7.8, §5.7.13), tag BF22. The SM-DP+ checks it for
// eligibility: versions, capabilities, free memory in extCardResource.
type EUICCInfo2 struct {
	ProfileVersion                 VersionType              // [1] SIMalliance profile package version supported
	SVN                            VersionType              // [2] GSMA SGP.22 version supported
	EuiccFirmwareVer               VersionType              // [3]
	ExtCardResource                []byte                   // [4] ETSI TS 102 226 extended card resource information
	UICCCapability                 asn1.BitString           // [5] bits UICCCapability*
	JavacardVersion                *VersionType             // [6] OPTIONAL
	GlobalplatformVersion          *VersionType             // [7] OPTIONAL
	RspCapability                  asn1.BitString           // [8] bits RspCapability*
	EuiccCiPKIdListForVerification [][]byte                 // [9] SEQUENCE OF SubjectKeyIdentifier
	EuiccCiPKIdListForSigning      [][]byte                 // [10] SEQUENCE OF SubjectKeyIdentifier
	EuiccCategory                  *EuiccCategory           // [11] OPTIONAL
	ForbiddenProfilePolicyRules    *asn1.BitString          // [25] PprIds OPTIONAL, tag 99
	PpVersion                      VersionType              // protection profile version, universal OCTET STRING
	SasAcreditationNumber          string                   // UTF8String (SIZE(0..64))
	CertificationDataObject        *CertificationDataObject // [12] OPTIONAL
	Extensions                     []byte                   // v3 fields (lpaMode, euiccCiPKIdListForSigningV3 …), as received; written back by Marshal
}

// CertificationDataObject identifies the eUICC's DLOA registrar entry (SGP.22 §5.7.8).
type CertificationDataObject struct {
	PlatformLabel    string // [0] UTF8String
	DiscoveryBaseURL string // [1] UTF8String
	Extensions       []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

func (v *EUICCInfo2) marshalBody(e encoder) {
	e.b.AddValue(0x81, v.ProfileVersion[:])
	e.b.AddValue(0x82, v.SVN[:])
	e.b.AddValue(0x83, v.EuiccFirmwareVer[:])
	e.octets(0x84, "extCardResource", v.ExtCardResource, 0, unbounded)
	e.bits(0x85, v.UICCCapability)
	e.optVersion(0x86, v.JavacardVersion)
	e.optVersion(0x87, v.GlobalplatformVersion)
	e.bits(0x88, v.RspCapability)
	e.keyIDs(tagKeyIDsVerification, "euiccCiPKIdListForVerification", v.EuiccCiPKIdListForVerification)
	e.keyIDs(tagKeyIDsSigning, "euiccCiPKIdListForSigning", v.EuiccCiPKIdListForSigning)
	e.optInteger(0x8B, (*int64)(v.EuiccCategory))
	e.optBits(0x99, v.ForbiddenProfilePolicyRules)
	e.b.AddValue(tlv.TagOctetString, v.PpVersion[:])
	e.utf8(tlv.TagUTF8String, "sasAcreditationNumber", v.SasAcreditationNumber, 64)
	if c := v.CertificationDataObject; c != nil {
		e.seq(tagCertificationData, "certificationDataObject", func(e encoder) {
			e.utf8(0x80, "platformLabel", c.PlatformLabel, unbounded)
			e.utf8(0x81, "discoveryBaseURL", c.DiscoveryBaseURL, unbounded)
			e.extensions(c.Extensions)
		})
	}
	e.extensions(v.Extensions)
}

func (v *EUICCInfo2) unmarshalBody(d *decoder) {
	v.ProfileVersion = d.version(0x81, "profileVersion")
	v.SVN = d.version(0x82, "svn")
	v.EuiccFirmwareVer = d.version(0x83, "euiccFirmwareVer")
	v.ExtCardResource = d.octets(0x84, "extCardResource", 0, unbounded)
	v.UICCCapability = d.bits(0x85, "uiccCapability")
	v.JavacardVersion = d.optVersion(0x86, "javacardVersion")
	v.GlobalplatformVersion = d.optVersion(0x87, "globalplatformVersion")
	v.RspCapability = d.bits(0x88, "rspCapability")
	v.EuiccCiPKIdListForVerification = d.keyIDs(tagKeyIDsVerification, "euiccCiPKIdListForVerification")
	v.EuiccCiPKIdListForSigning = d.keyIDs(tagKeyIDsSigning, "euiccCiPKIdListForSigning")
	v.EuiccCategory = (*EuiccCategory)(d.optInteger(0x8B, "euiccCategory"))
	v.ForbiddenProfilePolicyRules = d.optBits(0x99, "forbiddenProfilePolicyRules")
	v.PpVersion = d.version(tlv.TagOctetString, "ppVersion")
	v.SasAcreditationNumber = d.utf8(tlv.TagUTF8String, "sasAcreditationNumber", 64)
	if d.present(tagCertificationData) {
		c := new(CertificationDataObject)
		d.seq(tagCertificationData, "certificationDataObject", func(d *decoder) {
			c.PlatformLabel = d.utf8(0x80, "platformLabel", unbounded)
			c.DiscoveryBaseURL = d.utf8(0x81, "discoveryBaseURL", unbounded)
			c.Extensions = d.extensions()
		})
		v.CertificationDataObject = c
	}
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v.
func (v *EUICCInfo2) Marshal() ([]byte, error) {
	return marshal(tagEUICCInfo2, "EUICCInfo2", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one EUICCInfo2.
func (v *EUICCInfo2) Unmarshal(der []byte) error {
	var x EUICCInfo2
	_, err := unmarshal(der, tagEUICCInfo2, "EUICCInfo2", x.unmarshalBody)
	if err == nil {
		*v = x
	}
	return err
}

// GetEuiccChallengeRequest is the ES10b.GetEUICCChallenge request (SGP.22 §5.7.7), tag BF2E,
// normally empty: BF2E 00.
type GetEuiccChallengeRequest struct {
	Extensions []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *GetEuiccChallengeRequest) Marshal() ([]byte, error) {
	return marshal(tagGetEuiccChallenge, "GetEuiccChallengeRequest", func(e encoder) { e.extensions(r.Extensions) })
}

// Unmarshal decodes der, which must be exactly one GetEuiccChallengeRequest.
func (r *GetEuiccChallengeRequest) Unmarshal(der []byte) error {
	var v GetEuiccChallengeRequest
	_, err := unmarshal(der, tagGetEuiccChallenge, "GetEuiccChallengeRequest", func(d *decoder) { v.Extensions = d.extensions() })
	if err == nil {
		*r = v
	}
	return err
}

// GetEuiccChallengeResponse carries the eUICC's 16-octet random challenge (SGP.22 §5.7.7),
// tag BF2E.
type GetEuiccChallengeResponse struct {
	EuiccChallenge []byte // [0] Octet16
	Extensions     []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *GetEuiccChallengeResponse) Marshal() ([]byte, error) {
	return marshal(tagGetEuiccChallenge, "GetEuiccChallengeResponse", func(e encoder) {
		e.octets(0x80, "euiccChallenge", r.EuiccChallenge, 16, 16)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one GetEuiccChallengeResponse.
func (r *GetEuiccChallengeResponse) Unmarshal(der []byte) error {
	var v GetEuiccChallengeResponse
	_, err := unmarshal(der, tagGetEuiccChallenge, "GetEuiccChallengeResponse", func(d *decoder) {
		v.EuiccChallenge = d.octets(0x80, "euiccChallenge", 16, 16)
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}
