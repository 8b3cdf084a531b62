package certs_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smdpp/smdpp/certs"
)

// rawCert assembles a certificate from DER pieces, so that tests can build any variant, valid or
// not, on either curve (crypto/x509 cannot sign with brainpool keys). Fields left nil get a valid
// default; the *Raw fields replace a piece verbatim.
type rawCert struct {
	versionRaw  []byte // whole [0] element; nil means v3
	v1          bool   // omit the version (v1)
	serialRaw   []byte
	sigAlg      []byte // inner and outer AlgorithmIdentifier
	outerSigAlg []byte // outer only, when it should differ
	issuer      []byte // DER Name
	validityRaw []byte // whole Validity SEQUENCE
	subject     []byte
	spki        []byte
	extensions  [][]byte // DER Extension elements, wrapped in [3] SEQUENCE
	extsRaw     []byte   // whole [3] element instead of extensions
	tbsTrailer  []byte   // appended inside the tbsCertificate
	key         *ecdsa.PrivateKey
	sigRaw      []byte // whole signature BIT STRING element
	certTrailer []byte // appended inside the Certificate SEQUENCE
	trailer     []byte // appended after the Certificate
}

func der(f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	return b.BytesOrPanic()
}

func derOID(oid asn1.ObjectIdentifier) []byte {
	return der(func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
}

func algID(oid asn1.ObjectIdentifier, params ...[]byte) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			for _, p := range params {
				b.AddBytes(p)
			}
		})
	})
}

// attr is one AttributeTypeAndValue with a string of the given tag.
type attr struct {
	oid asn1.ObjectIdentifier
	tag cbasn1.Tag
	val string
}

var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
)

// name builds a Name with one attribute per RDN.
func name(attrs ...attr) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, a := range attrs {
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(a.oid)
						b.AddASN1(a.tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.val)) })
					})
				})
			}
		})
	})
}

func printable(oid asn1.ObjectIdentifier, v string) attr { return attr{oid, cbasn1.PrintableString, v} }

// validity builds a Validity from two DER time elements.
func validity(notBefore, notAfter []byte) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(notBefore); b.AddBytes(notAfter) })
	})
}

func utcTime(s string) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	})
}

func genTime(s string) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	})
}

// extension builds an Extension element.
func extension(oid asn1.ObjectIdentifier, critical bool, value []byte) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if critical {
				b.AddASN1Boolean(true)
			}
			b.AddASN1OctetString(value)
		})
	})
}

func spkiOf(t testing.TB, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	b, err := certs.MarshalSubjectPublicKeyInfo(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// build assembles and signs the certificate with key (ECDSA-SHA256 over the tbsCertificate).
func (r rawCert) build(t testing.TB) []byte {
	t.Helper()
	if r.key == nil {
		r.key = loadKey(t, "eUICC/SK_EUICC_ECDSA_NIST.pem")
	}
	if r.serialRaw == nil {
		r.serialRaw = der(func(b *cryptobyte.Builder) { b.AddASN1BigInt(big.NewInt(0x1234)) })
	}
	if r.sigAlg == nil {
		r.sigAlg = algID(certs.OIDSignatureECDSA256)
	}
	if r.outerSigAlg == nil {
		r.outerSigAlg = r.sigAlg
	}
	if r.issuer == nil {
		r.issuer = name(printable(oidCN, "Test Issuer"))
	}
	if r.subject == nil {
		r.subject = name(printable(oidCN, "Test Subject"))
	}
	if r.validityRaw == nil {
		r.validityRaw = validity(utcTime("200101000000Z"), genTime("20991231235959Z"))
	}
	if r.spki == nil {
		r.spki = spkiOf(t, &r.key.PublicKey)
	}
	tbs := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			switch {
			case r.versionRaw != nil:
				b.AddBytes(r.versionRaw)
			case !r.v1:
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })
			}
			b.AddBytes(r.serialRaw)
			b.AddBytes(r.sigAlg)
			b.AddBytes(r.issuer)
			b.AddBytes(r.validityRaw)
			b.AddBytes(r.subject)
			b.AddBytes(r.spki)
			switch {
			case r.extsRaw != nil:
				b.AddBytes(r.extsRaw)
			case len(r.extensions) > 0:
				b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						for _, e := range r.extensions {
							b.AddBytes(e)
						}
					})
				})
			}
			b.AddBytes(r.tbsTrailer)
		})
	})
	if r.sigRaw == nil {
		h := sha256.Sum256(tbs)
		sig, err := ecdsa.SignASN1(rand.Reader, r.key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		r.sigRaw = der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddUint8(0); b.AddBytes(sig) })
		})
	}
	return append(der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(tbs)
			b.AddBytes(r.outerSigAlg)
			b.AddBytes(r.sigRaw)
			b.AddBytes(r.certTrailer)
		})
	}), r.trailer...)
}

// Extension values used by several tests.
func skiExt(id []byte) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 14}, false, der(func(b *cryptobyte.Builder) { b.AddASN1OctetString(id) }))
}

func akiExt(id []byte) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 35}, false, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(id) })
		})
	}))
}

// keyUsageExt encodes the key usage bits (bit 0 = digitalSignature … bit 8) minimally.
func keyUsageExt(bits ...int) []byte {
	var v uint16
	hi := 0
	for _, bit := range bits {
		v |= 1 << (15 - bit)
		if bit > hi {
			hi = bit
		}
	}
	n := hi/8 + 1
	unused := 8*n - 1 - hi
	content := []byte{byte(unused), byte(v >> 8), byte(v)}[:1+n]
	return extension(asn1.ObjectIdentifier{2, 5, 29, 15}, true, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	}))
}

func policiesExt(oids ...asn1.ObjectIdentifier) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 32}, true, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, o := range oids {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(o) })
			}
		})
	}))
}

// basicConstraintsExt with pathLen < 0 meaning absent.
func basicConstraintsExt(ca bool, pathLen int) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 19}, true, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if ca {
				b.AddASN1Boolean(true)
			}
			if pathLen >= 0 {
				b.AddASN1Int64(int64(pathLen))
			}
		})
	}))
}

// dirNameConstraintsExt is the SGP.22 variant-O EUM nameConstraints: permitted directoryName
// subtrees "O=<org>, serialNumber=<prefix>".
func dirNameConstraintsExt(org string, prefixes ...string) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 30}, true, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				for _, p := range prefixes {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes(name(printable(oidO, org), printable(oidSerial, p)))
						})
					})
				}
			})
		})
	}))
}

// permittedEINsExt is the GSMA permittedEins extension (SEQUENCE OF PrintableString).
func permittedEINsExt(critical bool, prefixes ...string) []byte {
	return extension(certs.OIDExtPermittedEINs, critical, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, p := range prefixes {
				b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
			}
		})
	}))
}

// sanExt builds a subjectAltName from pre-encoded GeneralName elements.
func sanExt(names ...[]byte) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 17}, false, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, n := range names {
				b.AddBytes(n)
			}
		})
	}))
}

func ridName(oid asn1.ObjectIdentifier) []byte {
	content := derOID(oid)[2:] // strip the 06 tag and short length
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(8).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(content) })
	})
}

func dnsName(s string) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	})
}

func ekuExt(oids ...asn1.ObjectIdentifier) []byte {
	return extension(asn1.ObjectIdentifier{2, 5, 29, 37}, true, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, o := range oids {
				b.AddASN1ObjectIdentifier(o)
			}
		})
	}))
}
