package devpki

import (
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file holds a small, strict X.509 reader used only by the tests. It is written apart from the
// encoder in der.go so that the tests read back certificates (ours and the GSMA ones, on both curves,
// which crypto/x509 cannot parse for brainpool) without trusting the code that wrote them.

type rdnAttr struct {
	typ   asn1.ObjectIdentifier
	tag   cbasn1.Tag
	value string
}

type parsedExt struct {
	id       asn1.ObjectIdentifier
	critical bool
	value    []byte
}

type parsedCert struct {
	tbs        []byte // full TBSCertificate element
	innerAlg   []byte // signature AlgorithmIdentifier inside the TBS
	outerAlg   []byte // signatureAlgorithm after the TBS
	signature  []byte // DER Ecdsa-Sig-Value
	version    int64
	serial     *big.Int
	serialLen  int // content octets of the serial INTEGER
	issuerRaw  []byte
	issuer     []rdnAttr
	notBefore  time.Time
	notAfter   time.Time
	timeTags   [2]cbasn1.Tag
	subjectRaw []byte
	subject    []rdnAttr
	spki       []byte
	exts       []parsedExt
}

var errMalformed = errors.New("malformed certificate")

func parseCert(der []byte) (*parsedCert, error) {
	var c parsedCert
	in := cryptobyte.String(der)
	var cert, tbsElem, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() ||
		!cert.ReadASN1Element(&tbsElem, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	c.tbs = tbsElem
	var outerAlg cryptobyte.String
	var sigBits asn1.BitString
	if !cert.ReadASN1Element(&outerAlg, cbasn1.SEQUENCE) || !cert.ReadASN1BitString(&sigBits) || !cert.Empty() ||
		sigBits.BitLength%8 != 0 {
		return nil, errMalformed
	}
	c.outerAlg, c.signature = outerAlg, sigBits.Bytes

	if !tbsElem.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	var version cryptobyte.String
	if !tbs.ReadASN1(&version, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!version.ReadASN1Int64WithTag(&c.version, cbasn1.INTEGER) || !version.Empty() {
		return nil, errMalformed
	}
	var serialElem cryptobyte.String
	if !tbs.ReadASN1Element(&serialElem, cbasn1.INTEGER) {
		return nil, errMalformed
	}
	var serialContent cryptobyte.String
	c.serial = new(big.Int)
	if s := serialElem; !s.ReadASN1(&serialContent, cbasn1.INTEGER) {
		return nil, errMalformed
	}
	if s := serialElem; !s.ReadASN1Integer(c.serial) {
		return nil, errMalformed
	}
	c.serialLen = len(serialContent)
	var innerAlg, issuer, validity, subject, spki cryptobyte.String
	if !tbs.ReadASN1Element(&innerAlg, cbasn1.SEQUENCE) || !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&validity, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	c.innerAlg, c.issuerRaw = innerAlg, issuer
	for i, out := range []*time.Time{&c.notBefore, &c.notAfter} {
		switch {
		case validity.PeekASN1Tag(cbasn1.UTCTime):
			c.timeTags[i] = cbasn1.UTCTime
			if !validity.ReadASN1UTCTime(out) {
				return nil, errMalformed
			}
		case validity.PeekASN1Tag(cbasn1.GeneralizedTime):
			c.timeTags[i] = cbasn1.GeneralizedTime
			if !validity.ReadASN1GeneralizedTime(out) {
				return nil, errMalformed
			}
		default:
			return nil, errMalformed
		}
	}
	if !validity.Empty() || !tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	c.subjectRaw, c.spki = subject, spki
	var err error
	if c.issuer, err = parseName(c.issuerRaw); err != nil {
		return nil, err
	}
	if c.subject, err = parseName(c.subjectRaw); err != nil {
		return nil, err
	}
	var extsWrap, exts cryptobyte.String
	if !tbs.ReadASN1(&extsWrap, cbasn1.Tag(3).Constructed().ContextSpecific()) || !tbs.Empty() ||
		!extsWrap.ReadASN1(&exts, cbasn1.SEQUENCE) || !extsWrap.Empty() {
		return nil, errMalformed
	}
	for !exts.Empty() {
		var ext cryptobyte.String
		var e parsedExt
		var value []byte
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&e.id) {
			return nil, errMalformed
		}
		// critical BOOLEAN DEFAULT FALSE: DER encodes it only when TRUE.
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) && (!ext.ReadASN1Boolean(&e.critical) || !e.critical) {
			return nil, errMalformed
		}
		if !ext.ReadASN1Bytes(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return nil, errMalformed
		}
		e.value = value
		c.exts = append(c.exts, e)
	}
	return &c, nil
}

// parseName reads an RDNSequence whose RDNs each hold one attribute.
func parseName(raw []byte) ([]rdnAttr, error) {
	in := cryptobyte.String(raw)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errMalformed
	}
	var out []rdnAttr
	for !seq.Empty() {
		var set, atv, value cryptobyte.String
		var a rdnAttr
		if !seq.ReadASN1(&set, cbasn1.SET) || !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !set.Empty() ||
			!atv.ReadASN1ObjectIdentifier(&a.typ) || !atv.ReadAnyASN1(&value, &a.tag) || !atv.Empty() {
			return nil, errMalformed
		}
		a.value = string(value)
		out = append(out, a)
	}
	return out, nil
}

