package euicc

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"unicode/utf8"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// Profile is an installed Profile as the card keeps it (and State saves it): its ISD-P, state
// and the metadata it was installed with.
type Profile struct {
	ICCID         []byte  `json:"iccid"`                   // as in StoreMetadata (10 octets)
	AID           []byte  `json:"aid"`                     // of its ISD-P
	Enabled       bool    `json:"enabled"`                 // profileState
	Nickname      *string `json:"nickname,omitempty"`      // set with ES10c.SetNickname
	Metadata      []byte  `json:"metadata"`                // StoreMetadataRequest (BF25) as received
	ConfigureISDP []byte  `json:"configureIsdp,omitempty"` // ConfigureISDPRequest (BF24) as received
	Size          int64   `json:"size"`                    // bytes of non-volatile memory it takes

	md   rsp.StoreMetadataRequest
	isdp *rsp.ConfigureISDPRequest
}

// decode fills the decoded forms of Metadata and ConfigureISDP.
func (p *Profile) decode() error {
	if err := p.md.Unmarshal(p.Metadata); err != nil {
		return err
	}
	if len(p.ICCID) != 10 || !bytes.Equal(p.ICCID, p.md.Iccid) {
		return fmt.Errorf("ICCID %X is not the metadata's", p.ICCID)
	}
	if len(p.AID) < 5 || len(p.AID) > 16 {
		return fmt.Errorf("ISD-P AID %X is not 5 to 16 octets", p.AID)
	}
	if p.Size < 0 {
		return fmt.Errorf("negative size")
	}
	p.isdp = nil
	if p.ConfigureISDP != nil {
		p.isdp = new(rsp.ConfigureISDPRequest)
		if err := p.isdp.Unmarshal(p.ConfigureISDP); err != nil {
			return err
		}
	}
	return nil
}

// class returns the Profile's class, operational when the metadata names none.
func (p *Profile) class() rsp.ProfileClass {
	if p.md.ProfileClass != nil {
		return *p.md.ProfileClass
	}
	return rsp.ProfileClassOperational
}

// info returns the ProfileInfo of p (SGP.22 §5.7.15) with the fields want accepts.
func (p *Profile) info(want func(tlv.Tag) bool) rsp.ProfileInfo {
	var v rsp.ProfileInfo
	if want(0x5A) {
		v.Iccid = bytes.Clone(p.ICCID)
	}
	if want(0x4F) {
		v.IsdpAid = bytes.Clone(p.AID)
	}
	if want(0x9F70) {
		st := rsp.ProfileStateDisabled
		if p.Enabled {
			st = rsp.ProfileStateEnabled
		}
		v.ProfileState = &st
	}
	if want(0x90) && p.Nickname != nil {
		n := *p.Nickname
		v.ProfileNickname = &n
	}
	if want(0x91) {
		n := p.md.ServiceProviderName
		v.ServiceProviderName = &n
	}
	if want(0x92) {
		n := p.md.ProfileName
		v.ProfileName = &n
	}
	if want(0x93) && p.md.IconType != nil {
		t := *p.md.IconType
		v.IconType = &t
	}
	if want(0x94) && p.md.Icon != nil {
		v.Icon = bytes.Clone(p.md.Icon)
	}
	if want(0x95) {
		cl := p.class()
		v.ProfileClass = &cl
	}
	if want(0xB6) && p.md.NotificationConfigurationInfo != nil {
		v.NotificationConfigurationInfo = p.md.NotificationConfigurationInfo
	}
	if want(0xB7) && p.md.ProfileOwner != nil {
		o := *p.md.ProfileOwner
		v.ProfileOwner = &o
	}
	if want(0xB8) && p.isdp != nil && p.isdp.DpProprietaryData != nil {
		d := *p.isdp.DpProprietaryData
		v.DpProprietaryData = &d
	}
	if want(0x99) && p.md.ProfilePolicyRules != nil {
		r := *p.md.ProfilePolicyRules
		v.ProfilePolicyRules = &r
	}
	return v
}

// findProfile returns the Profile with ICCID iccid or ISD-P AID aid (whichever is not nil).
func (c *ISDR) findProfile(iccid, aid []byte) *Profile {
	for _, p := range c.profiles {
		if iccid != nil && bytes.Equal(p.ICCID, iccid) || aid != nil && bytes.Equal(p.AID, aid) {
			return p
		}
	}
	return nil
}

// freeNonVolatileMemory returns the memory left for Profiles.
func (c *ISDR) freeNonVolatileMemory() int64 {
	free := c.cfg.FreeNonVolatileMemory
	for _, p := range c.profiles {
		free -= p.Size
	}
	return max(free, 0)
}

