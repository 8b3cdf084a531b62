package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smdpp/smdpp/certs"
)

// X.509 extension OIDs (RFC 5280 §4.2).
var (
	oidSubjectKeyID          = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidKeyUsage              = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidSubjectAltName        = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidBasicConstraints      = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidNameConstraints       = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidCRLDistributionPoints = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidCertificatePolicies   = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidAuthorityKeyID        = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtKeyUsage           = asn1.ObjectIdentifier{2, 5, 29, 37}

	oidServerAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
)

// Attribute type OIDs used in subject and issuer names (X.520).
var (
	oidCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber       = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidCountry            = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrganization       = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// Certificate policies of the RSP roles, id-rspRole 2.23.146.1.2.1.x (SGP.22 §4.5.2).
var (
	oidRoleCI     = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 0}
	oidRoleEUICC  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 1}
	oidRoleEUM    = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 2}
	oidRoleDPtls  = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 3}
	oidRoleDPauth = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 4}
	oidRoleDPpb   = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 5}
)

// keyUsage bits as the first octet of the KeyUsage BIT STRING (RFC 5280 §4.2.1.3).
const (
	kuDigitalSignature byte = 0x80
	kuKeyCertSign      byte = 0x04
	kuCRLSign          byte = 0x02
)

// attribute is one AttributeTypeAndValue; each forms its own RelativeDistinguishedName, as in the
// GSMA certificates. Values are UTF8String unless printable is set (countryName, serialNumber).
type attribute struct {
	typ       asn1.ObjectIdentifier
	value     string
	printable bool
}

// name is an X.501 Name (RDNSequence) in encoding order.
type name []attribute

func (n name) marshal(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range n {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(a.typ)
					tag := cbasn1.UTF8String
					if a.printable {
						if !isPrintableString(a.value) {
							b.SetError(fmt.Errorf("devpki: %q is not a PrintableString", a.value))
							return
						}
						tag = cbasn1.PrintableString
					}
					b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.value)) })
				})
			})
		}
	})
}

// isPrintableString reports whether s only uses the PrintableString alphabet (X.680 §41.4).
func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ', c == '\'', c == '(', c == ')', c == '+', c == ',', c == '-', c == '.',
			c == '/', c == ':', c == '=', c == '?':
		default:
			return false
		}
	}
	return true
}

// extension is one X.509 Extension; value writes the DER that the extnValue OCTET STRING wraps.
type extension struct {
	id       asn1.ObjectIdentifier
	critical bool
	value    cryptobyte.BuilderContinuation
}

// template is everything that goes into a TBSCertificate besides the signature algorithm,
// which is always ecdsa-with-SHA256.
type template struct {
	serial     *big.Int
	issuer     name
	subject    name
	notBefore  time.Time
	notAfter   time.Time
	publicKey  *ecdsa.PublicKey
	extensions []extension
}

// createCertificate encodes t as a TBSCertificate (RFC 5280 §4.1), signs it with ECDSA-SHA256 and
// returns the DER certificate. The signature is checked against the signer's public key before the
// certificate is returned.
func createCertificate(t *template, signer crypto.Signer) ([]byte, error) {
	issuerPub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("devpki: issuer key is %T, want an ECDSA key", signer.Public())
	}
	spki, err := certs.MarshalSubjectPublicKeyInfo(t.publicKey)
	if err != nil {
		return nil, fmt.Errorf("devpki: encoding subject public key: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2) // v3
		})
		b.AddASN1BigInt(t.serial)
		addSignatureAlgorithm(b)
		t.issuer.marshal(b)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, t.notBefore)
			addTime(b, t.notAfter)
		})
		t.subject.marshal(b)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range t.extensions {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(e.id)
						if e.critical {
							b.AddASN1Boolean(true)
						}
						b.AddASN1(cbasn1.OCTET_STRING, e.value)
					})
				}
			})
		})
	})
	tbs, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("devpki: encoding TBSCertificate: %w", err)
	}

	digest := sha256.Sum256(tbs)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devpki: signing certificate: %w", err)
	}
	if !certs.VerifyDER(issuerPub, tbs, sig) {
		return nil, fmt.Errorf("devpki: issuer's signature over the new certificate does not verify")
	}

	var c cryptobyte.Builder
	c.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddBytes(tbs)
		addSignatureAlgorithm(c)
		c.AddASN1BitString(sig)
	})
	der, err := c.Bytes()
	if err != nil {
		return nil, fmt.Errorf("devpki: encoding certificate: %w", err)
	}
	return der, nil
}

// addSignatureAlgorithm writes the AlgorithmIdentifier of ecdsa-with-SHA256, with absent
// parameters (RFC 5758 §3.2).
func addSignatureAlgorithm(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(certs.OIDSignatureECDSA256)
	})
}

