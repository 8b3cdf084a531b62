package euicc

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// getEuiccChallenge answers ES10b.GetEUICCChallenge (SGP.22 §5.7.7): a fresh 16-octet challenge,
// remembered for AuthenticateServer. It starts a new RSP session: a previous one is dropped, and a
// Bound Profile Package being loaded is interrupted.
func (c *ISDR) getEuiccChallenge(req []byte) ([]byte, error) {
	var r rsp.GetEuiccChallengeRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	challenge := make([]byte, 16)
	if _, err := io.ReadFull(c.cfg.Rand, challenge); err != nil {
		return nil, fmt.Errorf("euicc: drawing the euiccChallenge: %w", err)
	}
	if err := c.endSession(); err != nil {
		return nil, err
	}
	c.challenge = challenge
	return (&rsp.GetEuiccChallengeResponse{EuiccChallenge: bytes.Clone(challenge)}).Marshal()
}

// euiccInfo1 returns the card's EUICCInfo1 (SGP.22 §5.7.8).
func (c *ISDR) euiccInfo1() *rsp.EUICCInfo1 {
	return &rsp.EUICCInfo1{
		SVN:                            c.cfg.SVN,
		EuiccCiPKIdListForVerification: c.roots.PKIDs(),
		EuiccCiPKIdListForSigning:      [][]byte{bytes.Clone(c.signingCI)},
	}
}

// euiccInfo2 returns the card's EUICCInfo2 (SGP.22 §5.7.8), with the memory left now.
func (c *ISDR) euiccInfo2() *rsp.EUICCInfo2 {
	javacard := rsp.VersionType{3, 0, 5}
	gp := rsp.VersionType{2, 3, 0}
	return &rsp.EUICCInfo2{
		ProfileVersion:   c.cfg.ProfileVersion,
		SVN:              c.cfg.SVN,
		EuiccFirmwareVer: c.cfg.FirmwareVersion,
		ExtCardResource:  extCardResource(c.cfg.InstalledApplications+len(c.profiles), c.freeNonVolatileMemory(), c.cfg.FreeVolatileMemory),
		UICCCapability: tlv.NamedBits(
			rsp.UICCCapabilityUsimSupport, rsp.UICCCapabilityIsimSupport, rsp.UICCCapabilityCsimSupport,
			rsp.UICCCapabilityAkaMilenage, rsp.UICCCapabilityAkaCave, rsp.UICCCapabilityAkaTuak128,
			rsp.UICCCapabilityAkaTuak256, rsp.UICCCapabilityGbaAuthenUsim, rsp.UICCCapabilityGbaAuthenISim,
			rsp.UICCCapabilityEapClient, rsp.UICCCapabilityJavacard, rsp.UICCCapabilityMultipleUsimSupport,
			rsp.UICCCapabilityMultipleIsimSupport),
		JavacardVersion:                &javacard,
		GlobalplatformVersion:          &gp,
		RspCapability:                  tlv.NamedBits(rsp.RspCapabilityAdditionalProfile, rsp.RspCapabilityTestProfileSupport),
		EuiccCiPKIdListForVerification: c.roots.PKIDs(),
		EuiccCiPKIdListForSigning:      [][]byte{bytes.Clone(c.signingCI)},
		PpVersion:                      rsp.VersionType{0, 0, 1},
		SasAcreditationNumber:          c.cfg.SASAccreditationNumber,
	}
}

// extCardResource encodes the extended card resource information of ETSI TS 102 226
// §8.2.1.7.2: 81 number of installed applications, 82 free non-volatile memory, 83 free volatile
// memory, each an unsigned big-endian number (kept below 2^32, as LPAs read it into 32 bits).
func extCardResource(apps int, freeNV, freeVolatile int64) []byte {
	b := tlv.NewBuilder(nil)
	b.AddValue(0x81, unsigned(int64(apps)))
	b.AddValue(0x82, unsigned(freeNV))
	b.AddValue(0x83, unsigned(freeVolatile))
	out, _ := b.Bytes()
	return out
}

// unsigned encodes v, clamped to 0 … 2^32-1, in as few octets as possible, with a leading zero
// octet when the top bit would otherwise be set, so readers taking it as signed agree.
func unsigned(v int64) []byte {
	v = min(max(v, 0), 1<<32-1)
	var out []byte
	for {
		out = append([]byte{byte(v)}, out...)
		v >>= 8
		if v == 0 {
			break
		}
	}
	if out[0]&0x80 != 0 {
		out = append([]byte{0}, out...)
	}
	return out
}

// getEuiccInfo1 answers ES10b.GetEUICCInfo for EUICCInfo1 (SGP.22 §5.7.8).
func (c *ISDR) getEuiccInfo1(req []byte) ([]byte, error) {
	var r rsp.GetEuiccInfo1Request
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	return c.euiccInfo1().Marshal()
}

