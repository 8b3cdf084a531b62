package rsp

import (
	"encoding/asn1"

	"github.com/smdpp/smdpp/tlv"
)

// Tags of the types in this file.
const (
	tagPrepareDownload tlv.Tag = 0xBF21 // [33]
	tagStoreMetadata   tlv.Tag = 0xBF25 // [37]
	tagOtpk            tlv.Tag = 0x5F49 // [APPLICATION 73]
	tagIccid           tlv.Tag = 0x5A   // [APPLICATION 26]
)

// SmdpSigned2 is the data the SM-DP+ signs with its CERT.DPpb key in ES9+.AuthenticateClient
// (SGP.22 §5.6.3); smdpSignature2 covers these bytes followed by 5F37 40 ‖ euiccSignature1.
// A SEQUENCE, tag 30.
type SmdpSigned2 struct {
	TransactionID  []byte // [0] TransactionId, 1 to 16 octets
	CcRequiredFlag bool   // whether the Confirmation Code is required
	BppEuiccOtpk   []byte // [APPLICATION 73] OPTIONAL, tag 5F49: otPK.EUICC.ECKA already used for binding (nil if absent)
	Extensions     []byte // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and by PrepareDownloadRequest; the
	// eUICC verifies smdpSignature2 over these bytes. Marshal ignores it.
	Raw []byte
}

func (v *SmdpSigned2) marshalBody(e encoder) {
	e.octets(0x80, "transactionId", v.TransactionID, 1, 16)
	e.b.AddBool(tlv.TagBoolean, v.CcRequiredFlag)
	e.optOctets(tagOtpk, "bppEuiccOtpk", v.BppEuiccOtpk, 0, unbounded)
	e.extensions(v.Extensions)
}

