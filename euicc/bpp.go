package euicc

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/smdpp/smdpp/bsp"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// bppLoad is the state of a Bound Profile Package being loaded (SGP.22 §2.5.5, §5.7.6).
type bppLoad struct {
	reader  rsp.BPPSegmentReader
	keys    *bsp.Session     // nil until InitialiseSecureChannel is accepted
	command rsp.BppCommandId // the BPP command of the last segment accepted
	stage   rsp.BppCommandId // the command whose sequence is open (storeMetadata for both '88' kinds)
	buf     []byte           // plaintext received so far in the open sequence, other than '86'

	isdpDER     []byte // ConfigureISDPRequest as decrypted
	isdp        *rsp.ConfigureISDPRequest
	metadataDER []byte // StoreMetadataRequest as received
	metadata    *rsp.StoreMetadataRequest
	profile     []byte // the profile package, decrypted so far
	headerSeen  bool   // the ProfileHeader has been checked
}

// outcome is what a Bound Profile Package came to: the finalResult of the Profile Installation
// Result and, on success, the Profile installed.
type outcome struct {
	iccid   []byte
	success *rsp.SuccessResult
	failure *rsp.ErrorResult
	profile *Profile
}

// failAt is the outcome of a failure of command cmd.
func (l *bppLoad) failAt(cmd rsp.BppCommandId, reason rsp.ErrorReason, sima []byte) outcome {
	o := outcome{failure: &rsp.ErrorResult{BppCommandId: cmd, ErrorReason: reason, SimaResponse: sima}}
	if l.metadata != nil {
		o.iccid = bytes.Clone(l.metadata.Iccid)
	}
	return o
}

// failure is the outcome of a failure of the command in progress.
func (l *bppLoad) failure(reason rsp.ErrorReason, sima []byte) outcome {
	return l.failAt(l.command, reason, sima)
}

// stageOf folds the two '88' commands into one sequence.
func stageOf(cmd rsp.BppCommandId) rsp.BppCommandId {
	if cmd == rsp.BppCommandIdStoreMetadata2 {
		return rsp.BppCommandIdStoreMetadata
	}
	return cmd
}

// loadBoundProfilePackage answers one segment of ES10b.LoadBoundProfilePackage (SGP.22 §5.7.6):
// no data while the package goes on, the signed ProfileInstallationResult at its end or at the
// first failure.
func (c *ISDR) loadBoundProfilePackage(req []byte) ([]byte, error) {
	s := c.sess
	if s == nil || s.dppb == nil {
		return nil, errNotNow("Bound Profile Package segment without a prepared download session")
	}
	if s.load == nil {
		if tag, _ := tlv.String(req).NextTag(); tag != rsp.TagBoundProfilePackage {
			return nil, errNotNow("Bound Profile Package segment before the BF36 header")
		}
		s.load = &bppLoad{command: rsp.BppCommandIdInitialiseSecureChannel, stage: rsp.BppCommandIdInitialiseSecureChannel}
	}
	l := s.load
	seg, err := l.reader.Next(req)
	if err != nil {
		c.log.Info("Bound Profile Package segment out of order", "err", err)
		return c.installResult(l.failure(rsp.ErrorReasonScp03tStructureError, nil))
	}
	if isc := seg.InitialiseSecureChannelRequest; isc != nil {
		return c.initialiseSecureChannel(s, isc)
	}
	if stage := stageOf(seg.Command); stage != l.stage {
		if o, failed := c.finishSequence(l); failed {
			return c.installResult(o)
		}
		l.stage, l.buf = stage, nil
	}
	l.command = seg.Command
	if seg.Element != nil {
		plain, err := l.keys.Unwrap(seg.Element[0], seg.Element)
		if err != nil {
			reason := rsp.ErrorReasonScp03tStructureError
			if errors.Is(err, bsp.ErrSCP03tSecurity) {
				reason = rsp.ErrorReasonScp03tSecurityError
			}
			c.log.Info("Bound Profile Package segment rejected", "bpp_command_id", int64(seg.Command), "err", err)
			return c.installResult(l.failure(reason, nil))
		}
		if l.stage != rsp.BppCommandIdLoadProfileElements {
			l.buf = append(l.buf, plain...)
		} else if o, failed := c.addProfileData(l, plain); failed {
			return c.installResult(o)
		}
	}
	if l.reader.Done() { // only in the '86' sequence: the reader keeps them in order
		return c.installResult(c.completeInstallation(l))
	}
	return nil, nil
}

