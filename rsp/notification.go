package rsp

import (
	"encoding/asn1"

	"github.com/smdpp/smdpp/tlv"
)

// Tags of the types in this file.
const (
	tagNotificationMetadata          tlv.Tag = 0xBF2F // [47]
	tagProfileInstallationResult     tlv.Tag = 0xBF37 // [55]
	tagProfileInstallationResultData tlv.Tag = 0xBF27 // [39]
	tagListNotification              tlv.Tag = 0xBF28 // [40]
	tagRetrieveNotificationsList     tlv.Tag = 0xBF2B // [43]
	tagNotificationSent              tlv.Tag = 0xBF30 // [48]
	tagAID                           tlv.Tag = 0x4F   // [APPLICATION 15]
)

// NotificationMetadata identifies a notification and where it goes (SGP.22 §5.7.9),
// tag BF2F. In an OtherSignedNotification it is the signed data.
type NotificationMetadata struct {
	SeqNumber                  int64          // [0] INTEGER
	ProfileManagementOperation asn1.BitString // [1] NotificationEvent, one bit set: Notification*
	NotificationAddress        string         // UTF8String: FQDN to forward the notification to
	Iccid                      []byte         // [APPLICATION 26] OPTIONAL, tag 5A, 10 octets (nil if absent)
	Extensions                 []byte         // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and the decoders of the types containing
	// it; euiccNotificationSignature is verified over these bytes. Marshal ignores it.
	Raw []byte
}

func (v *NotificationMetadata) marshalBody(e encoder) {
	e.integer(0x80, v.SeqNumber)
	e.bits(0x81, v.ProfileManagementOperation)
	e.utf8(tlv.TagUTF8String, "notificationAddress", v.NotificationAddress, unbounded)
	e.optOctets(tagIccid, "iccid", v.Iccid, 10, 10)
	e.extensions(v.Extensions)
}

func (v *NotificationMetadata) unmarshalBody(d *decoder) {
	v.SeqNumber = d.integer(0x80, "seqNumber")
	v.ProfileManagementOperation = d.bits(0x81, "profileManagementOperation")
	v.NotificationAddress = d.utf8(tlv.TagUTF8String, "notificationAddress", unbounded)
	v.Iccid = d.optOctets(tagIccid, "iccid", 10, 10)
	v.Extensions = d.extensions()
}

// decodeIn reads a NotificationMetadata field with tag and keeps its raw bytes.
func (v *NotificationMetadata) decodeIn(d *decoder, field string) {
	v.Raw = d.seq(tagNotificationMetadata, field, v.unmarshalBody)
}