func (v *SmdpSigned2) unmarshalBody(d *decoder) {
	v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	v.CcRequiredFlag = d.boolean(tlv.TagBoolean, "ccRequiredFlag")
	v.BppEuiccOtpk = d.optOctets(tagOtpk, "bppEuiccOtpk", 0, unbounded)
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v: the first part of the bytes to sign for smdpSignature2.
func (v *SmdpSigned2) Marshal() ([]byte, error) {
	return marshal(tlv.TagSequence, "SmdpSigned2", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one SmdpSigned2, and keeps it in Raw.
func (v *SmdpSigned2) Unmarshal(der []byte) error {
	var x SmdpSigned2
	raw, err := unmarshal(der, tlv.TagSequence, "SmdpSigned2", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// PrepareDownloadRequest is the ES10b.PrepareDownload command (SGP.22 §5.7.5), tag BF21, built by
// the LPA from the ES9+.AuthenticateClient output. The virtual eUICC decodes it.
type PrepareDownloadRequest struct {
	SmdpSigned2     SmdpSigned2 // Raw holds the received bytes smdpSignature2 covers
	SmdpSignature2  []byte      // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	HashCc          []byte      // Octet32 OPTIONAL: hash of the confirmation code (nil if absent)
	SmdpCertificate []byte      // CERT.DPpb.ECDSA, DER, not parsed here
	Extensions      []byte      // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *PrepareDownloadRequest) Marshal() ([]byte, error) {
	return marshal(tagPrepareDownload, "PrepareDownloadRequest", func(e encoder) {
		e.seq(tlv.TagSequence, "smdpSigned2", r.SmdpSigned2.marshalBody)
		e.octets(tagSignature, "smdpSignature2", r.SmdpSignature2, 0, unbounded)
		e.optOctets(tlv.TagOctetString, "hashCc", r.HashCc, 32, 32)
		e.certificate("smdpCertificate", r.SmdpCertificate)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one PrepareDownloadRequest.
func (r *PrepareDownloadRequest) Unmarshal(der []byte) error {
	var v PrepareDownloadRequest
	_, err := unmarshal(der, tagPrepareDownload, "PrepareDownloadRequest", func(d *decoder) {
		v.SmdpSigned2.Raw = d.seq(tlv.TagSequence, "smdpSigned2", v.SmdpSigned2.unmarshalBody)
		v.SmdpSignature2 = d.octets(tagSignature, "smdpSignature2", 0, unbounded)
		v.HashCc = d.optOctets(tlv.TagOctetString, "hashCc", 32, 32)
		v.SmdpCertificate = d.certificate("smdpCertificate")
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// EUICCSigned2 is the data the eUICC signs in ES10b.PrepareDownload (SGP.22 §5.7.5);
// euiccSignature2 covers these bytes followed by 5F37 40 ‖ smdpSignature2. A SEQUENCE, tag 30.
type EUICCSigned2 struct {
	TransactionID []byte // [0] TransactionId, 1 to 16 octets
	EuiccOtpk     []byte // [APPLICATION 73], tag 5F49: otPK.EUICC.ECKA (uncompressed point)
	HashCc        []byte // Octet32 OPTIONAL (nil if absent)
	Extensions    []byte // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and by PrepareDownloadResponse;
	// euiccSignature2 is verified over these bytes, never over a re-encoding. Marshal ignores it.
	Raw []byte
}

func (v *EUICCSigned2) marshalBody(e encoder) {
	e.octets(0x80, "transactionId", v.TransactionID, 1, 16)
	e.octets(tagOtpk, "euiccOtpk", v.EuiccOtpk, 0, unbounded)
	e.optOctets(tlv.TagOctetString, "hashCc", v.HashCc, 32, 32)
	e.extensions(v.Extensions)
}

func (v *EUICCSigned2) unmarshalBody(d *decoder) {
	v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	v.EuiccOtpk = d.octets(tagOtpk, "euiccOtpk", 0, unbounded)
	v.HashCc = d.optOctets(tlv.TagOctetString, "hashCc", 32, 32)
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v: the first part of the bytes to sign for euiccSignature2.
func (v *EUICCSigned2) Marshal() ([]byte, error) {
	return marshal(tlv.TagSequence, "EUICCSigned2", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one EUICCSigned2, and keeps it in Raw.
func (v *EUICCSigned2) Unmarshal(der []byte) error {
	var x EUICCSigned2
	raw, err := unmarshal(der, tlv.TagSequence, "EUICCSigned2", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// PrepareDownloadResponseOk is the success alternative of PrepareDownloadResponse (SGP.22 §5.7.5).
type PrepareDownloadResponseOk struct {
	EUICCSigned2    EUICCSigned2 // Raw holds the received bytes euiccSignature2 covers
	EuiccSignature2 []byte       // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	Extensions      []byte       // fields of later SGP.22 versions, as received; written back by Marshal
}

// PrepareDownloadResponseError is the error alternative of PrepareDownloadResponse
// (SGP.22 §5.7.5).
type PrepareDownloadResponseError struct {
	TransactionID     []byte // [0] TransactionId, 1 to 16 octets
	DownloadErrorCode DownloadErrorCode
	Extensions        []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// PrepareDownloadResponse is the eUICC's answer to ES10b.PrepareDownload, which the LPA forwards
// in ES9+.GetBoundProfilePackage (SGP.22 §5.7.5, §5.6.2), tag BF21. Exactly one alternative is
// set.
type PrepareDownloadResponse struct {
	DownloadResponseOk    *PrepareDownloadResponseOk    // [0], tag A0
	DownloadResponseError *PrepareDownloadResponseError // [1], tag A1
}

// Marshal returns the DER encoding of r.
func (r *PrepareDownloadResponse) Marshal() ([]byte, error) {
	return marshal(tagPrepareDownload, "PrepareDownloadResponse", func(e encoder) {
		if !oneOf(e, r.DownloadResponseOk != nil, r.DownloadResponseError != nil) {
			return
		}
		if ok := r.DownloadResponseOk; ok != nil {
			e.seq(0xA0, "downloadResponseOk", func(e encoder) {
				e.seq(tlv.TagSequence, "euiccSigned2", ok.EUICCSigned2.marshalBody)
				e.octets(tagSignature, "euiccSignature2", ok.EuiccSignature2, 0, unbounded)
				e.extensions(ok.Extensions)
			})
			return
		}
		er := r.DownloadResponseError
		e.seq(0xA1, "downloadResponseError", func(e encoder) {
			e.octets(0x80, "transactionId", er.TransactionID, 1, 16)
			e.integer(tlv.TagInteger, int64(er.DownloadErrorCode))
			e.extensions(er.Extensions)
		})
	})
}

// Unmarshal decodes der, which must be exactly one PrepareDownloadResponse.
func (r *PrepareDownloadResponse) Unmarshal(der []byte) error {
	var v PrepareDownloadResponse
	_, err := unmarshal(der, tagPrepareDownload, "PrepareDownloadResponse", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			ok := new(PrepareDownloadResponseOk)
			d.seq(0xA0, "downloadResponseOk", func(d *decoder) {
				ok.EUICCSigned2.Raw = d.seq(tlv.TagSequence, "euiccSigned2", ok.EUICCSigned2.unmarshalBody)
				ok.EuiccSignature2 = d.octets(tagSignature, "euiccSignature2", 0, unbounded)
				ok.Extensions = d.extensions()
			})
			v.DownloadResponseOk = ok
		case 0xA1:
			er := new(PrepareDownloadResponseError)
			d.seq(0xA1, "downloadResponseError", func(d *decoder) {
				er.TransactionID = d.octets(0x80, "transactionId", 1, 16)
				er.DownloadErrorCode = DownloadErrorCode(d.integer(tlv.TagInteger, "downloadErrorCode"))
				er.Extensions = d.extensions()
			})
			v.DownloadResponseError = er
		default:
			d.missing(0xA0, "", "downloadResponseOk or downloadResponseError")
		}
	})
	if err == nil {
		*r = v
	}
	return err
}

// NotificationConfigurationInformation names the server to notify for some Profile management
// operations (SGP.22 §5.5.3).
type NotificationConfigurationInformation struct {
	ProfileManagementOperation asn1.BitString // [0] NotificationEvent: bits Notification*
	NotificationAddress        string         // [1] UTF8String: FQDN
	Extensions                 []byte         // fields of later SGP.22 versions, as received; written back by Marshal
}

// OperatorID identifies the Profile Owner (SGP.22 §5.5.3).
type OperatorID struct {
	MccMnc     []byte // [0] OCTET STRING (SIZE(3)), 3GPP TS 24.008 coding
	Gid1       []byte // [1] OPTIONAL: content of EF GID1 (nil if absent)
	Gid2       []byte // [2] OPTIONAL: content of EF GID2 (nil if absent)
	Extensions []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

func (v *OperatorID) marshalBody(e encoder) {
	e.octets(0x80, "mccMnc", v.MccMnc, 3, 3)
	e.optOctets(0x81, "gid1", v.Gid1, 0, unbounded)
	e.optOctets(0x82, "gid2", v.Gid2, 0, unbounded)
	e.extensions(v.Extensions)
}

func (v *OperatorID) unmarshalBody(d *decoder) {
	v.MccMnc = d.octets(0x80, "mccMnc", 3, 3)
	v.Gid1 = d.optOctets(0x81, "gid1", 0, unbounded)
	v.Gid2 = d.optOctets(0x82, "gid2", 0, unbounded)
	v.Extensions = d.extensions()
}

func (e encoder) notificationConfig(tag tlv.Tag, list []NotificationConfigurationInformation) {
	e.seq(tag, "notificationConfigurationInfo", func(e encoder) {
		for i := range list {
			n := &list[i]
			e.seq(tlv.TagSequence, "NotificationConfigurationInformation", func(e encoder) {
				e.bits(0x80, n.ProfileManagementOperation)
				e.utf8(0x81, "notificationAddress", n.NotificationAddress, unbounded)
				e.extensions(n.Extensions)
			})
		}
	})
}

func (d *decoder) notificationConfig(tag tlv.Tag) []NotificationConfigurationInformation {
	list := []NotificationConfigurationInformation{}
	d.seqOf(tag, "notificationConfigurationInfo", func(d *decoder) {
		var n NotificationConfigurationInformation
		d.seq(tlv.TagSequence, "NotificationConfigurationInformation", func(d *decoder) {
			n.ProfileManagementOperation = d.bits(0x80, "profileManagementOperation")
			n.NotificationAddress = d.utf8(0x81, "notificationAddress", unbounded)
			n.Extensions = d.extensions()
		})
		list = append(list, n)
	})
	return list
}

// StoreMetadataRequest is the Profile Metadata (SGP.22 §5.5.3), tag BF25: sent to the LPA
// as profileMetadata in ES9+.AuthenticateClient (§5.6.3) and, MAC-protected, as the '88'
// segments of the Bound Profile Package.
type StoreMetadataRequest struct {
	Iccid                         []byte                                 // [APPLICATION 26], tag 5A: 10 octets as in EF ICCID (BCD, nibble-swapped)
	ServiceProviderName           string                                 // [17], tag 91: up to 32 characters
	ProfileName                   string                                 // [18], tag 92: up to 64 characters
	IconType                      *IconType                              // [19] OPTIONAL, tag 93
	Icon                          []byte                                 // [20] OPTIONAL, tag 94: up to 1024 octets (nil if absent)
	ProfileClass                  *ProfileClass                          // [21] OPTIONAL, tag 95: operational if absent
	NotificationConfigurationInfo []NotificationConfigurationInformation // [22] OPTIONAL, tag B6 (nil if absent)
	ProfileOwner                  *OperatorID                            // [23] OPTIONAL, tag B7
	ProfilePolicyRules            *asn1.BitString                        // [25] PprIds OPTIONAL, tag 99
	Extensions                    []byte                                 // v3 and proprietary fields, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *StoreMetadataRequest) Marshal() ([]byte, error) {
	return marshal(tagStoreMetadata, "StoreMetadataRequest", func(e encoder) {
		e.octets(tagIccid, "iccid", r.Iccid, 10, 10)
		e.utf8(0x91, "serviceProviderName", r.ServiceProviderName, 32)
		e.utf8(0x92, "profileName", r.ProfileName, 64)
		e.optInteger(0x93, (*int64)(r.IconType))
		e.optOctets(0x94, "icon", r.Icon, 0, 1024)
		e.optInteger(0x95, (*int64)(r.ProfileClass))
		if r.NotificationConfigurationInfo != nil {
			e.notificationConfig(0xB6, r.NotificationConfigurationInfo)
		}
		if r.ProfileOwner != nil {
			e.seq(0xB7, "profileOwner", r.ProfileOwner.marshalBody)
		}
		e.optBits(0x99, r.ProfilePolicyRules)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one StoreMetadataRequest.
func (r *StoreMetadataRequest) Unmarshal(der []byte) error {
	var v StoreMetadataRequest
	_, err := unmarshal(der, tagStoreMetadata, "StoreMetadataRequest", func(d *decoder) {
		v.Iccid = d.octets(tagIccid, "iccid", 10, 10)
		v.ServiceProviderName = d.utf8(0x91, "serviceProviderName", 32)
		v.ProfileName = d.utf8(0x92, "profileName", 64)
		v.IconType = (*IconType)(d.optInteger(0x93, "iconType"))
		v.Icon = d.optOctets(0x94, "icon", 0, 1024)
		v.ProfileClass = (*ProfileClass)(d.optInteger(0x95, "profileClass"))
		if d.present(0xB6) {
			v.NotificationConfigurationInfo = d.notificationConfig(0xB6)
		}
		if d.present(0xB7) {
			v.ProfileOwner = new(OperatorID)
			d.seq(0xB7, "profileOwner", v.ProfileOwner.unmarshalBody)
		}
		v.ProfilePolicyRules = d.optBits(0x99, "profilePolicyRules")
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}