// initialiseSecureChannel is ES8+.InitialiseSecureChannel on the card (SGP.22 §5.5.1): it checks
// the request, agrees the session keys with the SM-DP+'s one-time key and opens the BSP session.
func (c *ISDR) initialiseSecureChannel(s *session, isc *rsp.InitialiseSecureChannelRequest) ([]byte, error) {
	l := s.load
	fail := func(reason rsp.ErrorReason, why string) ([]byte, error) {
		c.log.Info("InitialiseSecureChannel refused", "error_reason", int64(reason), "reason", why)
		return c.installResult(l.failure(reason, nil))
	}
	if !bytes.Equal(isc.TransactionID, s.transactionID) {
		return fail(rsp.ErrorReasonInvalidTransactionId, "transactionId is not the session's")
	}
	if isc.RemoteOpID != rsp.RemoteOpIdInstallBoundProfilePackage {
		return fail(rsp.ErrorReasonUnsupportedRemoteOperationType, fmt.Sprintf("remoteOpId %d", isc.RemoteOpID))
	}
	crt := isc.ControlRefTemplate
	if !bytes.Equal(crt.KeyType, []byte{bsp.KeyTypeAES}) || !bytes.Equal(crt.KeyLen, []byte{bsp.KeyLength}) ||
		len(crt.HostID) < 1 || len(crt.HostID) > bsp.MaxHostIDLength {
		return fail(rsp.ErrorReasonUnsupportedCrtValues, fmt.Sprintf("keyType %X keyLen %X", crt.KeyType, crt.KeyLen))
	}
	tbs, err := isc.ReceivedTBS(s.euiccOtpk)
	if err != nil || !certs.VerifyRaw(s.dppb.PublicKey, tbs, isc.SmdpSign) {
		return fail(rsp.ErrorReasonInvalidSignature, "smdpSign does not verify with CERT.DPpb")
	}
	peer, err := bsp.ParseUncompressedPoint(c.curve, isc.SmdpOtpk)
	if err != nil {
		return fail(rsp.ErrorReasonIncorrectInputValues, err.Error())
	}
	shs, err := bsp.SharedSecret(s.otk, peer)
	if err != nil {
		return fail(rsp.ErrorReasonIncorrectInputValues, err.Error())
	}
	keys, err := bsp.DeriveSessionKeys(shs, crt.KeyType[0], crt.KeyLen[0], crt.HostID, c.eid)
	if err != nil {
		return fail(rsp.ErrorReasonUnsupportedCrtValues, err.Error())
	}
	l.keys = bsp.NewSession(keys)
	// The one-time key has served: it cannot bind another package.
	c.otk, c.otpk = nil, nil
	return nil, nil
}

// finishSequence processes the plaintext of the sequence that has just ended (ConfigureISDP,
// StoreMetadata or ReplaceSessionKeys) and reports a failure.
func (c *ISDR) finishSequence(l *bppLoad) (outcome, bool) {
	switch l.stage {
	case rsp.BppCommandIdConfigureISDP:
		var r rsp.ConfigureISDPRequest
		if err := r.Unmarshal(l.buf); err != nil {
			c.log.Info("ConfigureISDP refused", "err", err)
			return l.failAt(rsp.BppCommandIdConfigureISDP, rsp.ErrorReasonIncorrectInputValues, nil), true
		}
		l.isdp, l.isdpDER = &r, bytes.Clone(l.buf)
	case rsp.BppCommandIdStoreMetadata:
		var r rsp.StoreMetadataRequest
		if err := r.Unmarshal(l.buf); err != nil {
			c.log.Info("StoreMetadata refused", "err", err)
			return l.failure(rsp.ErrorReasonIncorrectInputValues, nil), true
		}
		if r.Icon != nil && r.IconType == nil {
			return l.failure(rsp.ErrorReasonIncorrectInputValues, nil), true
		}
		if r.ProfileClass != nil && (*r.ProfileClass < rsp.ProfileClassTest || *r.ProfileClass > rsp.ProfileClassOperational) {
			return l.failure(rsp.ErrorReasonUnsupportedProfileClass, nil), true
		}
		l.metadata, l.metadataDER = &r, bytes.Clone(l.buf)
		if c.findProfile(r.Iccid, nil) != nil {
			c.log.Info("StoreMetadata refused: ICCID already installed", "iccid", fmt.Sprintf("%X", r.Iccid))
			return l.failure(rsp.ErrorReasonInstallFailedDueToIccidAlreadyExistsOnEuicc, nil), true
		}
	case rsp.BppCommandIdReplaceSessionKeys:
		ppk, err := bsp.ParseReplaceSessionKeysRequest(l.buf)
		if err != nil {
			c.log.Info("ReplaceSessionKeys refused", "err", err)
			return l.failure(rsp.ErrorReasonIncorrectInputValues, nil), true
		}
		l.keys.ReplaceSessionKeys(ppk)
	}
	return outcome{}, false
}