// getEuiccInfo2 answers ES10b.GetEUICCInfo for EUICCInfo2 (SGP.22 §5.7.8).
func (c *ISDR) getEuiccInfo2(req []byte) ([]byte, error) {
	var r rsp.GetEuiccInfo2Request
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	return c.euiccInfo2().Marshal()
}

// getEuiccData answers ES10c.GetEID (SGP.22 §5.7.20): GetEuiccDataRequest {tagList '5A'} →
// GetEuiccDataResponse {eidValue}, tag BF3E. (Encoded here: package rsp has no such type.)
func (c *ISDR) getEuiccData(req []byte) ([]byte, error) {
	body, err := single(req, tagGetEuiccData)
	if err != nil {
		return nil, err
	}
	tagList, ok := body.ReadTag(0x5C)
	if !ok || !body.Empty() {
		return nil, malformed(fmt.Errorf("GetEuiccDataRequest is not {tagList}"))
	}
	if !bytes.Equal(tagList, []byte{0x5A}) {
		return nil, malformed(fmt.Errorf("GetEuiccDataRequest tagList %X, only 5A is defined", []byte(tagList)))
	}
	b := tlv.NewBuilder(nil)
	b.AddTLV(tagGetEuiccData, func(b *tlv.Builder) { b.AddValue(0x5A, c.eid) })
	return b.Bytes()
}

// getEuiccConfiguredAddresses answers ES10a.GetEuiccConfiguredAddresses (SGP.22 §5.7.3):
// EuiccConfiguredAddressesResponse {defaultDpAddress [0] OPTIONAL, rootDsAddress [1]}, tag BF3C.
func (c *ISDR) getEuiccConfiguredAddresses(req []byte) ([]byte, error) {
	body, err := single(req, tagEuiccConfiguredAddress)
	if err != nil {
		return nil, err
	}
	if !body.Empty() {
		return nil, malformed(fmt.Errorf("EuiccConfiguredAddressesRequest is not empty"))
	}
	b := tlv.NewBuilder(nil)
	b.AddTLV(tagEuiccConfiguredAddress, func(b *tlv.Builder) {
		if c.defaultDp != "" {
			b.AddUTF8(0x80, c.defaultDp)
		}
		b.AddUTF8(0x81, c.cfg.RootDsAddress)
	})
	return b.Bytes()
}

// setDefaultDpAddress answers ES10a.SetDefaultDpAddress (SGP.22 §5.7.4): SetDefaultDpAddressRequest
// {defaultDpAddress [0] UTF8String} → {setDefaultDpAddressResult [0]: ok(0)}, tag BF3F. An empty
// address removes the default.
func (c *ISDR) setDefaultDpAddress(req []byte) ([]byte, error) {
	body, err := single(req, tagSetDefaultDpAddress)
	if err != nil {
		return nil, err
	}
	addr, ok := body.ReadTag(0x80)
	if !ok || !body.Empty() || !utf8.Valid(addr) {
		return nil, malformed(fmt.Errorf("SetDefaultDpAddressRequest is not {defaultDpAddress}"))
	}
	c.defaultDp = string(addr)
	return resultResponse(tagSetDefaultDpAddress, 0)
}

// getRAT answers ES10b.GetRAT (SGP.22 §5.7.22) with an empty Rules Authorisation Table:
// GetRatResponse {rat [0] SEQUENCE OF ProfilePolicyAuthorisationRule}, tag BF43.
func (c *ISDR) getRAT(req []byte) ([]byte, error) {
	body, err := single(req, tagGetRAT)
	if err != nil {
		return nil, err
	}
	if !body.Empty() {
		return nil, malformed(fmt.Errorf("GetRatRequest is not empty"))
	}
	b := tlv.NewBuilder(nil)
	b.AddTLV(tagGetRAT, func(b *tlv.Builder) { b.AddTLV(0xA0, func(*tlv.Builder) {}) })
	return b.Bytes()
}

// single checks that req is exactly one DER element with tag and returns its content.
func single(req []byte, tag tlv.Tag) (tlv.String, error) {
	s := tlv.String(req)
	body, ok := s.ReadTag(tag)
	if !ok || !s.Empty() {
		return nil, malformed(fmt.Errorf("request is not one DER element with tag %s", tag))
	}
	return body, nil
}

// resultResponse encodes the common response shape {result [0] INTEGER} with tag.
func resultResponse(tag tlv.Tag, result int64) ([]byte, error) {
	b := tlv.NewBuilder(nil)
	b.AddTLV(tag, func(b *tlv.Builder) { b.AddInt64(0x80, result) })
	return b.Bytes()
}
