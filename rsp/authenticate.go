package rsp

import (
	"github.com/smdpp/smdpp/tlv"
)

// Tags of the types in this file.
const (
	tagAuthenticateServer tlv.Tag = 0xBF38 // [56]
	tagSignature          tlv.Tag = 0x5F37 // [APPLICATION 55]
)

// ServerSigned1 is the data the SM-DP+ signs with its CERT.DPauth key in
// ES9+.InitiateAuthentication (SGP.22 §5.6.1) and the eUICC verifies in ES10b.AuthenticateServer
// (§5.7.13). A SEQUENCE, tag 30.
type ServerSigned1 struct {
	TransactionID   []byte // [0] TransactionId, 1 to 16 octets
	EuiccChallenge  []byte // [1] Octet16
	ServerAddress   string // [3] UTF8String
	ServerChallenge []byte // [4] Octet16
	Extensions      []byte // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and by the decoders of the types that
	// contain a ServerSigned1; serverSignature1 is verified over exactly these bytes. Marshal
	// ignores it.
	Raw []byte
}

func (v *ServerSigned1) marshalBody(e encoder) {
	e.octets(0x80, "transactionId", v.TransactionID, 1, 16)
	e.octets(0x81, "euiccChallenge", v.EuiccChallenge, 16, 16)
	e.utf8(0x83, "serverAddress", v.ServerAddress, unbounded)
	e.octets(0x84, "serverChallenge", v.ServerChallenge, 16, 16)
	e.extensions(v.Extensions)
}

