package certs

import "encoding/asn1"

// Role is the function a certificate has in the SGP.22 PKI (SGP.22 §4.5.2), identified by the
// id-rspRole OID in its certificatePolicies extension.
type Role int

// The SGP.22 certificate roles.
const (
	RoleUnknown Role = iota
	RoleCI           // Certificate Issuer, the root (CERT.CI.ECDSA)
	RoleEUM          // eUICC Manufacturer, sub-CA for eUICC certificates (CERT.EUM.ECDSA)
	RoleEUICC        // eUICC (CERT.EUICC.ECDSA)
	RoleDPTLS        // SM-DP+ TLS server (CERT.DP.TLS)
	RoleDPAuth       // SM-DP+ authentication (CERT.DPauth.ECDSA)
	RoleDPPb         // SM-DP+ profile binding (CERT.DPpb.ECDSA)
	RoleDSTLS        // SM-DS TLS server (CERT.DS.TLS)
	RoleDSAuth       // SM-DS authentication (CERT.DSauth.ECDSA)
)

var roleNames = [...]string{
	RoleUnknown: "unknown",
	RoleCI:      "CI",
	RoleEUM:     "EUM",
	RoleEUICC:   "eUICC",
	RoleDPTLS:   "DPtls",
	RoleDPAuth:  "DPauth",
	RoleDPPb:    "DPpb",
	RoleDSTLS:   "DStls",
	RoleDSAuth:  "DSauth",
}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return "unknown"
	}
	return roleNames[r]
}

// Certificate policy OIDs naming the roles, id-rspRole = 2.23.146.1.2.1, as the RSPDefinitions
// ASN.1 module of SGP.22 v2.x defines them. The SGP.26 test certificates carry these.
var (
	OIDRoleCI     = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0}
	OIDRoleEUICC  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 1}
	OIDRoleEUM    = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 2}
	OIDRoleDPTLS  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 3}
	OIDRoleDPAuth = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 4}
	OIDRoleDPPb   = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 5}
	OIDRoleDSTLS  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 6}
	OIDRoleDSAuth = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 7}
)

// The SGP.22 v3 role OIDs, used by v3 certificates (variant Ov3 and the variants A/B/C, whose
// roles sit under the CI's arc). The EUM value is the one osmo-smdpp keys its "Ov3/A/B/C"
// EID-range handling on; the others follow the v2/v3 pairs of the C509 certificate-policy
// registry. No SGP.26 test certificate carries them.
var (
	OIDRoleEUMv3    = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 0}
	OIDRoleEUICCv3  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 0, 0, 0}
	OIDRoleDPTLSv3  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 1, 0}
	OIDRoleDPAuthv3 = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 1, 1}
	OIDRoleDPPbv3   = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 1, 2}
	OIDRoleDSTLSv3  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 2, 0}
	OIDRoleDSAuthv3 = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0, 0, 2, 1}
)

// rolePolicies lists, per role, the policy OIDs that give a certificate that role.
var rolePolicies = map[Role][]asn1.ObjectIdentifier{
	RoleCI:     {OIDRoleCI},
	RoleEUM:    {OIDRoleEUM, OIDRoleEUMv3},
	RoleEUICC:  {OIDRoleEUICC, OIDRoleEUICCv3},
	RoleDPTLS:  {OIDRoleDPTLS, OIDRoleDPTLSv3},
	RoleDPAuth: {OIDRoleDPAuth, OIDRoleDPAuthv3},
	RoleDPPb:   {OIDRoleDPPb, OIDRoleDPPbv3},
	RoleDSTLS:  {OIDRoleDSTLS, OIDRoleDSTLSv3},
	RoleDSAuth: {OIDRoleDSAuth, OIDRoleDSAuthv3},
}

// PolicyOIDs returns the certificate policy OIDs (v2 first, then v3) that give a certificate role r.
func (r Role) PolicyOIDs() []asn1.ObjectIdentifier {
	return append([]asn1.ObjectIdentifier(nil), rolePolicies[r]...)
}

// RoleForPolicy returns the role a certificate policy OID names, or RoleUnknown.
func RoleForPolicy(oid asn1.ObjectIdentifier) Role {
	for role, oids := range rolePolicies {
		for _, o := range oids {
			if o.Equal(oid) {
				return role
			}
		}
	}
	return RoleUnknown
}

// Role returns the SGP.22 role named by the certificate's policies. It is RoleUnknown when no
// policy names a role, and also when policies name two different roles.
func (c *Certificate) Role() Role {
	found := RoleUnknown
	for _, p := range c.PolicyIdentifiers {
		r := RoleForPolicy(p)
		if r == RoleUnknown {
			continue
		}
		if found != RoleUnknown && found != r {
			return RoleUnknown
		}
		found = r
	}
	return found
}