// newISDPAID returns the AID for a new ISD-P: A0000005591010FFFFFFFF89000010 00, then …1100 and
// so on, the first not in use.
func (c *ISDR) newISDPAID() []byte {
	for n := 0x10; n <= 0xFF; n++ {
		aid := apdu.ISDRAID()
		aid[14], aid[15] = byte(n), 0x00
		if c.findProfile(nil, aid) == nil {
			return aid
		}
	}
	return nil
}

// profileInfoList answers ES10c.GetProfilesInfo (SGP.22 §5.7.15).
func (c *ISDR) profileInfoList(req []byte) ([]byte, error) {
	var r rsp.ProfileInfoListRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	want := func(tlv.Tag) bool { return true }
	if r.TagList != nil {
		tags := map[tlv.Tag]bool{}
		for s := tlv.String(r.TagList); !s.Empty(); {
			t, ok := s.NextTag()
			if !ok {
				e := rsp.ProfileInfoListErrorIncorrectInputValues
				return (&rsp.ProfileInfoListResponse{ProfileInfoListError: &e}).Marshal()
			}
			tags[t] = true
			s = s[t.Len():]
		}
		want = func(t tlv.Tag) bool { return tags[t] }
	}
	list := []rsp.ProfileInfo{}
	for _, p := range c.profiles {
		switch {
		case r.SearchIsdpAid != nil && !bytes.Equal(p.AID, r.SearchIsdpAid),
			r.SearchIccid != nil && !bytes.Equal(p.ICCID, r.SearchIccid),
			r.SearchProfileClass != nil && p.class() != *r.SearchProfileClass:
			continue
		}
		list = append(list, p.info(want))
	}
	return (&rsp.ProfileInfoListResponse{ProfileInfoListOk: list}).Marshal()
}

// Results of EnableProfile, DisableProfile and DeleteProfile (SGP.22 §5.7.16 to §5.7.18).
const (
	resultOK                = 0
	resultNotFound          = 1 // iccidOrAidNotFound
	resultWrongProfileState = 2 // profileNotInDisabledState / profileNotInEnabledState
)

// profileIdentifier reads the profileIdentifier CHOICE {isdpAid '4F', iccid '5A'} from s.
func profileIdentifier(s *tlv.String) (iccid, aid []byte, ok bool) {
	switch t, _ := s.NextTag(); t {
	case 0x4F:
		ok = s.ReadOctets(0x4F, &aid) && len(aid) >= 1 && len(aid) <= 16
	case 0x5A:
		ok = s.ReadOctets(0x5A, &iccid) && len(iccid) == 10
	}
	return iccid, aid, ok
}

// profileOperationRequest decodes EnableProfileRequest or DisableProfileRequest (tag BF31/BF32):
// {profileIdentifier [0] CHOICE {isdpAid, iccid}, refreshFlag [1] BOOLEAN}. (Encoded here:
// package rsp has no such types.)
func profileOperationRequest(req []byte, tag tlv.Tag) (iccid, aid []byte, err error) {
	body, err := single(req, tag)
	if err != nil {
		return nil, nil, err
	}
	id, ok := body.ReadTag(0xA0)
	if ok {
		iccid, aid, ok = profileIdentifier(&id)
	}
	var refresh bool
	if !ok || !id.Empty() || !body.ReadBool(0x81, &refresh) || !body.Empty() {
		return nil, nil, malformed(fmt.Errorf("request %s is not {profileIdentifier, refreshFlag}", tag))
	}
	return iccid, aid, nil
}

// enableProfile answers ES10c.EnableProfile (SGP.22 §5.7.16): the Profile is enabled and the one
// enabled before is disabled, each with its notifications. No REFRESH is needed on a virtual card.
func (c *ISDR) enableProfile(req []byte) ([]byte, error) {
	iccid, aid, err := profileOperationRequest(req, tagEnableProfile)
	if err != nil {
		return nil, err
	}
	p := c.findProfile(iccid, aid)
	switch {
	case p == nil:
		return resultResponse(tagEnableProfile, resultNotFound)
	case p.Enabled:
		return resultResponse(tagEnableProfile, resultWrongProfileState)
	}
	for _, q := range c.profiles {
		if q.Enabled {
			q.Enabled = false
			if err := c.notify(q, rsp.NotificationDisable); err != nil {
				return nil, err
			}
			c.log.Info("Profile disabled", "iccid", fmt.Sprintf("%X", q.ICCID))
		}
	}
	p.Enabled = true
	if err := c.notify(p, rsp.NotificationEnable); err != nil {
		return nil, err
	}
	c.log.Info("Profile enabled", "iccid", fmt.Sprintf("%X", p.ICCID))
	return resultResponse(tagEnableProfile, resultOK)
}