// PEStatus codes of the SAIP EUICCResponse (PEDefinitions, PEStatus).
const (
	peStatusOK                        = 0
	peStatusBadValues                 = 3
	peStatusNotEnoughMemory           = 4
	peStatusInvalidRequestFormat      = 5
	peStatusUnsupportedProfileVersion = 31
)

// euiccResponse encodes the SAIP EUICCResponse returned as simaResponse: one PEStatus with
// status, and profileInstallationAborted when the installation stopped.
func euiccResponse(status int64, aborted bool) []byte {
	b := tlv.NewBuilder(nil)
	b.AddTLV(tlv.TagSequence, func(b *tlv.Builder) {
		b.AddTLV(0xA0, func(b *tlv.Builder) { // peStatus
			b.AddTLV(tlv.TagSequence, func(b *tlv.Builder) { b.AddInt64(0x80, status) })
		})
		if aborted {
			b.AddValue(0x81, nil) // profileInstallationAborted NULL
		}
	})
	out, _ := b.Bytes()
	return out
}

// addProfileData takes the plaintext of one '86' segment: it must fit in the free memory and,
// unless any profile is accepted, start with a ProfileHeader that matches the metadata.
func (c *ISDR) addProfileData(l *bppLoad, plain []byte) (outcome, bool) {
	l.profile = append(l.profile, plain...)
	if int64(len(l.profile)) > c.freeNonVolatileMemory() {
		c.log.Info("profile package larger than the free memory", "free", c.freeNonVolatileMemory())
		return l.failure(rsp.ErrorReasonInstallFailedDueToInsufficientMemory, euiccResponse(peStatusNotEnoughMemory, true)), true
	}
	if c.cfg.AcceptInvalidProfile || l.headerSeen {
		return outcome{}, false
	}
	s := tlv.String(l.profile)
	var tag tlv.Tag
	var n int
	if !s.ReadHeader(&tag, &n) {
		if len(l.profile) >= 8 { // room for any header a profile element can have
			return l.failure(rsp.ErrorReasonInstallFailedDueToPEProcessingError, euiccResponse(peStatusInvalidRequestFormat, true)), true
		}
		return outcome{}, false
	}
	if len(s) < n && tag == tagPEHeader {
		return outcome{}, false // the header element is not complete yet
	}
	l.headerSeen = true
	return c.checkProfileHeader(l)
}

// Tags of the SAIP ProfileElement alternatives this card looks at (PEDefinitions, automatic tags).
const (
	tagPEHeader tlv.Tag = 0xA0 // header ProfileHeader
	tagPEEnd    tlv.Tag = 0xAA // end PE-End
)

// checkProfileHeader checks the first ProfileElement: a ProfileHeader of a supported version
// whose ICCID is the one of the metadata.
func (c *ISDR) checkProfileHeader(l *bppLoad) (outcome, bool) {
	s := tlv.String(l.profile)
	body, ok := s.ReadTag(tagPEHeader)
	var major, minor int64
	var iccid []byte
	if ok {
		ok = body.ReadInt64(0x80, &major) && body.ReadInt64(0x81, &minor) && body.SkipOptional(0x82) && body.ReadOctets(0x83, &iccid)
	}
	if !ok || len(iccid) != 10 {
		c.log.Info("profile package does not start with a ProfileHeader")
		return l.failure(rsp.ErrorReasonInstallFailedDueToPEProcessingError, euiccResponse(peStatusBadValues, true)), true
	}
	v := c.cfg.ProfileVersion
	if major > int64(v[0]) || major == int64(v[0]) && minor > int64(v[1]) {
		c.log.Info("profile package version not supported", "major", major, "minor", minor)
		return l.failure(rsp.ErrorReasonInstallFailedDueToPEProcessingError, euiccResponse(peStatusUnsupportedProfileVersion, true)), true
	}
	// The ProfileHeader holds the ICCID digits in reading order; StoreMetadata holds them as
	// EF.ICCID does, with the nibbles of each byte swapped (SGP.22 Iccid).
	if !bytes.Equal(swapNibbles(iccid), l.metadata.Iccid) {
		c.log.Info("ICCID of the profile package differs from the metadata", "header", fmt.Sprintf("%X", iccid), "metadata", fmt.Sprintf("%X", l.metadata.Iccid))
		return l.failure(rsp.ErrorReasonInstallFailedDueToIccidMismatch, nil), true
	}
	return outcome{}, false
}

