package rsp

import (
	"encoding/asn1"

	"github.com/smdpp/smdpp/tlv"
)

const (
	tagProfileInfoList tlv.Tag = 0xBF2D // [45]
	tagProfileInfo     tlv.Tag = 0xE3   // [PRIVATE 3]
)

// ProfileInfoListRequest is the ES10c.GetProfilesInfo command (SGP.22 §5.7.15), tag BF2D. At
// most one search criterion is set.
type ProfileInfoListRequest struct {
	SearchIsdpAid      []byte        // searchCriteria [0] isdpAid, tag A0 4F (nil if not the criterion)
	SearchIccid        []byte        // searchCriteria [0] iccid, tag A0 5A (nil if not the criterion)
	SearchProfileClass *ProfileClass // searchCriteria [0] profileClass, tag A0 95
	TagList            []byte        // [APPLICATION 28] OPTIONAL, tag 5C: tags of the fields wanted (nil if absent)
	Extensions         []byte        // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *ProfileInfoListRequest) Marshal() ([]byte, error) {
	return marshal(tagProfileInfoList, "ProfileInfoListRequest", func(e encoder) {
		if r.SearchIsdpAid != nil || r.SearchIccid != nil || r.SearchProfileClass != nil {
			e.seq(0xA0, "searchCriteria", func(e encoder) {
				if oneOf(e, r.SearchIsdpAid != nil, r.SearchIccid != nil, r.SearchProfileClass != nil) {
					e.optOctets(tagAID, "isdpAid", r.SearchIsdpAid, 1, 16)
					e.optOctets(tagIccid, "iccid", r.SearchIccid, 10, 10)
					e.optInteger(0x95, (*int64)(r.SearchProfileClass))
				}
			})
		}
		e.optOctets(0x5C, "tagList", r.TagList, 0, unbounded)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one ProfileInfoListRequest.
func (r *ProfileInfoListRequest) Unmarshal(der []byte) error {
	var v ProfileInfoListRequest
	_, err := unmarshal(der, tagProfileInfoList, "ProfileInfoListRequest", func(d *decoder) {
		d.optSeq(0xA0, "searchCriteria", func(d *decoder) {
			switch t, _ := d.s.NextTag(); t {
			case tagAID:
				v.SearchIsdpAid = d.octets(tagAID, "isdpAid", 1, 16)
			case tagIccid:
				v.SearchIccid = d.octets(tagIccid, "iccid", 10, 10)
			case 0x95:
				v.SearchProfileClass = (*ProfileClass)(d.optInteger(0x95, "profileClass"))
			default:
				d.missing(tagAID, "", "isdpAid, iccid or profileClass")
			}
		})
		v.TagList = d.optOctets(0x5C, "tagList", 0, unbounded)
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// ProfileInfo describes one installed Profile (SGP.22 §5.7.15), tag E3. Every field is
// OPTIONAL: the eUICC returns those in the request's tagList.
type ProfileInfo struct {
	Iccid                         []byte                                 // tag 5A, 10 octets
	IsdpAid                       []byte                                 // [APPLICATION 15], tag 4F, 1 to 16 octets
	ProfileState                  *ProfileState                          // [112], tag 9F70
	ProfileNickname               *string                                // [16], tag 90, up to 64 characters
	ServiceProviderName           *string                                // [17], tag 91, up to 32 characters
	ProfileName                   *string                                // [18], tag 92, up to 64 characters
	IconType                      *IconType                              // [19], tag 93
	Icon                          []byte                                 // [20], tag 94, up to 1024 octets
	ProfileClass                  *ProfileClass                          // [21], tag 95 (DEFAULT operational)
	NotificationConfigurationInfo []NotificationConfigurationInformation // [22], tag B6
	ProfileOwner                  *OperatorID                            // [23], tag B7
	DpProprietaryData             *DpProprietaryData                     // [24], tag B8
	ProfilePolicyRules            *asn1.BitString                        // [25] PprIds, tag 99
	Extensions                    []byte                                 // fields of later SGP.22 versions, as received; written back by Marshal
}

func (v *ProfileInfo) marshalBody(e encoder) {
	e.optOctets(tagIccid, "iccid", v.Iccid, 10, 10)
	e.optOctets(tagAID, "isdpAid", v.IsdpAid, 1, 16)
	e.optInteger(0x9F70, (*int64)(v.ProfileState))
	e.optUTF8(0x90, "profileNickname", v.ProfileNickname, 64)
	e.optUTF8(0x91, "serviceProviderName", v.ServiceProviderName, 32)
	e.optUTF8(0x92, "profileName", v.ProfileName, 64)
	e.optInteger(0x93, (*int64)(v.IconType))
	e.optOctets(0x94, "icon", v.Icon, 0, 1024)
	e.optInteger(0x95, (*int64)(v.ProfileClass))
	if v.NotificationConfigurationInfo != nil {
		e.notificationConfig(0xB6, v.NotificationConfigurationInfo)
	}
	if v.ProfileOwner != nil {
		e.seq(0xB7, "profileOwner", v.ProfileOwner.marshalBody)
	}
	if p := v.DpProprietaryData; p != nil {
		e.seq(0xB8, "dpProprietaryData", func(e encoder) {
			e.oid(tlv.TagOID, "dpOid", p.DpOid)
			e.extensions(p.Extensions)
		})
	}
	e.optBits(0x99, v.ProfilePolicyRules)
	e.extensions(v.Extensions)
}

func (v *ProfileInfo) unmarshalBody(d *decoder) {
	v.Iccid = d.optOctets(tagIccid, "iccid", 10, 10)
	v.IsdpAid = d.optOctets(tagAID, "isdpAid", 1, 16)
	v.ProfileState = (*ProfileState)(d.optInteger(0x9F70, "profileState"))
	v.ProfileNickname = d.optUTF8(0x90, "profileNickname", 64)
	v.ServiceProviderName = d.optUTF8(0x91, "serviceProviderName", 32)
	v.ProfileName = d.optUTF8(0x92, "profileName", 64)
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
	if d.present(0xB8) {
		p := new(DpProprietaryData)
		d.seq(0xB8, "dpProprietaryData", func(d *decoder) {
			p.DpOid = d.oid(tlv.TagOID, "dpOid")
			p.Extensions = d.extensions()
		})
		v.DpProprietaryData = p
	}
	v.ProfilePolicyRules = d.optBits(0x99, "profilePolicyRules")
	v.Extensions = d.extensions()
}

// ProfileInfoListResponse answers ES10c.GetProfilesInfo (SGP.22 §5.7.15), tag BF2D. Exactly one
// alternative is set; an empty list is a non-nil empty slice.
type ProfileInfoListResponse struct {
	ProfileInfoListOk    []ProfileInfo         // [0], tag A0
	ProfileInfoListError *ProfileInfoListError // [1], tag 81
}

// Marshal returns the DER encoding of r.
func (r *ProfileInfoListResponse) Marshal() ([]byte, error) {
	return marshal(tagProfileInfoList, "ProfileInfoListResponse", func(e encoder) {
		if !oneOf(e, r.ProfileInfoListOk != nil, r.ProfileInfoListError != nil) {
			return
		}
		if r.ProfileInfoListError != nil {
			e.integer(0x81, int64(*r.ProfileInfoListError))
			return
		}
		e.seq(0xA0, "profileInfoListOk", func(e encoder) {
			for i := range r.ProfileInfoListOk {
				e.seq(tagProfileInfo, "ProfileInfo", r.ProfileInfoListOk[i].marshalBody)
			}
		})
	})
}

// Unmarshal decodes der, which must be exactly one ProfileInfoListResponse.
func (r *ProfileInfoListResponse) Unmarshal(der []byte) error {
	var v ProfileInfoListResponse
	_, err := unmarshal(der, tagProfileInfoList, "ProfileInfoListResponse", func(d *decoder) {
		switch t, _ := d.s.NextTag(); t {
		case 0xA0:
			v.ProfileInfoListOk = []ProfileInfo{}
			d.seqOf(0xA0, "profileInfoListOk", func(d *decoder) {
				var p ProfileInfo
				d.seq(tagProfileInfo, "ProfileInfo", p.unmarshalBody)
				v.ProfileInfoListOk = append(v.ProfileInfoListOk, p)
			})
		case 0x81:
			e := ProfileInfoListError(d.integer(0x81, "profileInfoListError"))
			v.ProfileInfoListError = &e
		default:
			d.missing(0xA0, "", "profileInfoListOk or profileInfoListError")
		}
	})
	if err == nil {
		*r = v
	}
	return err
}