// disableProfile answers ES10c.DisableProfile (SGP.22 §5.7.17).
func (c *ISDR) disableProfile(req []byte) ([]byte, error) {
	iccid, aid, err := profileOperationRequest(req, tagDisableProfile)
	if err != nil {
		return nil, err
	}
	p := c.findProfile(iccid, aid)
	switch {
	case p == nil:
		return resultResponse(tagDisableProfile, resultNotFound)
	case !p.Enabled:
		return resultResponse(tagDisableProfile, resultWrongProfileState)
	}
	p.Enabled = false
	if err := c.notify(p, rsp.NotificationDisable); err != nil {
		return nil, err
	}
	c.log.Info("Profile disabled", "iccid", fmt.Sprintf("%X", p.ICCID))
	return resultResponse(tagDisableProfile, resultOK)
}

// deleteProfile answers ES10c.DeleteProfile (SGP.22 §5.7.18): DeleteProfileRequest is
// [51] CHOICE {isdpAid, iccid}, tag BF33. Only a disabled Profile can be deleted; its memory is
// freed.
func (c *ISDR) deleteProfile(req []byte) ([]byte, error) {
	body, err := single(req, tagDeleteProfile)
	if err != nil {
		return nil, err
	}
	iccid, aid, ok := profileIdentifier(&body)
	if !ok || !body.Empty() {
		return nil, malformed(fmt.Errorf("DeleteProfileRequest is not an isdpAid or iccid"))
	}
	p := c.findProfile(iccid, aid)
	switch {
	case p == nil:
		return resultResponse(tagDeleteProfile, resultNotFound)
	case p.Enabled:
		return resultResponse(tagDeleteProfile, resultWrongProfileState)
	}
	if err := c.notify(p, rsp.NotificationDelete); err != nil {
		return nil, err
	}
	c.removeProfile(p)
	c.log.Info("Profile deleted", "iccid", fmt.Sprintf("%X", p.ICCID))
	return resultResponse(tagDeleteProfile, resultOK)
}

func (c *ISDR) removeProfile(p *Profile) {
	for i, q := range c.profiles {
		if q == p {
			c.profiles = append(c.profiles[:i:i], c.profiles[i+1:]...)
			return
		}
	}
}

// setNickname answers ES10c.SetNickname (SGP.22 §5.7.21): SetNicknameRequest {iccid,
// profileNickname [16]} → {setNicknameResult [0]: ok(0), iccidNotFound(1)}, tag BF29.
func (c *ISDR) setNickname(req []byte) ([]byte, error) {
	body, err := single(req, tagSetNickname)
	if err != nil {
		return nil, err
	}
	var iccid, nick []byte
	if !body.ReadOctets(0x5A, &iccid) || len(iccid) != 10 || !body.ReadOctets(0x90, &nick) || !body.Empty() ||
		!utf8.Valid(nick) || utf8.RuneCount(nick) > 64 {
		return nil, malformed(fmt.Errorf("SetNicknameRequest is not {iccid, profileNickname}"))
	}
	p := c.findProfile(iccid, nil)
	if p == nil {
		return resultResponse(tagSetNickname, resultNotFound)
	}
	n := string(nick)
	p.Nickname = &n
	return resultResponse(tagSetNickname, resultOK)
}

// euiccMemoryReset answers ES10c.eUICCMemoryReset (SGP.22 §5.7.19): EuiccMemoryResetRequest
// {resetOptions [2] BIT STRING {deleteOperationalProfiles(0), deleteFieldLoadedTestProfiles(1),
// resetDefaultSmdpAddress(2)}} → {resetResult [0]: ok(0), nothingToDelete(1)}, tag BF34.
// Provisioning Profiles are never deleted; no notification is generated.
func (c *ISDR) euiccMemoryReset(req []byte) ([]byte, error) {
	body, err := single(req, tagEuiccMemoryReset)
	if err != nil {
		return nil, err
	}
	var opts asn1.BitString
	if !body.ReadBitString(0x82, &opts) || !body.Empty() {
		return nil, malformed(fmt.Errorf("EuiccMemoryResetRequest is not {resetOptions}"))
	}
	done := false
	for _, p := range append([]*Profile(nil), c.profiles...) {
		if opts.At(0) == 1 && p.class() == rsp.ProfileClassOperational ||
			opts.At(1) == 1 && p.class() == rsp.ProfileClassTest {
			c.removeProfile(p)
			c.log.Info("Profile deleted by memory reset", "iccid", fmt.Sprintf("%X", p.ICCID))
			done = true
		}
	}
	if opts.At(2) == 1 && c.defaultDp != c.cfg.DefaultDpAddress {
		c.defaultDp = c.cfg.DefaultDpAddress
		done = true
	}
	if !done {
		return resultResponse(tagEuiccMemoryReset, 1)
	}
	return resultResponse(tagEuiccMemoryReset, resultOK)
}
