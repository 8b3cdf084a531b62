package euicc

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/rsp"
)

// Defaults applied by New to zero-valued Config fields.
const (
	// DefaultFreeNonVolatileMemory is the free non-volatile memory of a new card, in bytes: room
	// for a few dozen TS.48 test Profiles.
	DefaultFreeNonVolatileMemory = 512 << 10
	// DefaultFreeVolatileMemory is the free volatile memory reported, in bytes.
	DefaultFreeVolatileMemory = 16 << 10
	// DefaultRootDsAddress is the root SM-DS address of the card (ES10a), the SGP.26 test one.
	DefaultRootDsAddress = "testrootsmds.example.com"
	// DefaultSASAccreditationNumber is reported in EUICCInfo2.
	DefaultSASAccreditationNumber = "SMDPP-VIRTUAL-EUICC"
)

// Default versions reported in EUICCInfo1/EUICCInfo2.
var (
	DefaultSVN             = rsp.VersionType{2, 2, 2} // SGP.22 v2.2.2, what lpac speaks
	DefaultProfileVersion  = rsp.VersionType{2, 3, 1} // SIMalliance interoperable profile 2.3.1
	DefaultFirmwareVersion = rsp.VersionType{1, 0, 0}
)

// Config configures a virtual eUICC. The identity fields are required; every other field has a
// default, applied by New.
type Config struct {
	// EID is the eUICC identifier, 32 decimal digits; it must be the serialNumber of
	// Certificate's subject.
	EID string
	// Certificate is CERT.EUICC.ECDSA, DER.
	Certificate []byte
	// Key is SK.EUICC.ECDSA, the private key of Certificate; it signs euiccSignature1/2,
	// euiccSignPIR, the cancel-session and the other notifications. A *ecdsa.PrivateKey will do.
	Key crypto.Signer
	// EUMCertificate is CERT.EUM.ECDSA, DER, the issuer of Certificate.
	EUMCertificate []byte
	// CICertificates are the CI certificates (DER) the eUICC trusts: each one's subject key
	// identifier is a CI PKID of euiccCiPKIdListForVerification. The CI that issued
	// EUMCertificate must be among them; it is the only entry of euiccCiPKIdListForSigning.
	CICertificates [][]byte

	// Now is the card's clock, against which server certificates are checked. Default time.Now.
	Now func() time.Time
	// Rand is the random source for challenges. Default crypto/rand.Reader. (One-time keys and
	// signatures use the system's secure source whatever is set here, as crypto/ecdsa does.)
	Rand io.Reader

	// SVN is the SGP.22 version reported (EUICCInfo1/2 svn). Default 2.2.2.
	SVN rsp.VersionType
	// ProfileVersion is the highest SIMalliance profile package version supported (EUICCInfo2
	// profileVersion); a profile package whose header names a higher major.minor version is
	// refused. Default 2.3.1.
	ProfileVersion rsp.VersionType
	// FirmwareVersion is EUICCInfo2 euiccFirmwareVer. Default 1.0.0.
	FirmwareVersion rsp.VersionType
	// FreeNonVolatileMemory is the free non-volatile memory of the card with no Profile
	// installed, in bytes; each installed Profile takes the size of its profile package from it.
	// It is reported in EUICCInfo2 extCardResource (tag 82) and limits installation. Default
	// DefaultFreeNonVolatileMemory; set a small value to make the card too small.
	FreeNonVolatileMemory int64
	// FreeVolatileMemory is reported in extCardResource (tag 83). Default
	// DefaultFreeVolatileMemory.
	FreeVolatileMemory int64
	// InstalledApplications is the number of applications installed besides the Profiles,
	// reported in extCardResource (tag 81) plus one per installed Profile.
	InstalledApplications int
	// SASAccreditationNumber is reported in EUICCInfo2 (at most 64 characters). Default
	// DefaultSASAccreditationNumber.
	SASAccreditationNumber string
	// DefaultDpAddress is the initial default SM-DP+ address (ES10a); empty for none.
	DefaultDpAddress string
	// RootDsAddress is the root SM-DS address (ES10a). Default DefaultRootDsAddress.
	RootDsAddress string

	// AcceptInvalidProfile makes the card install whatever the profile segments decrypt to,
	// without parsing it as a SAIP profile package (no header, ICCID or version check). Leave it
	// unset to refuse what a real eUICC refuses.
	AcceptInvalidProfile bool

	// State is the card's content to start from (Profiles, notifications), as saved from
	// ISDR.State; nil for an empty card.
	State *State

	// Logger receives one debug event per ES10 function and an info event per installation,
	// Profile state change and deletion. Default: discard.
	Logger *slog.Logger
}

