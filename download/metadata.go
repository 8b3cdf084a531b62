package download

import (
	"errors"
	"fmt"

	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/rsp"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/tlv"
)

// parsePackage parses an order's profile package; a package that no longer parses is a server
// fault, since it was validated on import.
func parsePackage(p store.Profile) (*profiles.Package, error) {
	pkg, err := profiles.Parse(p.Package)
	if err != nil {
		return nil, fmt.Errorf("profile %s: stored package is invalid: %w", p.ICCID, err)
	}
	return pkg, nil
}

// profileMetadata is the StoreMetadataRequest (SGP.22 §5.5.3, §2.4.3) of an order: the ICCID
// (as coded in EF.ICCID), names and class from its package, and notification addresses pointing
// at this SM-DP+ for install, enable, disable and delete, so the LPA reports each to us (§2.4.4).
func (s *Service) profileMetadata(p store.Profile, pkg *profiles.Package) ([]byte, error) {
	md := pkg.Metadata()
	class := rsp.ProfileClass(md.ProfileClass)
	spn := md.ServiceProviderName
	if spn == "" {
		spn = truncate(p.OperatorID, profiles.MaxServiceProviderName)
	}
	m := rsp.StoreMetadataRequest{
		Iccid:               md.ICCIDBytes[:],
		ServiceProviderName: spn,
		ProfileName:         md.ProfileName,
		ProfileClass:        &class,
		NotificationConfigurationInfo: []rsp.NotificationConfigurationInformation{{
			ProfileManagementOperation: tlv.NamedBits(notificationInstall, notificationEnable, notificationDisable, notificationDelete),
			NotificationAddress:        s.address,
		}},
	}
	der, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding StoreMetadataRequest: %w", err)
	}
	return der, nil
}

// Card figures euiccInfo2 does not carry (SGP.22 §4.3 and ETSI TS 102 226 give free memory
// only): the logical channels of a UICC (ETSI TS 102 221 §11.1.17 allows 20; the basic one plus
// 3 is what handsets open) and a deselect-transient reserve per channel.
const (
	cardChannels        = 4
	cardDeselectReserve = 0
)

// checkEligibility compares what the profile needs with what the eUICC reports in euiccInfo2
// (SGP.22 §3.1.3.1 eligibility check): the SAIP version it can install, and memory — the
// package and its applets' JavaCard quotas (C7/D7, C8/D8) against the free non-volatile and
// volatile memory in extCardResource, by the rules of profiles.Check.
func (s *Service) checkEligibility(pkg *profiles.Package, info *rsp.EUICCInfo2) error {
	h := pkg.Header
	supported := info.ProfileVersion
	if h.MajorVersion > int(supported[0]) || (h.MajorVersion == int(supported[0]) && h.MinorVersion > int(supported[1])) {
		return st.New(st.SubjectProfileType, st.ReasonStoppedOnWarning,
			fmt.Sprintf("the profile needs SAIP %d.%d; the eUICC supports %s", h.MajorVersion, h.MinorVersion, supported))
	}
	res, err := profiles.ParseExtCardResource(info.ExtCardResource)
	if err != nil {
		return st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "euiccInfo2 extCardResource is malformed", err)
	}
	if err := profiles.Check(res.Card(cardChannels, cardDeselectReserve), pkg.Requirements()); err != nil {
		var mem *profiles.InsufficientMemoryError
		if errors.As(err, &mem) {
			return st.Wrap(st.SubjectEUICC, st.ReasonInsufficientMemory, "the eUICC cannot hold this profile: "+mem.Error(), err)
		}
		return st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "euiccInfo2 memory figures are invalid", err)
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