// addTime writes t as UTCTime through 2049 and as GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC().Truncate(time.Second)
	if t.Year() >= 1950 && t.Year() < 2050 {
		b.AddASN1UTCTime(t)
		return
	}
	b.AddASN1GeneralizedTime(t)
}

// randomSerial returns a random positive serial number of at most 128 bits, which encodes in at
// most 17 bytes, within the 20 that RFC 5280 §4.1.2.2 allows.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("devpki: generating serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// keyID is the key identifier of RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits,
// the method the GSMA test certificates use. For the CI it is the euiccCiPKId of SGP.22.
func keyID(pub *ecdsa.PublicKey) []byte {
	sum := sha1.Sum(certs.MarshalPoint(pub))
	return sum[:]
}

func subjectKeyID(id []byte) extension {
	return extension{id: oidSubjectKeyID, value: func(b *cryptobyte.Builder) {
		b.AddASN1OctetString(id)
	}}
}

// authorityKeyID holds only the keyIdentifier [0], as in the GSMA certificates.
func authorityKeyID(id []byte) extension {
	return extension{id: oidAuthorityKeyID, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(id) })
		})
	}}
}

// keyUsage is always critical. bits is the first (and only) octet of the named bit list; DER drops
// trailing zero bits, so the unused-bits count is the number of trailing zeros.
func keyUsage(bits byte) extension {
	unused := byte(0)
	for v := bits; v != 0 && v&1 == 0; v >>= 1 {
		unused++
	}
	return extension{id: oidKeyUsage, critical: true, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(unused)
			b.AddUint8(bits)
		})
	}}
}

// basicConstraintsCA is critical with cA TRUE; pathLen < 0 leaves pathLenConstraint out.
func basicConstraintsCA(pathLen int64) extension {
	return extension{id: oidBasicConstraints, critical: true, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Boolean(true)
			if pathLen >= 0 {
				b.AddASN1Int64(pathLen)
			}
		})
	}}
}

// certificatePolicies holds one policy OID without qualifiers.
func certificatePolicies(policy asn1.ObjectIdentifier, critical bool) extension {
	return extension{id: oidCertificatePolicies, critical: critical, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(policy)
			})
		})
	}}
}

// subjectAltName lists dNSName [2] entries, then iPAddress [7], then one registeredID [8], the
// order of the GSMA DPtls certificate (DNS names first, registeredID last).
func subjectAltName(dnsNames []string, ips []net.IP, rid asn1.ObjectIdentifier) extension {
	return extension{id: oidSubjectAltName, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, d := range dnsNames {
				b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(d)) })
			}
			for _, ip := range ips {
				if v4 := ip.To4(); v4 != nil {
					ip = v4
				}
				b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip) })
			}
			addImplicitOID(b, cbasn1.Tag(8).ContextSpecific(), rid)
		})
	}}
}

// addImplicitOID writes an OBJECT IDENTIFIER under an implicit tag, as registeredID [8] is.
func addImplicitOID(b *cryptobyte.Builder, tag cbasn1.Tag, oid asn1.ObjectIdentifier) {
	var o cryptobyte.Builder
	o.AddASN1ObjectIdentifier(oid)
	enc, err := o.Bytes()
	if err != nil {
		b.SetError(err)
		return
	}
	var content cryptobyte.String
	in := cryptobyte.String(enc)
	if !in.ReadASN1(&content, cbasn1.OBJECT_IDENTIFIER) {
		b.SetError(fmt.Errorf("devpki: re-reading OID %v", oid))
		return
	}
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(content) })
}

// extKeyUsage is critical, as in the GSMA DPtls certificates.
func extKeyUsage(usages ...asn1.ObjectIdentifier) extension {
	return extension{id: oidExtKeyUsage, critical: true, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, u := range usages {
				b.AddASN1ObjectIdentifier(u)
			}
		})
	}}
}

// crlDistributionPoints writes one DistributionPoint per URI, each with only a fullName.
func crlDistributionPoints(uris ...string) extension {
	return extension{id: oidCRLDistributionPoints, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, u := range uris {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // DistributionPoint
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // distributionPoint
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // fullName
							b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { // URI
								b.AddBytes([]byte(u))
							})
						})
					})
				})
			}
		})
	}}
}

// nameConstraintsDirName is critical and permits one directoryName subtree, the form the GSMA EUM
// certificates use to carry the EID prefix (SGP.22 §4.5.2: the EUM certificate's permitted subtree).
func nameConstraintsDirName(permitted name) extension {
	return extension{id: oidNameConstraints, critical: true, value: func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // permittedSubtrees
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralSubtree
					b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // directoryName
						permitted.marshal(b)
					})
				})
			})
		})
	}}
}