// withDefaults returns c with the documented defaults applied.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.SVN == (rsp.VersionType{}) {
		c.SVN = DefaultSVN
	}
	if c.ProfileVersion == (rsp.VersionType{}) {
		c.ProfileVersion = DefaultProfileVersion
	}
	if c.FirmwareVersion == (rsp.VersionType{}) {
		c.FirmwareVersion = DefaultFirmwareVersion
	}
	if c.FreeNonVolatileMemory == 0 {
		c.FreeNonVolatileMemory = DefaultFreeNonVolatileMemory
	}
	if c.FreeVolatileMemory == 0 {
		c.FreeVolatileMemory = DefaultFreeVolatileMemory
	}
	if c.SASAccreditationNumber == "" {
		c.SASAccreditationNumber = DefaultSASAccreditationNumber
	}
	if c.RootDsAddress == "" {
		c.RootDsAddress = DefaultRootDsAddress
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the fields that have no default and the ranges of the others, without
// parsing certificates (New does that).
func (c *Config) Validate() error {
	var errs []error
	if len(c.EID) != certs.EIDLength || !digits(c.EID) {
		errs = append(errs, fmt.Errorf("EID %q is not %d decimal digits", c.EID, certs.EIDLength))
	}
	if len(c.Certificate) == 0 {
		errs = append(errs, errors.New("no eUICC certificate"))
	}
	if c.Key == nil {
		errs = append(errs, errors.New("no eUICC private key"))
	}
	if len(c.EUMCertificate) == 0 {
		errs = append(errs, errors.New("no EUM certificate"))
	}
	if len(c.CICertificates) == 0 {
		errs = append(errs, errors.New("no CI certificate"))
	}
	if c.FreeNonVolatileMemory < 0 || c.FreeVolatileMemory < 0 || c.InstalledApplications < 0 {
		errs = append(errs, errors.New("negative memory size or application count"))
	}
	if len([]rune(c.SASAccreditationNumber)) > 64 {
		errs = append(errs, errors.New("SAS accreditation number longer than 64 characters"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("euicc: invalid configuration: %w", err)
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// LoadDir loads the identity of eUICC eid from a development PKI directory in the devpki layout:
// euicc/<EID>.crt and .key, eum.crt and ci.crt (PEM). The other Config fields are left zero.
func LoadDir(dir, eid string) (Config, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("euicc: loading PKI directory: %w", err)
		}
		return b, nil
	}
	if len(eid) != certs.EIDLength || !digits(eid) {
		return Config{}, fmt.Errorf("euicc: EID %q is not %d decimal digits", eid, certs.EIDLength)
	}
	cfg := Config{EID: eid}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{
		{devpki.EUICCCertFile(eid), &cfg.Certificate},
		{devpki.EUMCertFile, &cfg.EUMCertificate},
	} {
		pemData, err := read(f.name)
		if err != nil {
			return Config{}, err
		}
		cert, err := certs.ParseCertificatePEM(pemData)
		if err != nil {
			return Config{}, fmt.Errorf("euicc: %s: %w", f.name, err)
		}
		*f.dst = cert.Raw
	}
	ciPEM, err := read(devpki.CICertFile)
	if err != nil {
		return Config{}, err
	}
	ci, err := certs.ParseCertificatePEM(ciPEM)
	if err != nil {
		return Config{}, fmt.Errorf("euicc: %s: %w", devpki.CICertFile, err)
	}
	cfg.CICertificates = [][]byte{ci.Raw}
	keyPEM, err := read(devpki.EUICCKeyFile(eid))
	if err != nil {
		return Config{}, err
	}
	key, err := certs.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return Config{}, fmt.Errorf("euicc: %s: %w", devpki.EUICCKeyFile(eid), err)
	}
	cfg.Key = key
	return cfg, nil
}

// LoadSGP26 loads the GSMA SGP.26 test eUICC (EID 89049032123451234512345678901235) from a copy
// of the SGP.26 certificate folders (testdata/certs in this repository): eUICC/CERT_EUICC_ECDSA_*
// with SK_EUICC_ECDSA_*.pem, EUM/CERT_EUM_ECDSA_* and CertificateIssuer/CERT_CI_ECDSA_*, for
// curve "nist" or "brainpool". The EID is read from the certificate. The other Config fields are
// left zero.
func LoadSGP26(certsDir, curve string) (Config, error) {
	var suffix string
	switch curve {
	case "nist":
		suffix = "NIST"
	case "brainpool":
		suffix = "BRP"
	default:
		return Config{}, fmt.Errorf("euicc: unknown curve %q (want nist or brainpool)", curve)
	}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(certsDir, name))
		if err != nil {
			return nil, fmt.Errorf("euicc: loading SGP.26 certificates: %w", err)
		}
		return b, nil
	}
	var cfg Config
	var err error
	if cfg.Certificate, err = read(filepath.Join("eUICC", "CERT_EUICC_ECDSA_"+suffix+".der")); err != nil {
		return Config{}, err
	}
	if cfg.EUMCertificate, err = read(filepath.Join("EUM", "CERT_EUM_ECDSA_"+suffix+".der")); err != nil {
		return Config{}, err
	}
	ci, err := read(filepath.Join("CertificateIssuer", "CERT_CI_ECDSA_"+suffix+".der"))
	if err != nil {
		return Config{}, err
	}
	cfg.CICertificates = [][]byte{ci}
	keyPEM, err := read(filepath.Join("eUICC", "SK_EUICC_ECDSA_"+suffix+".pem"))
	if err != nil {
		return Config{}, err
	}
	if cfg.Key, err = certs.ParsePrivateKeyPEM(keyPEM); err != nil {
		return Config{}, fmt.Errorf("euicc: SGP.26 eUICC key: %w", err)
	}
	cert, err := certs.ParseCertificate(cfg.Certificate)
	if err != nil {
		return Config{}, fmt.Errorf("euicc: SGP.26 eUICC certificate: %w", err)
	}
	cfg.EID = cert.EID
	return cfg, nil
}
