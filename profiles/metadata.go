package profiles

import "unicode/utf8"

// ProfileClass is the SGP.22 ProfileClass of StoreMetadataRequest (RSPDefinitions): test,
// provisioning or operational.
type ProfileClass int

// Profile classes, numbered as the SGP.22 ASN.1 INTEGER.
const (
	ProfileClassTest         ProfileClass = 0
	ProfileClassProvisioning ProfileClass = 1
	ProfileClassOperational  ProfileClass = 2
)

// Size limits of StoreMetadataRequest (SGP.22 §5.5.3): serviceProviderName UTF8String
// (SIZE(0..32)), profileName UTF8String (SIZE(0..64)).
const (
	MaxServiceProviderName = 32
	MaxProfileName         = 64
)

// Metadata is what the SM-DP+ puts in StoreMetadataRequest (SGP.22 §5.5.3) for a
// package, as far as the package states it.
type Metadata struct {
	// ICCID is the ICCID as digits, and ICCIDBytes the same number coded as SGP.22 Iccid and
	// EF.ICCID: BCD nibble-swapped, padded with F (ETSI TS 102 221 §13.2).
	ICCID      string
	ICCIDBytes [10]byte
	// ProfileType is the header's profileType, "" when absent.
	ProfileType string
	// ServiceProviderName is the name in the first USIM's EF.SPN, or, when the package has none,
	// the profileType; cut to MaxServiceProviderName characters.
	ServiceProviderName string
	// ProfileName is the profileType, or "ICCID <digits>" without one; cut to MaxProfileName
	// characters. A SAIP package has no profile name of its own.
	ProfileName string
	// ProfileClass is always ProfileClassOperational: a package does not state its class, and
	// operational is the SGP.22 default.
	ProfileClass ProfileClass
	// IMSI is the first USIM's EF.IMSI, "" when absent. MCC and MNC are the profile owner's
	// PLMN (SGP.22 profileOwner mccMnc), split by the MNC length in EF.AD; "" when unknown.
	IMSI, MCC, MNC string
}

// Metadata returns the StoreMetadata values of the package.
func (p *Package) Metadata() Metadata {
	m := Metadata{
		ICCID:        p.Header.ICCID,
		ICCIDBytes:   iccidEF(p.Header.ICCID),
		ProfileType:  p.Header.ProfileType,
		ProfileClass: ProfileClassOperational,
		IMSI:         p.imsi,
		MCC:          p.mcc,
		MNC:          p.mnc,
	}
	m.ServiceProviderName = p.spn
	if m.ServiceProviderName == "" {
		m.ServiceProviderName = p.Header.ProfileType
	}
	m.ServiceProviderName = truncate(m.ServiceProviderName, MaxServiceProviderName)
	m.ProfileName = p.Header.ProfileType
	if m.ProfileName == "" {
		m.ProfileName = "ICCID " + p.Header.ICCID
	}
	m.ProfileName = truncate(m.ProfileName, MaxProfileName)
	return m
}

// truncate cuts s to at most n characters. SGP.22 counts UTF8String sizes in characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}
