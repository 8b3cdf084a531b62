package euicc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// Status words of the card-level failures (ISO/IEC 7816-4) this applet answers with.
const (
	swWrongData              = apdu.SWWrongData              // 6A80: the request is not DER of its type
	swConditionsNotSatisfied = apdu.SWConditionsNotSatisfied // 6985: not now (no download session)
	swReferencedDataNotFound = 0x6A88                        // unknown function tag
)

// Tags of the ES10 requests (SGP.22 §5.7, RSPDefinitions).
const (
	tagGetEuiccInfo1          tlv.Tag = 0xBF20
	tagPrepareDownload        tlv.Tag = 0xBF21
	tagGetEuiccInfo2          tlv.Tag = 0xBF22
	tagListNotification       tlv.Tag = 0xBF28
	tagSetNickname            tlv.Tag = 0xBF29
	tagRetrieveNotifications  tlv.Tag = 0xBF2B
	tagProfileInfoList        tlv.Tag = 0xBF2D
	tagGetEuiccChallenge      tlv.Tag = 0xBF2E
	tagNotificationSent       tlv.Tag = 0xBF30
	tagEnableProfile          tlv.Tag = 0xBF31
	tagDisableProfile         tlv.Tag = 0xBF32
	tagDeleteProfile          tlv.Tag = 0xBF33
	tagEuiccMemoryReset       tlv.Tag = 0xBF34
	tagAuthenticateServer     tlv.Tag = 0xBF38
	tagEuiccConfiguredAddress tlv.Tag = 0xBF3C
	tagGetEuiccData           tlv.Tag = 0xBF3E
	tagSetDefaultDpAddress    tlv.Tag = 0xBF3F
	tagCancelSession          tlv.Tag = 0xBF41
	tagGetRAT                 tlv.Tag = 0xBF43
)

// ISDR is the virtual eUICC: its ISD-R answering ES10 requests as an apdu.Applet, with the
// Profiles, notifications and RSP session it keeps. Use it behind apdu.NewCard. It is safe for
// concurrent use; requests are processed one at a time.
type ISDR struct {
	*identity

	mu            sync.Mutex
	challenge     []byte            // pending euiccChallenge, nil when none
	sess          *session          // the RSP session, nil when none
	otk           *ecdsa.PrivateKey // otSK.EUICC.ECKA kept for a retry with bppEuiccOtpk
	otpk          []byte            // its otPK, uncompressed
	profiles      []*Profile
	notifications []Notification
	nextSeq       int64
	defaultDp     string
}

var _ apdu.Applet = (*ISDR)(nil)

// identity is what a card is issued with and never changes: checked once by New, shared by
// the cards Fresh makes.
type identity struct {
	cfg       Config
	eid       []byte // the EID as 16 octets
	cert      *certs.Certificate
	eum       *certs.Certificate
	roots     *certs.Roots
	signingCI []byte // PKID of the CI that issued the EUM: euiccCiPKIdListForSigning
	curve     elliptic.Curve
	log       *slog.Logger
}

// newCard returns a card of identity id with nothing installed.
func newCard(id *identity) *ISDR {
	return &ISDR{identity: id, nextSeq: 1, defaultDp: id.cfg.DefaultDpAddress}
}

// Fresh returns a new card with c's identity and trust anchors and nothing else: no profiles,
// notifications or session, whatever c holds (cfg.State is not applied). It skips New's checks
// of the identity, which c passed: a load generator makes one card per download this way.
func (c *ISDR) Fresh() *ISDR { return newCard(c.identity) }

// session is an RSP session (SGP.22 §3.1.3): opened by AuthenticateServer, prepared by
// PrepareDownload, used by the Bound Profile Package, closed by its result or CancelSession.
type session struct {
	transactionID   []byte
	serverAddress   string
	serverChallenge []byte
	ciPKID          []byte
	smdpOID         asn1.ObjectIdentifier // of CERT.DPauth
	euiccSignature1 []byte

	// Set by PrepareDownload.
	dppb      *certs.Certificate
	otk       *ecdsa.PrivateKey
	euiccOtpk []byte

	// Set once the first segment of a Bound Profile Package has arrived.
	load *bppLoad
}