func (v *ServerSigned1) unmarshalBody(d *decoder) {
	v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	v.EuiccChallenge = d.octets(0x81, "euiccChallenge", 16, 16)
	v.ServerAddress = d.utf8(0x83, "serverAddress", unbounded)
	v.ServerChallenge = d.octets(0x84, "serverChallenge", 16, 16)
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v: the bytes to sign for serverSignature1.
func (v *ServerSigned1) Marshal() ([]byte, error) {
	return marshal(tlv.TagSequence, "ServerSigned1", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one ServerSigned1, and keeps it in Raw.
func (v *ServerSigned1) Unmarshal(der []byte) error {
	var x ServerSigned1
	raw, err := unmarshal(der, tlv.TagSequence, "ServerSigned1", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// DeviceCapabilities lists the highest release the device fully supports per technology
// (SGP.22 §5.6.3, DeviceInfo). Absent fields are not supported.
type DeviceCapabilities struct {
	GsmSupportedRelease           *VersionType // [0]
	UtranSupportedRelease         *VersionType // [1]
	Cdma2000onexSupportedRelease  *VersionType // [2]
	Cdma2000hrpdSupportedRelease  *VersionType // [3]
	Cdma2000ehrpdSupportedRelease *VersionType // [4]
	EutranSupportedRelease        *VersionType // [5]
	ContactlessSupportedRelease   *VersionType // [6]
	RspCrlSupportedVersion        *VersionType // [7]
	RspRpmSupportedVersion        *VersionType // [8]
	Extensions                    []byte       // v3 fields (nrEpcSupportedRelease …), as received; written back by Marshal
}

func (v *DeviceCapabilities) fields() []**VersionType {
	return []**VersionType{
		&v.GsmSupportedRelease, &v.UtranSupportedRelease, &v.Cdma2000onexSupportedRelease,
		&v.Cdma2000hrpdSupportedRelease, &v.Cdma2000ehrpdSupportedRelease, &v.EutranSupportedRelease,
		&v.ContactlessSupportedRelease, &v.RspCrlSupportedVersion, &v.RspRpmSupportedVersion,
	}
}

var deviceCapabilityNames = []string{
	"gsmSupportedRelease", "utranSupportedRelease", "cdma2000onexSupportedRelease",
	"cdma2000hrpdSupportedRelease", "cdma2000ehrpdSupportedRelease", "eutranSupportedRelease",
	"contactlessSupportedRelease", "rspCrlSupportedVersion", "rspRpmSupportedVersion",
}

// DeviceInfo describes the device the LPA runs on (SGP.22 §5.6.3), sent inside ctxParams1.
//
// The module text in testdata/asn1/rsp declares tac as Octet8, but SGP.22 v2.x declares Octet4
// (8 BCD digits), which is what LPAs send (lpac, pysim's client); TAC may hold 4 or 8 octets.
type DeviceInfo struct {
	TAC                []byte             // [0] type allocation code: 4 octets (see below) or 8
	DeviceCapabilities DeviceCapabilities // [1]
	IMEI               []byte             // [2] Octet8 OPTIONAL (nil if absent)
	Extensions         []byte             // v3 fields (preferredLanguages …), as received; written back by Marshal
}

// tac reads DeviceInfo.tac: 4 or 8 octets.
func (d *decoder) tac() []byte {
	v := d.octets(0x80, "tac", 4, 8)
	if v != nil && len(v) != 4 && len(v) != 8 {
		d.failf("tac", "%d octets, want 4 or 8", len(v))
		return nil
	}
	return v
}

// tac writes DeviceInfo.tac: 4 or 8 octets.
func (e encoder) tac(v []byte) {
	if len(v) != 4 && len(v) != 8 {
		e.failf("tac", "%d octets, want 4 or 8", len(v))
		return
	}
	e.b.AddValue(0x80, v)
}

// CtxParamsForCommonAuthentication is the context of a common mutual authentication
// (SGP.22 §5.7.13): the activation code token or event id, and the device.
type CtxParamsForCommonAuthentication struct {
	MatchingID *string    // [0] UTF8String OPTIONAL: may be absent or empty
	DeviceInfo DeviceInfo // [1]
	Extensions []byte     // v3 fields (operationType, iccid …), as received; written back by Marshal
}

// CtxParams1 is the CHOICE of context parameters signed with the eUICC's response
// (SGP.22 §5.7.13). SGP.22 v2 defines one alternative; others are refused when decoding.
type CtxParams1 struct {
	CtxParamsForCommonAuthentication *CtxParamsForCommonAuthentication // [0]
}

func (v *CtxParams1) marshal(e encoder) {
	c := v.CtxParamsForCommonAuthentication
	if c == nil {
		e.failf("ctxParams1", "no CHOICE alternative set")
		return
	}
	e.seq(0xA0, "ctxParamsForCommonAuthentication", func(e encoder) {
		e.optUTF8(0x80, "matchingId", c.MatchingID, unbounded)
		di := &c.DeviceInfo
		e.seq(0xA1, "deviceInfo", func(e encoder) {
			e.tac(di.TAC)
			e.seq(0xA1, "deviceCapabilities", func(e encoder) {
				for i, f := range di.DeviceCapabilities.fields() {
					e.optVersion(tlv.ContextSpecific(uint32(i), false), *f)
				}
				e.extensions(di.DeviceCapabilities.Extensions)
			})
			e.optOctets(0x82, "imei", di.IMEI, 8, 8)
			e.extensions(di.Extensions)
		})
		e.extensions(c.Extensions)
	})
}

func (v *CtxParams1) unmarshal(d *decoder) {
	if t, ok := d.s.NextTag(); ok && t != 0xA0 {
		d.failf("ctxParams1", "unsupported CHOICE alternative with tag %s", t)
		return
	}
	c := new(CtxParamsForCommonAuthentication)
	d.seq(0xA0, "ctxParamsForCommonAuthentication", func(d *decoder) {
		c.MatchingID = d.optUTF8(0x80, "matchingId", unbounded)
		di := &c.DeviceInfo
		d.seq(0xA1, "deviceInfo", func(d *decoder) {
			di.TAC = d.tac()
			d.seq(0xA1, "deviceCapabilities", func(d *decoder) {
				for i, f := range di.DeviceCapabilities.fields() {
					*f = d.optVersion(tlv.ContextSpecific(uint32(i), false), deviceCapabilityNames[i])
				}
				di.DeviceCapabilities.Extensions = d.extensions()
			})
			di.IMEI = d.optOctets(0x82, "imei", 8, 8)
			di.Extensions = d.extensions()
		})
		c.Extensions = d.extensions()
	})
	v.CtxParamsForCommonAuthentication = c
}

// AuthenticateServerRequest is the ES10b.AuthenticateServer command the LPA sends to the eUICC
// (SGP.22 §5.7.13), tag BF38: the SM-DP+'s InitiateAuthentication output plus ctxParams1. The
// virtual eUICC decodes it.
type AuthenticateServerRequest struct {
	ServerSigned1       ServerSigned1 // Raw holds the received bytes serverSignature1 covers
	ServerSignature1    []byte        // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	EuiccCiPKIdToBeUsed []byte        // SubjectKeyIdentifier (universal OCTET STRING 04)
	ServerCertificate   []byte        // CERT.DPauth.ECDSA, DER, not parsed here
	CtxParams1          CtxParams1
	Extensions          []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *AuthenticateServerRequest) Marshal() ([]byte, error) {
	return marshal(tagAuthenticateServer, "AuthenticateServerRequest", func(e encoder) {
		e.seq(tlv.TagSequence, "serverSigned1", r.ServerSigned1.marshalBody)
		e.octets(tagSignature, "serverSignature1", r.ServerSignature1, 0, unbounded)
		e.octets(tlv.TagOctetString, "euiccCiPKIdToBeUsed", r.EuiccCiPKIdToBeUsed, 0, unbounded)
		e.certificate("serverCertificate", r.ServerCertificate)
		r.CtxParams1.marshal(e)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one AuthenticateServerRequest.
func (r *AuthenticateServerRequest) Unmarshal(der []byte) error {
	var v AuthenticateServerRequest
	_, err := unmarshal(der, tagAuthenticateServer, "AuthenticateServerRequest", func(d *decoder) {
		v.ServerSigned1.Raw = d.seq(tlv.TagSequence, "serverSigned1", v.ServerSigned1.unmarshalBody)
		v.ServerSignature1 = d.octets(tagSignature, "serverSignature1", 0, unbounded)
		v.EuiccCiPKIdToBeUsed = d.octets(tlv.TagOctetString, "euiccCiPKIdToBeUsed", 0, unbounded)
		v.ServerCertificate = d.certificate("serverCertificate")
		v.CtxParams1.unmarshal(d)
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// EuiccSigned1 is the data the eUICC signs in ES10b.AuthenticateServer (SGP.22 §5.7.13) and the
// SM-DP+ verifies in ES9+.AuthenticateClient (§5.6.3). A SEQUENCE, tag 30.
type EuiccSigned1 struct {
	TransactionID   []byte     // [0] TransactionId, 1 to 16 octets
	ServerAddress   string     // [3] UTF8String
	ServerChallenge []byte     // [4] Octet16
	EuiccInfo2      EUICCInfo2 // [34], tag BF22
	CtxParams1      CtxParams1
	Extensions      []byte // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the encoding as received, set by Unmarshal and by AuthenticateServerResponse;
	// euiccSignature1 is verified over exactly these bytes, never over a re-encoding. Marshal
	// ignores it.
	Raw []byte
}

func (v *EuiccSigned1) marshalBody(e encoder) {
	e.octets(0x80, "transactionId", v.TransactionID, 1, 16)
	e.utf8(0x83, "serverAddress", v.ServerAddress, unbounded)
	e.octets(0x84, "serverChallenge", v.ServerChallenge, 16, 16)
	e.seq(tagEUICCInfo2, "euiccInfo2", v.EuiccInfo2.marshalBody)
	v.CtxParams1.marshal(e)
	e.extensions(v.Extensions)
}

func (v *EuiccSigned1) unmarshalBody(d *decoder) {
	v.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	v.ServerAddress = d.utf8(0x83, "serverAddress", unbounded)
	v.ServerChallenge = d.octets(0x84, "serverChallenge", 16, 16)
	d.seq(tagEUICCInfo2, "euiccInfo2", v.EuiccInfo2.unmarshalBody)
	v.CtxParams1.unmarshal(d)
	v.Extensions = d.extensions()
}

// Marshal returns the DER encoding of v: the bytes to sign for euiccSignature1.
func (v *EuiccSigned1) Marshal() ([]byte, error) {
	return marshal(tlv.TagSequence, "EuiccSigned1", v.marshalBody)
}

// Unmarshal decodes der, which must be exactly one EuiccSigned1, and keeps it in Raw.
func (v *EuiccSigned1) Unmarshal(der []byte) error {
	var x EuiccSigned1
	raw, err := unmarshal(der, tlv.TagSequence, "EuiccSigned1", x.unmarshalBody)
	if err == nil {
		x.Raw = raw
		*v = x
	}
	return err
}

// AuthenticateResponseOk is the success alternative of AuthenticateServerResponse
// (SGP.22 §5.7.13).
type AuthenticateResponseOk struct {
	EuiccSigned1     EuiccSigned1 // Raw holds the received bytes euiccSignature1 covers
	EuiccSignature1  []byte       // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	EuiccCertificate []byte       // CERT.EUICC.ECDSA, DER, not parsed here
	EumCertificate   []byte       // CERT.EUM.ECDSA, DER, not parsed here
	Extensions       []byte       // v3 fields (otherCertsInChain …), as received; written back by Marshal
}

// AuthenticateResponseError is the error alternative of AuthenticateServerResponse
// (SGP.22 §5.7.13).
type AuthenticateResponseError struct {
	TransactionID         []byte // [0] TransactionId, 1 to 16 octets
	AuthenticateErrorCode AuthenticateErrorCode
	Extensions            []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// AuthenticateServerResponse is the eUICC's answer to ES10b.AuthenticateServer, which the LPA
// forwards in ES9+.AuthenticateClient (SGP.22 §5.7.13, §5.6.3), tag BF38. Exactly one
// alternative is set.
type AuthenticateServerResponse struct {
	AuthenticateResponseOk    *AuthenticateResponseOk    // [0], tag A0
	AuthenticateResponseError *AuthenticateResponseError // [1], tag A1
}

// Marshal returns the DER encoding of r.
func (r *AuthenticateServerResponse) Marshal() ([]byte, error) {
	return marshal(tagAuthenticateServer, "AuthenticateServerResponse", func(e encoder) {
		if !oneOf(e, r.AuthenticateResponseOk != nil, r.AuthenticateResponseError != nil) {
			return
		}
		if ok := r.AuthenticateResponseOk; ok != nil {
			e.seq(0xA0, "authenticateResponseOk", func(e encoder) {
				e.seq(tlv.TagSequence, "euiccSigned1", ok.EuiccSigned1.marshalBody)
				e.octets(tagSignature, "euiccSignature1", ok.EuiccSignature1, 0, unbounded)
				e.certificate("euiccCertificate", ok.EuiccCertificate)
				e.certificate("eumCertificate", ok.EumCertificate)
				e.extensions(ok.Extensions)
			})
			return
		}
		er := r.AuthenticateResponseError
		e.seq(0xA1, "authenticateResponseError", func(e encoder) {
			e.octets(0x80, "transactionId", er.TransactionID, 1, 16)
			e.integer(tlv.TagInteger, int64(er.AuthenticateErrorCode))
			e.extensions(er.Extensions)
		})
	})
}

// Unmarshal decodes der, which must be exactly one AuthenticateServerResponse.
func (r *AuthenticateServerResponse) Unmarshal(der []byte) error {
	var v AuthenticateServerResponse
	_, err := unmarshal(der, tagAuthenticateServer, "AuthenticateServerResponse", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			ok := new(AuthenticateResponseOk)
			d.seq(0xA0, "authenticateResponseOk", func(d *decoder) {
				ok.EuiccSigned1.Raw = d.seq(tlv.TagSequence, "euiccSigned1", ok.EuiccSigned1.unmarshalBody)
				ok.EuiccSignature1 = d.octets(tagSignature, "euiccSignature1", 0, unbounded)
				ok.EuiccCertificate = d.certificate("euiccCertificate")
				ok.EumCertificate = d.certificate("eumCertificate")
				ok.Extensions = d.extensions()
			})
			v.AuthenticateResponseOk = ok
		case 0xA1:
			er := new(AuthenticateResponseError)
			d.seq(0xA1, "authenticateResponseError", func(d *decoder) {
				er.TransactionID = d.octets(0x80, "transactionId", 1, 16)
				er.AuthenticateErrorCode = AuthenticateErrorCode(d.integer(tlv.TagInteger, "authenticateErrorCode"))
				er.Extensions = d.extensions()
			})
			v.AuthenticateResponseError = er
		default:
			d.missing(0xA0, "", "authenticateResponseOk or authenticateResponseError")
		}
	})
	if err == nil {
		*r = v
	}
	return err
}
