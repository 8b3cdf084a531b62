package loadgen

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/euicc"
)

// Authority is what eUICC certificates are issued under: the server's CI and its EUM with the
// EUM's private key, as a development PKI directory holds them (devpki layout).
type Authority struct {
	CI     *certs.Certificate
	EUM    *certs.Certificate
	EUMKey crypto.Signer
}

// LoadAuthority reads ci.crt, eum.crt and eum.key from a development PKI directory (one curve,
// e.g. DATA-DIR/pki/nist of `smdpp serve`).
func LoadAuthority(pkiDir string) (*Authority, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(pkiDir, name))
		if err != nil {
			return nil, fmt.Errorf("loadgen: reading the PKI: %w", err)
		}
		return b, nil
	}
	var a Authority
	for _, f := range []struct {
		name string
		dst  **certs.Certificate
	}{{devpki.CICertFile, &a.CI}, {devpki.EUMCertFile, &a.EUM}} {
		data, err := read(f.name)
		if err != nil {
			return nil, err
		}
		if *f.dst, err = certs.ParseCertificatePEM(data); err != nil {
			return nil, fmt.Errorf("loadgen: %s: %w", f.name, err)
		}
	}
	data, err := read(devpki.EUMKeyFile)
	if err != nil {
		return nil, err
	}
	key, err := certs.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %s: %w", devpki.EUMKeyFile, err)
	}
	if !key.PublicKey.Equal(a.EUM.PublicKey) {
		return nil, fmt.Errorf("loadgen: %s does not match %s", devpki.EUMKeyFile, devpki.EUMCertFile)
	}
	a.EUMKey = key
	if err := a.EUM.CheckSignatureFrom(a.CI); err != nil {
		return nil, fmt.Errorf("loadgen: %s is not issued by %s: %w", devpki.EUMCertFile, devpki.CICertFile, err)
	}
	if len(a.EUM.PermittedEIDPrefixes) == 0 {
		return nil, fmt.Errorf("loadgen: %s names no EID prefix to issue under", devpki.EUMCertFile)
	}
	return &a, nil
}

// Identity is the credential of one virtual eUICC: its EID, CERT.EUICC.ECDSA (DER) and
// SK.EUICC.ECDSA.
type Identity struct {
	EID         string
	Certificate []byte
	Key         *ecdsa.PrivateKey
}

// Config is the virtual eUICC configuration of id under a: a new, empty card with this
// identity each time it is given to euicc.New.
func (a *Authority) Config(id Identity) euicc.Config {
	return euicc.Config{
		EID:            id.EID,
		Certificate:    id.Certificate,
		Key:            id.Key,
		EUMCertificate: a.EUM.Raw,
		CICertificates: [][]byte{a.CI.Raw},
	}
}

// cacheSubdir names the cache of one EUM: certificates issued by another EUM (another server
// PKI) are never mixed in.
func (a *Authority) cacheSubdir(cacheDir string) string {
	return filepath.Join(cacheDir, hex.EncodeToString(a.EUM.SubjectKeyId))
}

// EUICCs returns n eUICC identities under a, reusing those cached in cacheDir (one
// subdirectory per EUM, files <EID>.crt and <EID>.key in PEM) and issuing and caching the
// missing ones. Identities come back sorted by EID, so a run uses the same ones each time.
func EUICCs(a *Authority, cacheDir string, n int) ([]Identity, error) {
	if n < 1 || n > MaxEUICCs {
		return nil, fmt.Errorf("loadgen: eUICC count %d is not between 1 and %d", n, MaxEUICCs)
	}
	dir := a.cacheSubdir(cacheDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("loadgen: eUICC cache: %w", err)
	}
	ids, err := loadCached(a, dir, n)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, n)
	for _, id := range ids {
		seen[id.EID] = true
	}
	for len(ids) < n {
		id, err := a.Mint()
		if err != nil {
			return nil, err
		}
		if seen[id.EID] {
			continue
		}
		seen[id.EID] = true
		if err := writeIdentity(dir, id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].EID < ids[j].EID })
	return ids, nil
}