// Marshal returns the DER encoding of v: for an OtherSignedNotification, the bytes to sign.
func (v *NotificationMetadata) Marshal() ([]byte, error) {
	return marshal(tagNotificationMetadata, "NotificationMetadata", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one NotificationMetadata, and keeps it in Raw.
func (v *NotificationMetadata) Unmarshal(der []byte) error {
	var x NotificationMetadata
	raw, err := unmarshal(der, tagNotificationMetadata, "NotificationMetadata", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// SuccessResult is the finalResult of a successful installation (SGP.22 §5.7.6).
type SuccessResult struct {
	AID          []byte // [APPLICATION 15], tag 4F: ISD-P AID, 5 to 16 octets
	SimaResponse []byte // EUICCResponse data objects of the SIMalliance profile package
	Extensions   []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// ErrorResult is the finalResult of a failed installation (SGP.22 §5.7.6).
type ErrorResult struct {
	BppCommandId BppCommandId
	ErrorReason  ErrorReason
	SimaResponse []byte // OPTIONAL (nil if absent)
	Extensions   []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// ProfileInstallationResultData is the signed part of the Profile Installation Result
// (SGP.22 §5.7.6), tag BF27. Exactly one of SuccessResult and ErrorResult is set.
type ProfileInstallationResultData struct {
	TransactionID        []byte                // [0] TransactionId, 1 to 16 octets
	NotificationMetadata NotificationMetadata  // [47], tag BF2F
	SmdpOid              asn1.ObjectIdentifier // OPTIONAL: the SM-DP+ OID of CERT.DPpb (nil if absent)
	SuccessResult        *SuccessResult        // finalResult [2] successResult, tag A2 A0
	ErrorResult          *ErrorResult          // finalResult [2] errorResult, tag A2 A1
	Extensions           []byte                // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and by ProfileInstallationResult;
	// euiccSignPIR is verified over exactly these bytes. Marshal ignores it.
	Raw []byte
}

func (v *ProfileInstallationResultData) marshalBody(e encoder) {
	e.octets(0x80, "transactionId", v.TransactionID, 1, 16)
	e.seq(tagNotificationMetadata, "notificationMetadata", v.NotificationMetadata.marshalBody)
	if v.SmdpOid != nil {
		e.oid(tlv.TagOID, "smdpOid", v.SmdpOid)
	}
	e.seq(0xA2, "finalResult", func(e encoder) {
		if !oneOf(e, v.SuccessResult != nil, v.ErrorResult != nil) {
			return
		}
		if r := v.SuccessResult; r != nil {
			e.seq(0xA0, "successResult", func(e encoder) {
				e.octets(tagAID, "aid", r.AID, 5, 16)
				e.octets(tlv.TagOctetString, "simaResponse", r.SimaResponse, 0, unbounded)
				e.extensions(r.Extensions)
			})
			return
		}
		r := v.ErrorResult
		e.seq(0xA1, "errorResult", func(e encoder) {
			e.integer(tlv.TagInteger, int64(r.BppCommandId))
			e.integer(tlv.TagInteger, int64(r.ErrorReason))
			e.optOctets(tlv.TagOctetString, "simaResponse", r.SimaResponse, 0, unbounded)
			e.extensions(r.Extensions)
		})
	})
	e.extensions(v.Extensions)
}

func (v *ProfileInstallationResultData) unmarshalBody(d *decoder) {
	v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	v.NotificationMetadata.decodeIn(d, "notificationMetadata")
	v.SmdpOid = d.optOID(tlv.TagOID, "smdpOid")
	d.seq(0xA2, "finalResult", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			r := new(SuccessResult)
			d.seq(0xA0, "successResult", func(d *decoder) {
				r.AID = d.octets(tagAID, "aid", 5, 16)
				r.SimaResponse = d.octets(tlv.TagOctetString, "simaResponse", 0, unbounded)
				r.Extensions = d.extensions()
			})
			v.SuccessResult = r
		case 0xA1:
			r := new(ErrorResult)
			d.seq(0xA1, "errorResult", func(d *decoder) {
				r.BppCommandId = BppCommandId(d.integer(tlv.TagInteger, "bppCommandId"))
				r.ErrorReason = ErrorReason(d.integer(tlv.TagInteger, "errorReason"))
				r.SimaResponse = d.optOctets(tlv.TagOctetString, "simaResponse", 0, unbounded)
				r.Extensions = d.extensions()
			})
			v.ErrorResult = r
		default:
			d.missing(0xA0, "", "successResult or errorResult")
		}
	})
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v: the bytes to sign for euiccSignPIR.
func (v *ProfileInstallationResultData) Marshal() ([]byte, error) {
	return marshal(tagProfileInstallationResultData, "ProfileInstallationResultData", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one ProfileInstallationResultData, and keeps it in
// Raw.
func (v *ProfileInstallationResultData) Unmarshal(der []byte) error {
	var x ProfileInstallationResultData
	raw, err := unmarshal(der, tagProfileInstallationResultData, "ProfileInstallationResultData", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// ProfileInstallationResult is the signed result of a Profile installation (SGP.22 §5.7.6),
// tag BF37; the LPA delivers it in ES9+.HandleNotification (§5.6.4).
type ProfileInstallationResult struct {
	ProfileInstallationResultData ProfileInstallationResultData // [39], tag BF27; Raw holds the signed bytes
	EuiccSignPIR                  []byte                        // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	Extensions                    []byte                        // fields of later SGP.22 versions, as received; written back by Marshal
}

func (v *ProfileInstallationResult) marshalBody(e encoder) {
	e.seq(tagProfileInstallationResultData, "profileInstallationResultData", v.ProfileInstallationResultData.marshalBody)
	e.octets(tagSignature, "euiccSignPIR", v.EuiccSignPIR, 0, unbounded)
	e.extensions(v.Extensions)
}

func (v *ProfileInstallationResult) unmarshalBody(d *decoder) {
	data := &v.ProfileInstallationResultData
	data.Raw = d.seq(tagProfileInstallationResultData, "profileInstallationResultData", data.unmarshalBody)
	v.EuiccSignPIR = d.octets(tagSignature, "euiccSignPIR", 0, unbounded)
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v.
func (v *ProfileInstallationResult) Marshal() ([]byte, error) {
	return marshal(tagProfileInstallationResult, "ProfileInstallationResult", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one ProfileInstallationResult.
func (v *ProfileInstallationResult) Unmarshal(der []byte) error {
	var x ProfileInstallationResult
	_, err := unmarshal(der, tagProfileInstallationResult, "ProfileInstallationResult", x.unmarshalBody)
	if err == nil {
		*v = x
	}
	return err
}

// OtherSignedNotification is a signed notification other than an installation result (enable,
// disable, delete; SGP.22 §5.7.10, §5.6.4), a SEQUENCE, tag 30.
type OtherSignedNotification struct {
	TbsOtherNotification       NotificationMetadata // tag BF2F; Raw holds the signed bytes
	EuiccNotificationSignature []byte               // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	EuiccCertificate           []byte               // CERT.EUICC.ECDSA, DER, not parsed here
	EumCertificate             []byte               // CERT.EUM.ECDSA, DER, not parsed here
	Extensions                 []byte               // fields of later SGP.22 versions, as received; written back by Marshal
}

func (v *OtherSignedNotification) marshalBody(e encoder) {
	e.seq(tagNotificationMetadata, "tbsOtherNotification", v.TbsOtherNotification.marshalBody)
	e.octets(tagSignature, "euiccNotificationSignature", v.EuiccNotificationSignature, 0, unbounded)
	e.certificate("euiccCertificate", v.EuiccCertificate)
	e.certificate("eumCertificate", v.EumCertificate)
	e.extensions(v.Extensions)
}

func (v *OtherSignedNotification) unmarshalBody(d *decoder) {
	v.TbsOtherNotification.decodeIn(d, "tbsOtherNotification")
	v.EuiccNotificationSignature = d.octets(tagSignature, "euiccNotificationSignature", 0, unbounded)
	v.EuiccCertificate = d.certificate("euiccCertificate")
	v.EumCertificate = d.certificate("eumCertificate")
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v.
func (v *OtherSignedNotification) Marshal() ([]byte, error) {
	return marshal(tlv.TagSequence, "OtherSignedNotification", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one OtherSignedNotification.
func (v *OtherSignedNotification) Unmarshal(der []byte) error {
	var x OtherSignedNotification
	_, err := unmarshal(der, tlv.TagSequence, "OtherSignedNotification", x.unmarshalBody)
	if err == nil {
		*v = x
	}
	return err
}

// PendingNotification is a notification the LPA delivers with ES9+.HandleNotification
// (SGP.22 §5.6.4) and retrieves with ES10b.RetrieveNotificationsList (§5.7.10): an untagged
// CHOICE, so its encoding starts with BF37 or 30. Exactly one alternative is set.
type PendingNotification struct {
	ProfileInstallationResult *ProfileInstallationResult // [55], tag BF37
	OtherSignedNotification   *OtherSignedNotification   // tag 30
}

func (v *PendingNotification) marshal(e encoder) {
	if !oneOf(e, v.ProfileInstallationResult != nil, v.OtherSignedNotification != nil) {
		return
	}
	if p := v.ProfileInstallationResult; p != nil {
		e.seq(tagProfileInstallationResult, "profileInstallationResult", p.marshalBody)
		return
	}
	e.seq(tlv.TagSequence, "otherSignedNotification", v.OtherSignedNotification.marshalBody)
}

func (v *PendingNotification) unmarshal(d *decoder) {
	switch t, _ := d.s.NextTag(); t {
	case tagProfileInstallationResult:
		p := new(ProfileInstallationResult)
		d.seq(tagProfileInstallationResult, "profileInstallationResult", p.unmarshalBody)
		v.ProfileInstallationResult = p
	case tlv.TagSequence:
		o := new(OtherSignedNotification)
		d.seq(tlv.TagSequence, "otherSignedNotification", o.unmarshalBody)
		v.OtherSignedNotification = o
	default:
		d.missing(tagProfileInstallationResult, "", "profileInstallationResult or otherSignedNotification")
	}
}

// Marshal returns the DER encoding of v.
func (v *PendingNotification) Marshal() ([]byte, error) {
	b := tlv.NewBuilder(nil)
	v.marshal(encoder{b: b, path: "PendingNotification"})
	return b.Bytes()
}

// Unmarshal decodes der, which must be exactly one PendingNotification.
func (v *PendingNotification) Unmarshal(der []byte) error {
	var x PendingNotification
	var err error
	d := &decoder{s: tlv.String(append([]byte(nil), der...)), path: "PendingNotification", err: &err}
	x.unmarshal(d)
	d.done()
	if err == nil {
		*v = x
	}
	return err
}

// Notification returns the metadata of either alternative (the sequence number and address
// the LPA and SM-DP+ use), or nil if none is set.
func (v *PendingNotification) Notification() *NotificationMetadata {
	switch {
	case v.ProfileInstallationResult != nil:
		return &v.ProfileInstallationResult.ProfileInstallationResultData.NotificationMetadata
	case v.OtherSignedNotification != nil:
		return &v.OtherSignedNotification.TbsOtherNotification
	}
	return nil
}

// ListNotificationRequest is the ES10b.ListNotification command (SGP.22 §5.7.9), tag BF28.
type ListNotificationRequest struct {
	ProfileManagementOperation *asn1.BitString // [1] NotificationEvent OPTIONAL: filter
	Extensions                 []byte          // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *ListNotificationRequest) Marshal() ([]byte, error) {
	return marshal(tagListNotification, "ListNotificationRequest", func(e encoder) {
		e.optBits(0x81, r.ProfileManagementOperation)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one ListNotificationRequest.
func (r *ListNotificationRequest) Unmarshal(der []byte) error {
	var v ListNotificationRequest
	_, err := unmarshal(der, tagListNotification, "ListNotificationRequest", func(d *decoder) {
		v.ProfileManagementOperation = d.optBits(0x81, "profileManagementOperation")
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// ListNotificationResponse answers ES10b.ListNotification (SGP.22 §5.7.9), tag BF28. Exactly
// one alternative is set; an empty list is a non-nil empty slice.
type ListNotificationResponse struct {
	NotificationMetadataList     []NotificationMetadata        // [0], tag A0
	ListNotificationsResultError *ListNotificationsResultError // [1], tag 81
}

// Marshal returns the DER encoding of r.
func (r *ListNotificationResponse) Marshal() ([]byte, error) {
	return marshal(tagListNotification, "ListNotificationResponse", func(e encoder) {
		if !oneOf(e, r.NotificationMetadataList != nil, r.ListNotificationsResultError != nil) {
			return
		}
		if r.ListNotificationsResultError != nil {
			e.integer(0x81, int64(*r.ListNotificationsResultError))
			return
		}
		e.seq(0xA0, "notificationMetadataList", func(e encoder) {
			for i := range r.NotificationMetadataList {
				e.seq(tagNotificationMetadata, "NotificationMetadata", r.NotificationMetadataList[i].marshalBody)
			}
		})
	})
}

// Unmarshal decodes der, which must be exactly one ListNotificationResponse.
func (r *ListNotificationResponse) Unmarshal(der []byte) error {
	var v ListNotificationResponse
	_, err := unmarshal(der, tagListNotification, "ListNotificationResponse", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			v.NotificationMetadataList = []NotificationMetadata{}
			d.seqOf(0xA0, "notificationMetadataList", func(d *decoder) {
				var m NotificationMetadata
				m.decodeIn(d, "NotificationMetadata")
				v.NotificationMetadataList = append(v.NotificationMetadataList, m)
			})
		case 0x81:
			e := ListNotificationsResultError(d.integer(0x81, "listNotificationsResultError"))
			v.ListNotificationsResultError = &e
		default:
			d.missing(0xA0, "", "notificationMetadataList or listNotificationsResultError")
		}
	})
	if err == nil {
		*r = v
	}
	return err
}

// RetrieveNotificationsListRequest is the ES10b.RetrieveNotificationsList command
// (SGP.22 §5.7.10), tag BF2B. At most one search criterion is set.
type RetrieveNotificationsListRequest struct {
	SeqNumber                  *int64          // searchCriteria [0] seqNumber, tag A0 80
	ProfileManagementOperation *asn1.BitString // searchCriteria [1] NotificationEvent, tag A0 81
	Extensions                 []byte          // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *RetrieveNotificationsListRequest) Marshal() ([]byte, error) {
	return marshal(tagRetrieveNotificationsList, "RetrieveNotificationsListRequest", func(e encoder) {
		if r.SeqNumber != nil || r.ProfileManagementOperation != nil {
			e.seq(0xA0, "searchCriteria", func(e encoder) {
				if oneOf(e, r.SeqNumber != nil, r.ProfileManagementOperation != nil) {
					e.optInteger(0x80, r.SeqNumber)
					e.optBits(0x81, r.ProfileManagementOperation)
				}
			})
		}
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one RetrieveNotificationsListRequest.
func (r *RetrieveNotificationsListRequest) Unmarshal(der []byte) error {
	var v RetrieveNotificationsListRequest
	_, err := unmarshal(der, tagRetrieveNotificationsList, "RetrieveNotificationsListRequest", func(d *decoder) {
		d.optSeq(0xA0, "searchCriteria", func(d *decoder) {
			switch t, _ := d.s.NextTag(); t {
			case 0x80:
				v.SeqNumber = d.optInteger(0x80, "seqNumber")
			case 0x81:
				v.ProfileManagementOperation = d.optBits(0x81, "profileManagementOperation")
			default:
				d.missing(0x80, "", "seqNumber or profileManagementOperation")
			}
		})
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// RetrieveNotificationsListResponse answers ES10b.RetrieveNotificationsList (SGP.22 §5.7.10),
// tag BF2B. Exactly one alternative is set; an empty list is a non-nil empty slice.
type RetrieveNotificationsListResponse struct {
	NotificationList             []PendingNotification         // [0], tag A0
	NotificationsListResultError *NotificationsListResultError // [1], tag 81
}

// Marshal returns the DER encoding of r.
func (r *RetrieveNotificationsListResponse) Marshal() ([]byte, error) {
	return marshal(tagRetrieveNotificationsList, "RetrieveNotificationsListResponse", func(e encoder) {
		if !oneOf(e, r.NotificationList != nil, r.NotificationsListResultError != nil) {
			return
		}
		if r.NotificationsListResultError != nil {
			e.integer(0x81, int64(*r.NotificationsListResultError))
			return
		}
		e.seq(0xA0, "notificationList", func(e encoder) {
			for i := range r.NotificationList {
				r.NotificationList[i].marshal(e)
			}
		})
	})
}

// Unmarshal decodes der, which must be exactly one RetrieveNotificationsListResponse.
func (r *RetrieveNotificationsListResponse) Unmarshal(der []byte) error {
	var v RetrieveNotificationsListResponse
	_, err := unmarshal(der, tagRetrieveNotificationsList, "RetrieveNotificationsListResponse", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			v.NotificationList = []PendingNotification{}
			d.seqOf(0xA0, "notificationList", func(d *decoder) {
				var p PendingNotification
				p.unmarshal(d)
				v.NotificationList = append(v.NotificationList, p)
			})
		case 0x81:
			e := NotificationsListResultError(d.integer(0x81, "notificationsListResultError"))
			v.NotificationsListResultError = &e
		default:
			d.missing(0xA0, "", "notificationList or notificationsListResultError")
		}
	})
	if err == nil {
		*r = v
	}
	return err
}

// NotificationSentRequest is the ES10b.RemoveNotificationFromList command (SGP.22 §5.7.11),
// tag BF30.
type NotificationSentRequest struct {
	SeqNumber  int64  // [0]
	Extensions []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *NotificationSentRequest) Marshal() ([]byte, error) {
	return marshal(tagNotificationSent, "NotificationSentRequest", func(e encoder) {
		e.integer(0x80, r.SeqNumber)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one NotificationSentRequest.
func (r *NotificationSentRequest) Unmarshal(der []byte) error {
	var v NotificationSentRequest
	_, err := unmarshal(der, tagNotificationSent, "NotificationSentRequest", func(d *decoder) {
		v.SeqNumber = d.integer(0x80, "seqNumber")
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// NotificationSentResponse answers ES10b.RemoveNotificationFromList (SGP.22 §5.7.11), tag BF30:
// 0 ok, 1 nothingToDelete, 127 undefinedError.
type NotificationSentResponse struct {
	DeleteNotificationStatus int64  // [0]
	Extensions               []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *NotificationSentResponse) Marshal() ([]byte, error) {
	return marshal(tagNotificationSent, "NotificationSentResponse", func(e encoder) {
		e.integer(0x80, r.DeleteNotificationStatus)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one NotificationSentResponse.
func (r *NotificationSentResponse) Unmarshal(der []byte) error {
	var v NotificationSentResponse
	_, err := unmarshal(der, tagNotificationSent, "NotificationSentResponse", func(d *decoder) {
		v.DeleteNotificationStatus = d.integer(0x80, "deleteNotificationStatus")
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}