// swapNibbles exchanges the two BCD digits of every byte.
func swapNibbles(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = x<<4 | x>>4
	}
	return out
}

// completeInstallation checks the whole profile package and installs the Profile.
func (c *ISDR) completeInstallation(l *bppLoad) outcome {
	if len(l.profile) == 0 {
		c.log.Info("empty profile package")
		return l.failure(rsp.ErrorReasonInstallFailedDueToPEProcessingError, euiccResponse(peStatusInvalidRequestFormat, true))
	}
	if !c.cfg.AcceptInvalidProfile {
		if !l.headerSeen {
			l.headerSeen = true
			if o, failed := c.checkProfileHeader(l); failed {
				return o
			}
		}
		s := tlv.String(l.profile)
		var tag tlv.Tag
		for !s.Empty() {
			if !s.ReadElement(&tag, nil) {
				c.log.Info("profile package is not a sequence of DER ProfileElements")
				return l.failure(rsp.ErrorReasonInstallFailedDueToPEProcessingError, euiccResponse(peStatusInvalidRequestFormat, true))
			}
		}
		if tag != tagPEEnd {
			c.log.Info("profile package does not end with the End ProfileElement", "last", tag)
			return l.failure(rsp.ErrorReasonInstallFailedDueToPEProcessingError, euiccResponse(peStatusBadValues, true))
		}
	}
	p := &Profile{
		ICCID:         bytes.Clone(l.metadata.Iccid),
		AID:           c.newISDPAID(),
		Metadata:      l.metadataDER,
		ConfigureISDP: l.isdpDER,
		Size:          int64(len(l.profile)),
	}
	if err := p.decode(); err != nil { // cannot fail: both were decoded before
		return l.failure(rsp.ErrorReasonInstallFailedDueToUnknownError, nil)
	}
	return outcome{
		iccid:   bytes.Clone(p.ICCID),
		success: &rsp.SuccessResult{AID: bytes.Clone(p.AID), SimaResponse: euiccResponse(peStatusOK, false)},
		profile: p,
	}
}

// installResult ends a Bound Profile Package: it signs the Profile Installation Result (SGP.22
// §5.7.6), keeps it as a pending notification, installs the Profile on success, and closes the
// session. It returns the encoded ProfileInstallationResult.
func (c *ISDR) installResult(o outcome) ([]byte, error) {
	s := c.sess
	data := rsp.ProfileInstallationResultData{
		TransactionID: bytes.Clone(s.transactionID),
		NotificationMetadata: rsp.NotificationMetadata{
			SeqNumber:                  c.nextSeq,
			ProfileManagementOperation: tlv.NamedBits(rsp.NotificationInstall),
			NotificationAddress:        s.serverAddress,
			Iccid:                      o.iccid,
		},
		SmdpOid:       s.smdpOID,
		SuccessResult: o.success,
		ErrorResult:   o.failure,
	}
	tbs, err := data.Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding ProfileInstallationResultData: %w", err)
	}
	sig, err := c.sign(tbs)
	if err != nil {
		return nil, err
	}
	pir, err := (&rsp.ProfileInstallationResult{ProfileInstallationResultData: data, EuiccSignPIR: sig}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding ProfileInstallationResult: %w", err)
	}
	c.notifications = append(c.notifications, Notification{SeqNumber: c.nextSeq, Pending: pir})
	c.nextSeq++
	c.sess = nil
	if o.profile != nil {
		c.profiles = append(c.profiles, o.profile)
		c.log.Info("Profile installed", "iccid", fmt.Sprintf("%X", o.profile.ICCID), "aid", fmt.Sprintf("%X", o.profile.AID), "bytes", o.profile.Size)
	} else {
		c.log.Info("Profile installation failed", "bpp_command_id", int64(o.failure.BppCommandId), "error_reason", int64(o.failure.ErrorReason))
	}
	return pir, nil
}