// MaxEUICCs bounds the identities of one run.
const MaxEUICCs = 100000

func loadCached(a *Authority, dir string, n int) ([]Identity, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("loadgen: eUICC cache: %w", err)
	}
	var ids []Identity
	for _, e := range entries {
		eid, ok := strings.CutSuffix(e.Name(), devpki.CertSuffix)
		if !ok || len(ids) == n {
			continue
		}
		id, err := readIdentity(a, dir, eid)
		if err != nil {
			continue // a stray or half-written file: mint another instead
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func readIdentity(a *Authority, dir, eid string) (Identity, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, eid+devpki.CertSuffix))
	if err != nil {
		return Identity{}, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, eid+devpki.KeySuffix))
	if err != nil {
		return Identity{}, err
	}
	cert, err := certs.ParseCertificatePEM(certPEM)
	if err != nil {
		return Identity{}, err
	}
	key, err := certs.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return Identity{}, err
	}
	if cert.EID != eid || !key.PublicKey.Equal(cert.PublicKey) || !bytes.Equal(cert.AuthorityKeyId, a.EUM.SubjectKeyId) {
		return Identity{}, errors.New("mismatched eUICC files")
	}
	return Identity{EID: eid, Certificate: cert.Raw, Key: key}, nil
}

func writeIdentity(dir string, id Identity) error {
	keyPEM, err := certs.MarshalPrivateKeyPEM(id.Key)
	if err != nil {
		return fmt.Errorf("loadgen: encoding eUICC key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Certificate})
	// Key first: a certificate without its key is skipped on load, never used.
	if err := os.WriteFile(filepath.Join(dir, id.EID+devpki.KeySuffix), keyPEM, devpki.KeyMode); err != nil {
		return fmt.Errorf("loadgen: eUICC cache: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, id.EID+devpki.CertSuffix), certPEM, devpki.CertMode); err != nil {
		return fmt.Errorf("loadgen: eUICC cache: %w", err)
	}
	return nil
}

// Mint issues a new eUICC identity: a fresh key on the EUM's curve and a random EID under the
// EUM's first permitted prefix, with SGP.29 check digits.
func (a *Authority) Mint() (Identity, error) {
	eid, err := randomEID(a.EUM.PermittedEIDPrefixes[0])
	if err != nil {
		return Identity{}, err
	}
	key, err := ecdsa.GenerateKey(a.EUM.PublicKey.Curve, rand.Reader)
	if err != nil {
		return Identity{}, fmt.Errorf("loadgen: generating an eUICC key: %w", err)
	}
	der, err := a.IssueEUICC(eid, &key.PublicKey, time.Now())
	if err != nil {
		return Identity{}, err
	}
	return Identity{EID: eid, Certificate: der, Key: key}, nil
}

func randomEID(prefix string) (string, error) {
	free := certs.EIDLength - 2 - len(prefix)
	if free < 1 || !isDigits(prefix) {
		return "", fmt.Errorf("loadgen: EID prefix %q cannot make an EID", prefix)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(free)), nil)
	r, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return "", fmt.Errorf("loadgen: generating an EID: %w", err)
	}
	return certs.EIDWithCheckDigits(fmt.Sprintf("%s%0*s", prefix, free, r.String())), nil
}

// Object identifiers of the eUICC certificate (RFC 5280 §4.2, X.520, SGP.22 §4.5.2).
var (
	oidSubjectKeyID        = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidKeyUsage            = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidCertificatePolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidAuthorityKeyID      = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCommonName          = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber        = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidCountry             = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrganization        = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidRoleEUICC           = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 1}
)