func (c *parsedCert) ext(id asn1.ObjectIdentifier) (parsedExt, bool) {
	for _, e := range c.exts {
		if e.id.Equal(id) {
			return e, true
		}
	}
	return parsedExt{}, false
}

func (c *parsedCert) attr(typ asn1.ObjectIdentifier) string {
	for _, a := range c.subject {
		if a.typ.Equal(typ) {
			return a.value
		}
	}
	return ""
}

// spkiCurve returns the namedCurve OID of the certificate's EC public key.
func (c *parsedCert) spkiCurve() asn1.ObjectIdentifier {
	in := cryptobyte.String(c.spki)
	var spki, alg cryptobyte.String
	var algOID, curve asn1.ObjectIdentifier
	if !in.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&algOID) || !alg.ReadASN1ObjectIdentifier(&curve) {
		return nil
	}
	return curve
}

// generalName is one entry of a GeneralNames value (subjectAltName).
type generalName struct {
	tag   cbasn1.Tag
	value []byte
}

func parseGeneralNames(v []byte) ([]generalName, error) {
	in := cryptobyte.String(v)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errMalformed
	}
	var out []generalName
	for !seq.Empty() {
		var g generalName
		var body cryptobyte.String
		if !seq.ReadAnyASN1(&body, &g.tag) {
			return nil, errMalformed
		}
		g.value = body
		out = append(out, g)
	}
	return out, nil
}

// parseNameConstraints returns the permitted subtrees (each as its GeneralName) and whether an
// excludedSubtrees field is present.
func parseNameConstraints(v []byte) (permitted []generalName, hasExcluded bool, err error) {
	in := cryptobyte.String(v)
	var nc, perm cryptobyte.String
	if !in.ReadASN1(&nc, cbasn1.SEQUENCE) || !in.Empty() ||
		!nc.ReadASN1(&perm, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, false, errMalformed
	}
	hasExcluded = !nc.Empty()
	for !perm.Empty() {
		var subtree, body cryptobyte.String
		var g generalName
		if !perm.ReadASN1(&subtree, cbasn1.SEQUENCE) || !subtree.ReadAnyASN1(&body, &g.tag) || !subtree.Empty() {
			return nil, false, errMalformed
		}
		g.value = body
		permitted = append(permitted, g)
	}
	return permitted, hasExcluded, nil
}

// implicitOID decodes the contents octets of an implicitly tagged OBJECT IDENTIFIER.
func implicitOID(content []byte) (asn1.ObjectIdentifier, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	enc, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	if s := cryptobyte.String(enc); !s.ReadASN1ObjectIdentifier(&oid) {
		return nil, errMalformed
	}
	return oid, nil
}

// gsmaCertDir returns the directory of the SGP.26 test certificates: the repository copy
// (testdata/certs) when present, else the shared reference copy. Under CI=true a missing
// directory fails the test; otherwise the test is skipped.
func gsmaCertDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{filepath.Join("..", "testdata", "certs"), "/work/shared/testdata/certs"} {
		if _, err := os.Stat(filepath.Join(d, "CertificateIssuer", "CERT_CI_ECDSA_NIST.der")); err == nil {
			return d
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("GSMA SGP.26 test certificates not found in ../testdata/certs")
	}
	t.Skip("GSMA SGP.26 test certificates not found in ../testdata/certs")
	return ""
}

func mustParse(t *testing.T, der []byte) *parsedCert {
	t.Helper()
	c, err := parseCert(der)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return c
}

func readGSMA(t *testing.T, rel string) *parsedCert {
	t.Helper()
	der, err := os.ReadFile(filepath.Join(gsmaCertDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, der)
}

func TestParseCertRejectsMalformed(t *testing.T) {
	p := generate(t, "nist", testNow)
	good := p.DPauth.Certificate
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"not a sequence", append([]byte{0x31}, good[1:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseCert(tt.der); err == nil {
				t.Fatal("parseCert accepted malformed input")
			}
		})
	}
	if _, err := parseCert(good); err != nil {
		t.Fatalf("parseCert rejected a good certificate: %v", err)
	}
}
