package download

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
)

// Credentials is the SM-DP+'s identity under one CI (SGP.22 §4.5.2): CERT.DPauth.ECDSA signs
// ServerSigned1, CERT.DPpb.ECDSA signs SmdpSigned2 and the Bound Profile Package.
type Credentials struct {
	CI        *certs.Certificate
	DPauth    *certs.Certificate
	DPauthKey crypto.Signer
	DPpb      *certs.Certificate
	DPpbKey   crypto.Signer
}

// CIPKID is the CI's Subject Key Identifier, the value of euiccCiPKIdToBeUsed.
func (c *Credentials) CIPKID() []byte { return c.CI.SubjectKeyId }

// SMDPOID is the SM-DP+ OID from CERT.DPauth's registeredID (SGP.22 §4.5.2.1), which
// CancelSession's smdpOid must equal.
func (c *Credentials) SMDPOID() asn1.ObjectIdentifier {
	if len(c.DPauth.RegisteredIDs) == 0 {
		return nil
	}
	return c.DPauth.RegisteredIDs[0]
}

// Verify checks that both certificates chain to the CI, carry their roles and are valid at now.
func (c *Credentials) Verify(now time.Time) error {
	roots, err := certs.NewRoots(c.CI)
	if err != nil {
		return err
	}
	opts := certs.VerifyOptions{Now: now}
	if _, err := certs.VerifyServerCertificate(c.DPauth, certs.RoleDPAuth, roots, opts); err != nil {
		return fmt.Errorf("CERT.DPauth: %w", err)
	}
	if _, err := certs.VerifyServerCertificate(c.DPpb, certs.RoleDPPb, roots, opts); err != nil {
		return fmt.Errorf("CERT.DPpb: %w", err)
	}
	return nil
}

// KeyLoader turns the contents of a key file into a signer. The default reads PEM private keys;
// the server passes one that also accepts a PKCS#11 URI, so a key can live in an HSM.
type KeyLoader func(contents []byte) (crypto.Signer, error)

// PEMKeys is the KeyLoader for PEM private keys (SEC 1 or PKCS #8, both curves).
func PEMKeys(contents []byte) (crypto.Signer, error) {
	k, err := certs.ParsePrivateKeyPEM(contents)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// LoadCredentials reads a credential set in the devpki directory layout (ci.crt, dpauth.crt/.key,
// dppb.crt/.key) and verifies it at now. loadKey reads the key files; nil means PEMKeys.
func LoadCredentials(dir string, now time.Time, loadKey KeyLoader) (*Credentials, error) {
	if loadKey == nil {
		loadKey = PEMKeys
	}
	var c Credentials
	var err error
	if c.CI, err = readCert(dir, devpki.CICertFile); err != nil {
		return nil, err
	}
	if c.DPauth, c.DPauthKey, err = readPair(dir, devpki.DPauthCertFile, devpki.DPauthKeyFile, loadKey); err != nil {
		return nil, err
	}
	if c.DPpb, c.DPpbKey, err = readPair(dir, devpki.DPpbCertFile, devpki.DPpbKeyFile, loadKey); err != nil {
		return nil, err
	}
	if err := c.Verify(now); err != nil {
		return nil, fmt.Errorf("credentials in %s: %w", dir, err)
	}
	return &c, nil
}

func readCert(dir, name string) (*certs.Certificate, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	c, err := certs.ParseCertificatePEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return c, nil
}

func readPair(dir, certName, keyName string, loadKey KeyLoader) (*certs.Certificate, crypto.Signer, error) {
	c, err := readCert(dir, certName)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, keyName))
	if err != nil {
		return nil, nil, err
	}
	key, err := loadKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, keyName), err)
	}
	if pub, ok := key.Public().(*ecdsa.PublicKey); !ok || !pub.Equal(c.PublicKey) {
		return nil, nil, errors.New(filepath.Join(dir, keyName) + " does not match " + certName)
	}
	return c, key, nil
}