// New returns a virtual eUICC configured by cfg, after checking that its identity holds
// together: the key matches CERT.EUICC, whose EID is cfg.EID, which the EUM issued (and whose EID
// is in the EUM's permitted range), which one of the trusted CIs issued. Validity periods of the
// card's own certificates are not checked, as a card does not check them.
func New(cfg Config) (*ISDR, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	eid, _ := hex.DecodeString(cfg.EID)
	cert, err := certs.ParseCertificate(cfg.Certificate)
	if err != nil {
		return nil, fmt.Errorf("euicc: eUICC certificate: %w", err)
	}
	eum, err := certs.ParseCertificate(cfg.EUMCertificate)
	if err != nil {
		return nil, fmt.Errorf("euicc: EUM certificate: %w", err)
	}
	var cis []*certs.Certificate
	for i, der := range cfg.CICertificates {
		ci, err := certs.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("euicc: CI certificate %d: %w", i, err)
		}
		cis = append(cis, ci)
	}
	roots, err := certs.NewRoots(cis...)
	if err != nil {
		return nil, fmt.Errorf("euicc: CI certificates: %w", err)
	}
	pub, ok := cfg.Key.Public().(*ecdsa.PublicKey)
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("euicc: the private key does not belong to the eUICC certificate")
	}
	if cert.EID != cfg.EID {
		return nil, fmt.Errorf("euicc: the eUICC certificate is for EID %q, not %s", cert.EID, cfg.EID)
	}
	if !bytes.Equal(cert.AuthorityKeyId, eum.SubjectKeyId) {
		return nil, errors.New("euicc: the eUICC certificate was not issued by the EUM certificate")
	}
	if err := cert.CheckSignatureFrom(eum); err != nil {
		return nil, fmt.Errorf("euicc: eUICC certificate: %w", err)
	}
	if len(eum.PermittedEIDPrefixes) > 0 && !slices.ContainsFunc(eum.PermittedEIDPrefixes, func(p string) bool {
		return strings.HasPrefix(cfg.EID, p)
	}) {
		return nil, fmt.Errorf("euicc: EID %s is outside the EUM's range %q", cfg.EID, eum.PermittedEIDPrefixes)
	}
	ci, ok := roots.Lookup(eum.AuthorityKeyId)
	if !ok {
		return nil, fmt.Errorf("euicc: the EUM certificate's CI %x is not among the trusted CIs", eum.AuthorityKeyId)
	}
	if err := eum.CheckSignatureFrom(ci); err != nil {
		return nil, fmt.Errorf("euicc: EUM certificate: %w", err)
	}
	c := newCard(&identity{
		cfg:       cfg,
		eid:       eid,
		cert:      cert,
		eum:       eum,
		roots:     roots,
		signingCI: bytes.Clone(ci.SubjectKeyId),
		curve:     cert.PublicKey.Curve,
		log:       cfg.Logger.With("eid", cfg.EID),
	})
	if cfg.State != nil {
		if err := c.restore(cfg.State); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// EID returns the card's EID, 32 digits.
func (c *ISDR) EID() string { return c.cfg.EID }

// handler processes one ES10 request with c.mu held.
type handler func(c *ISDR, req []byte) ([]byte, error)

var handlers = map[tlv.Tag]handler{
	tagGetEuiccChallenge:      (*ISDR).getEuiccChallenge,
	tagGetEuiccInfo1:          (*ISDR).getEuiccInfo1,
	tagGetEuiccInfo2:          (*ISDR).getEuiccInfo2,
	tagAuthenticateServer:     (*ISDR).authenticateServer,
	tagPrepareDownload:        (*ISDR).prepareDownload,
	tagCancelSession:          (*ISDR).cancelSession,
	tagListNotification:       (*ISDR).listNotification,
	tagRetrieveNotifications:  (*ISDR).retrieveNotificationsList,
	tagNotificationSent:       (*ISDR).notificationSent,
	tagProfileInfoList:        (*ISDR).profileInfoList,
	tagEnableProfile:          (*ISDR).enableProfile,
	tagDisableProfile:         (*ISDR).disableProfile,
	tagDeleteProfile:          (*ISDR).deleteProfile,
	tagSetNickname:            (*ISDR).setNickname,
	tagEuiccMemoryReset:       (*ISDR).euiccMemoryReset,
	tagGetEuiccData:           (*ISDR).getEuiccData,
	tagEuiccConfiguredAddress: (*ISDR).getEuiccConfiguredAddresses,
	tagSetDefaultDpAddress:    (*ISDR).setDefaultDpAddress,
	tagGetRAT:                 (*ISDR).getRAT,

	// The segments of a Bound Profile Package (SGP.22 §2.5.5): the BF36 header with
	// InitialiseSecureChannel, the sequence headers and the BSP TLVs.
	rsp.TagBoundProfilePackage: (*ISDR).loadBoundProfilePackage,
	rsp.TagFirstSequenceOf87:   (*ISDR).loadBoundProfilePackage,
	rsp.TagSequenceOf88:        (*ISDR).loadBoundProfilePackage,
	rsp.TagSecondSequenceOf87:  (*ISDR).loadBoundProfilePackage,
	rsp.TagSequenceOf86:        (*ISDR).loadBoundProfilePackage,
	rsp.Tag86:                  (*ISDR).loadBoundProfilePackage,
	rsp.Tag87:                  (*ISDR).loadBoundProfilePackage,
	rsp.Tag88:                  (*ISDR).loadBoundProfilePackage,
}

// Process answers one ES10 request (SGP.22 §5.7), dispatched on its tag. Card-level failures
// are apdu.SWError values: 6A80 for a request that is not DER of its type, 6A88 for an unknown
// function, 6985 for a Bound Profile Package segment with no download session ready.
func (c *ISDR) Process(_ context.Context, req []byte) ([]byte, error) {
	tag, ok := tlv.String(req).NextTag()
	if !ok {
		return nil, apdu.SWError{SW: swWrongData}
	}
	h, ok := handlers[tag]
	if !ok {
		c.log.Debug("ES10 request with unknown tag", "tag", tag)
		return nil, apdu.SWError{SW: swReferencedDataNotFound}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, err := h(c, req)
	if err != nil {
		c.log.Debug("ES10 request refused", "tag", tag, "err", err)
		return nil, err
	}
	c.log.Debug("ES10 request", "tag", tag, "response_bytes", len(resp))
	return resp, nil
}

// malformed is the error for a request that does not decode.
func malformed(err error) error {
	return fmt.Errorf("euicc: %w: %w", apdu.SWError{SW: swWrongData}, err)
}

// errNotNow is the error for a request that cannot be served in the current state.
func errNotNow(what string) error {
	return fmt.Errorf("euicc: %s: %w", what, apdu.SWError{SW: swConditionsNotSatisfied})
}

// sign signs msg with SK.EUICC.ECDSA and returns the plain r‖s signature.
func (c *ISDR) sign(msg []byte) ([]byte, error) {
	sig, err := certs.SignRaw(c.cfg.Key, msg)
	if err != nil {
		return nil, fmt.Errorf("euicc: %w", err)
	}
	return sig, nil
}

// signatureTLV returns 5F37 40 ‖ sig, the form in which a signature is appended to the data of
// the next signature (SGP.22 §5.7.5).
func signatureTLV(sig []byte) []byte {
	b := tlv.NewBuilder(nil)
	b.AddValue(0x5F37, sig)
	out, _ := b.Bytes() // a constant tag and a short value cannot fail
	return out
}