// euiccNotAfter is 99991231235959Z, as for every devpki and GSMA test eUICC certificate.
var euiccNotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// IssueEUICC issues CERT.EUICC.ECDSA for eid and pub, signed by the EUM, in the shape devpki
// gives its eUICC certificates (SGP.22 §4.5.2.1.0.3): subject C, O (the EUM's organisation),
// serialNumber = EID, CN; issuer the EUM's subject as encoded in its certificate; extensions
// authorityKeyIdentifier, subjectKeyIdentifier, critical keyUsage digitalSignature and critical
// certificatePolicies id-rspRole-euicc.
//
// This is a local copy of devpki's unexported issuance until devpki exports one.
func (a *Authority) IssueEUICC(eid string, pub *ecdsa.PublicKey, now time.Time) ([]byte, error) {
	if !certs.ValidEID(eid) {
		return nil, fmt.Errorf("loadgen: %q is not a valid EID", eid)
	}
	org := "smdpp Test EUM"
	if len(a.EUM.Subject.Organization) > 0 {
		org = a.EUM.Subject.Organization[0]
	}
	spki, err := certs.MarshalSubjectPublicKeyInfo(pub)
	if err != nil {
		return nil, fmt.Errorf("loadgen: encoding the eUICC key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	serial.Add(serial, big.NewInt(1))
	notBefore := now.UTC().Truncate(time.Second)
	if notBefore.Before(a.EUM.NotBefore) {
		notBefore = a.EUM.NotBefore
	}
	skid := sha1.Sum(certs.MarshalPoint(pub))

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })
		b.AddASN1BigInt(serial)
		addSignatureAlgorithm(b)
		b.AddBytes(a.EUM.RawSubject)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, notBefore)
			addTime(b, euiccNotAfter)
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addAttribute(b, oidCountry, "ZZ", true)
			addAttribute(b, oidOrganization, org, false)
			addAttribute(b, oidSerialNumber, eid, true)
			addAttribute(b, oidCommonName, "smdpp Test eUICC", false)
		})
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addExtension(b, oidAuthorityKeyID, false, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(a.EUM.SubjectKeyId) })
					})
				})
				addExtension(b, oidSubjectKeyID, false, func(b *cryptobyte.Builder) { b.AddASN1OctetString(skid[:]) })
				addExtension(b, oidKeyUsage, true, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes([]byte{7, 0x80}) })
				})
				addExtension(b, oidCertificatePolicies, true, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidRoleEUICC) })
					})
				})
			})
		})
	})
	tbs, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("loadgen: encoding the eUICC certificate: %w", err)
	}
	digest := sha256.Sum256(tbs)
	sig, err := a.EUMKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loadgen: signing the eUICC certificate: %w", err)
	}
	var c cryptobyte.Builder
	c.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddBytes(tbs)
		addSignatureAlgorithm(c)
		c.AddASN1BitString(sig)
	})
	der, err := c.Bytes()
	if err != nil {
		return nil, fmt.Errorf("loadgen: encoding the eUICC certificate: %w", err)
	}
	// The server verifies with package certs; so does this, before the certificate is used.
	cert, err := certs.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("loadgen: issued eUICC certificate does not parse: %w", err)
	}
	if err := cert.CheckSignatureFrom(a.EUM); err != nil {
		return nil, fmt.Errorf("loadgen: issued eUICC certificate: %w", err)
	}
	return der, nil
}

func addSignatureAlgorithm(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(certs.OIDSignatureECDSA256) })
}

// addTime writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
func addTime(b *cryptobyte.Builder, t time.Time) {
	if t.Year() >= 1950 && t.Year() < 2050 {
		b.AddASN1UTCTime(t)
		return
	}
	b.AddASN1GeneralizedTime(t)
}

// addAttribute writes one RelativeDistinguishedName holding one attribute, UTF8String or
// PrintableString.
func addAttribute(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, value string, printable bool) {
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			tag := cbasn1.UTF8String
			if printable {
				tag = cbasn1.PrintableString
			}
			b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(value)) })
		})
	})
}

func addExtension(b *cryptobyte.Builder, id asn1.ObjectIdentifier, critical bool, value cryptobyte.BuilderContinuation) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(id)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, value)
	})
}
