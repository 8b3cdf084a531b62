package rsp

import (
	"encoding/asn1"
	"testing"
)

// Hand-assembled encodings. Each hex string below was written from the tags in
// testdata/asn1/rsp/rsp.asn (the comment on each type gives them; untagged SEQUENCEs get
// automatic [0], [1] … only when none of their components is tagged, and a tagged CHOICE is
// explicit), with lengths computed by the tests' own der helper, not by package tlv. Marshal
// must produce exactly these bytes and Unmarshal must give back the Go value.

func vp(a, b, c byte) *VersionType { v := VersionType{a, b, c}; return &v }
func ip(v int64) *int64            { return &v }
func sp(s string) *string          { return &s }

// bits returns a BIT STRING value with the given content octets and bit length.
func bits(bitLen int, b ...byte) asn1.BitString {
	return asn1.BitString{Bytes: append([]byte{}, b...), BitLength: bitLen}
}
func bitsp(bitLen int, b ...byte) *asn1.BitString {
	v := bits(bitLen, b...)
	return &v
}

// Shared test values.
type fixtures struct {
	t                         testing.TB
	tid, ch, sch, sig1, sig2  []byte
	skiNIST, skiBRP           []byte
	addr                      string
	dpAuth, dpPb, euicc, eum  []byte
	euiccInfo2DER             []byte
	euiccInfo2                EUICCInfo2
	ctxDER                    []byte
	ctx                       CtxParams1
	notifDER                  []byte
	notif                     NotificationMetadata
	otpkEUICC, otpkDP, hashCc []byte
	iccid                     []byte
	smdpOid                   asn1.ObjectIdentifier
}

func newFixtures(t testing.TB) *fixtures {
	f := &fixtures{
		t:         t,
		tid:       h(t, "0102030405060708090A0B0C0D0E0F10"),
		ch:        rep(0x11, 16),
		sch:       rep(0x22, 16),
		sig1:      rep(0xAB, 64),
		sig2:      rep(0xCD, 64),
		skiNIST:   h(t, "F54172BDF98A95D65CBEB88A38A1C11D800A85C3"), // CERT_CI_ECDSA_NIST SKI
		skiBRP:    h(t, "C0BC70BA36929D43B467FF57570530E57AB8FCD8"), // CERT_CI_ECDSA_BRP SKI
		addr:      "testsmdpplus1.example.com",
		dpAuth:    cert(t, "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der"),
		dpPb:      cert(t, "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der"),
		euicc:     cert(t, "eUICC/CERT_EUICC_ECDSA_NIST.der"),
		eum:       cert(t, "EUM/CERT_EUM_ECDSA_NIST.der"),
		otpkEUICC: cat([]byte{0x04}, rep(0x31, 64)),
		otpkDP:    cat([]byte{0x04}, rep(0x32, 64)),
		hashCc:    rep(0x5C, 32),
		iccid:     h(t, "89490000000000000123"),
		smdpOid:   asn1.ObjectIdentifier{2, 999, 10}, // SAN RID of CERT_S_SM_DPauth
	}
	// EUICCInfo2 with every optional field (tags: SGP.22 Annex H, EUICCInfo2).
	f.euiccInfo2DER = der(t, "BF22",
		h(t, "81 03 020301"),                       // profileVersion 2.3.1
		h(t, "82 03 020200"),                       // svn 2.2.0
		h(t, "83 03 0A0B0C"),                       // euiccFirmwareVer
		h(t, "84 0D 810100 820400042888 83022543"), // extCardResource (TS 102 226 TLVs, opaque here)
		h(t, "85 03 01 7B02"),                      // uiccCapability: bits 1,2,3,4,6,7,14 (15 bits)
		h(t, "86 03 030101"),                       // javacardVersion
		h(t, "87 03 020300"),                       // globalplatformVersion
		h(t, "88 02 04 90"),                        // rspCapability: additionalProfile, testProfileSupport
		der(t, "A9", der(t, "04", f.skiNIST), der(t, "04", f.skiBRP)),
		der(t, "AA", der(t, "04", f.skiNIST)),
		h(t, "8B 01 02"),                      // euiccCategory mediumEuicc
		h(t, "99 02 06 40"),                   // forbiddenProfilePolicyRules: ppr1
		h(t, "04 03 000201"),                  // ppVersion (universal OCTET STRING)
		der(t, "0C", []byte("GI-BA-UP-0419")), // sasAcreditationNumber (universal UTF8String)
		der(t, "AC", der(t, "80", []byte("PL1")), der(t, "81", []byte("https://dloa.test"))),
	)
	ec := EuiccCategoryMediumEuicc
	f.euiccInfo2 = EUICCInfo2{
		ProfileVersion:                 VersionType{2, 3, 1},
		SVN:                            VersionType{2, 2, 0},
		EuiccFirmwareVer:               VersionType{10, 11, 12},
		ExtCardResource:                h(t, "810100 820400042888 83022543"),
		UICCCapability:                 bits(15, 0x7B, 0x02),
		JavacardVersion:                vp(3, 1, 1),
		GlobalplatformVersion:          vp(2, 3, 0),
		RspCapability:                  bits(4, 0x90),
		EuiccCiPKIdListForVerification: [][]byte{f.skiNIST, f.skiBRP},
		EuiccCiPKIdListForSigning:      [][]byte{f.skiNIST},
		EuiccCategory:                  &ec,
		ForbiddenProfilePolicyRules:    bitsp(2, 0x40),
		PpVersion:                      VersionType{0, 2, 1},
		SasAcreditationNumber:          "GI-BA-UP-0419",
		CertificationDataObject:        &CertificationDataObject{PlatformLabel: "PL1", DiscoveryBaseURL: "https://dloa.test"},
	}
	// ctxParams1: A0 CtxParamsForCommonAuthentication { 80 matchingId, A1 DeviceInfo { 80 tac,
	// A1 DeviceCapabilities { 80 gsm, 81 utran, 85 eutran }, 82 imei } }.
	f.ctxDER = der(t, "A0",
		der(t, "80", []byte("ABC-123")),
		der(t, "A1",
			h(t, "80 04 35290611"),
			der(t, "A1", h(t, "80 03 080000"), h(t, "81 03 0B0000"), h(t, "85 03 0F0000")),
			h(t, "82 08 3529061123456789"),
		),
	)
	f.ctx = CtxParams1{CtxParamsForCommonAuthentication: &CtxParamsForCommonAuthentication{
		MatchingID: sp("ABC-123"),
		DeviceInfo: DeviceInfo{
			TAC: h(t, "35290611"),
			DeviceCapabilities: DeviceCapabilities{
				GsmSupportedRelease:    vp(8, 0, 0),
				UtranSupportedRelease:  vp(11, 0, 0),
				EutranSupportedRelease: vp(15, 0, 0),
			},
			IMEI: h(t, "3529061123456789"),
		},
	}}
	// NotificationMetadata BF2F { 80 seqNumber, 81 profileManagementOperation, 0C address, 5A iccid }.
	f.notifDER = der(t, "BF2F", h(t, "80 01 07"), h(t, "81 02 07 80"), der(t, "0C", []byte(f.addr)), der(t, "5A", f.iccid))
	f.notif = NotificationMetadata{SeqNumber: 7, ProfileManagementOperation: bits(1, 0x80), NotificationAddress: f.addr, Iccid: f.iccid}
	return f
}

type vector struct {
	name       string
	in         []byte
	want       codec
	fresh      func() codec
	extensible bool // the outer element is a SEQUENCE (not a CHOICE)
}

func (f *fixtures) serverSigned1() ([]byte, ServerSigned1) {
	t := f.t
	return der(t, "30", der(t, "80", f.tid), der(t, "81", f.ch), der(t, "83", []byte(f.addr)), der(t, "84", f.sch)),
		ServerSigned1{TransactionID: f.tid, EuiccChallenge: f.ch, ServerAddress: f.addr, ServerChallenge: f.sch}
}

func (f *fixtures) euiccSigned1() ([]byte, EuiccSigned1) {
	t := f.t
	return der(t, "30", der(t, "80", f.tid), der(t, "83", []byte(f.addr)), der(t, "84", f.sch), f.euiccInfo2DER, f.ctxDER),
		EuiccSigned1{TransactionID: f.tid, ServerAddress: f.addr, ServerChallenge: f.sch, EuiccInfo2: f.euiccInfo2, CtxParams1: f.ctx}
}

func (f *fixtures) vectors() []vector {
	t := f.t
	ss1DER, ss1 := f.serverSigned1()
	es1DER, es1 := f.euiccSigned1()
	smdpSigned2DER := der(t, "30", der(t, "80", f.tid), h(t, "01 01 00"), der(t, "5F49", f.otpkEUICC))
	smdpSigned2 := SmdpSigned2{TransactionID: f.tid, CcRequiredFlag: false, BppEuiccOtpk: f.otpkEUICC}
	es2DER := der(t, "30", der(t, "80", f.tid), der(t, "5F49", f.otpkEUICC), der(t, "04", f.hashCc))
	es2 := EUICCSigned2{TransactionID: f.tid, EuiccOtpk: f.otpkEUICC, HashCc: f.hashCc}
	iscDER := der(t, "BF23",
		h(t, "82 01 01"), der(t, "80", f.tid),
		h(t, "A6 10 80 01 88 81 01 10 84 08 6D61686C7A656974"),
		der(t, "5F49", f.otpkDP), der(t, "5F37", f.sig1))
	isc := InitialiseSecureChannelRequest{
		RemoteOpID:         RemoteOpIdInstallBoundProfilePackage,
		TransactionID:      f.tid,
		ControlRefTemplate: ControlRefTemplate{KeyType: []byte{0x88}, KeyLen: []byte{0x10}, HostID: []byte("mahlzeit")},
		SmdpOtpk:           f.otpkDP,
		SmdpSign:           f.sig1,
	}
	pirDataDER := der(t, "BF27", der(t, "80", f.tid), f.notifDER, h(t, "06 03 88370A"),
		der(t, "A2", der(t, "A0", der(t, "4F", h(t, "A0000005591010FFFFFFFF8900001000")), der(t, "04", h(t, "9000")))))
	pirData := ProfileInstallationResultData{
		TransactionID: f.tid, NotificationMetadata: f.notif, SmdpOid: f.smdpOid,
		SuccessResult: &SuccessResult{AID: h(t, "A0000005591010FFFFFFFF8900001000"), SimaResponse: h(t, "9000")},
	}
	pirDER := der(t, "BF37", pirDataDER, der(t, "5F37", f.sig2))
	pir := ProfileInstallationResult{ProfileInstallationResultData: pirData, EuiccSignPIR: f.sig2}
	pirErrDER := der(t, "BF37",
		der(t, "BF27", der(t, "80", f.tid), f.notifDER, der(t, "A2", der(t, "A1", h(t, "02 01 05 02 01 0C"), der(t, "04", h(t, "6A80"))))),
		der(t, "5F37", f.sig2))
	pirErr := ProfileInstallationResult{
		ProfileInstallationResultData: ProfileInstallationResultData{
			TransactionID: f.tid, NotificationMetadata: f.notif,
			ErrorResult: &ErrorResult{BppCommandId: BppCommandIdLoadProfileElements, ErrorReason: ErrorReasonInstallFailedDueToPEProcessingError, SimaResponse: h(t, "6A80")},
		},
		EuiccSignPIR: f.sig2,
	}
	osnDER := der(t, "30", f.notifDER, der(t, "5F37", f.sig1), f.euicc, f.eum)
	osn := OtherSignedNotification{TbsOtherNotification: f.notif, EuiccNotificationSignature: f.sig1, EuiccCertificate: f.euicc, EumCertificate: f.eum}
	ecssDER := der(t, "30", der(t, "80", f.tid), h(t, "81 03 88370A"), h(t, "82 01 00"))
	ecss := EuiccCancelSessionSigned{TransactionID: f.tid, SmdpOid: f.smdpOid, Reason: CancelSessionReasonEndUserRejection}
	csErr := CancelSessionResponseErrorInvalidTransactionId
	lnErr := ListNotificationsResultErrorUndefinedError
	rnErr := NotificationsListResultErrorNoResultAvailable
	piErr := ProfileInfoListErrorIncorrectInputValues
	pcTest, pcOp := ProfileClassTest, ProfileClassOperational
	iconPNG := IconTypePNG
	enabled := ProfileStateEnabled
	storeMetaDER := der(t, "BF25",
		der(t, "5A", f.iccid),
		der(t, "91", []byte("ACME Mobile")),
		der(t, "92", []byte("ACME Prepaid")),
		h(t, "93 01 01"),
		der(t, "94", h(t, "89504E470D0A1A0A")),
		h(t, "95 01 02"),
		der(t, "B6",
			der(t, "30", h(t, "80 02 04 F0"), der(t, "81", []byte(f.addr))),
			der(t, "30", h(t, "80 02 06 40"), der(t, "81", []byte("notify.example.com")))),
		h(t, "B7 0D 80 03 04F177 81 02 FFFF 82 02 FFFF"),
		h(t, "99 02 05 60"),
	)
	storeMeta := StoreMetadataRequest{
		Iccid: f.iccid, ServiceProviderName: "ACME Mobile", ProfileName: "ACME Prepaid",
		IconType: &iconPNG, Icon: h(t, "89504E470D0A1A0A"), ProfileClass: &pcOp,
		NotificationConfigurationInfo: []NotificationConfigurationInformation{
			{ProfileManagementOperation: bits(4, 0xF0), NotificationAddress: f.addr},
			{ProfileManagementOperation: bits(2, 0x40), NotificationAddress: "notify.example.com"},
		},
		ProfileOwner:       &OperatorID{MccMnc: h(t, "04F177"), Gid1: h(t, "FFFF"), Gid2: h(t, "FFFF")},
		ProfilePolicyRules: bitsp(3, 0x60),
	}
	seg87 := cat(h(t, "87 18"), rep(0x87, 0x18))
	seg88 := cat(h(t, "88 20"), rep(0x88, 0x20))
	seg87b := cat(h(t, "87 48"), rep(0x77, 0x48))
	seg86a := cat(h(t, "86 82 03F8"), rep(0x86, 0x3F8))
	seg86b := cat(h(t, "86 81 90"), rep(0x66, 0x90))
	bppDER := der(t, "BF36", iscDER,
		der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A2", seg87b), der(t, "A3", seg86a, seg86b))
	bpp := BoundProfilePackage{
		InitialiseSecureChannelRequest: isc,
		FirstSequenceOf87:              [][]byte{seg87},
		SequenceOf88:                   [][]byte{seg88},
		SecondSequenceOf87:             [][]byte{seg87b},
		SequenceOf86:                   [][]byte{seg86a, seg86b},
	}
	profileInfoDER := der(t, "E3",
		der(t, "5A", f.iccid), der(t, "4F", h(t, "A0000005591010FFFFFFFF8900001000")), h(t, "9F70 01 01"),
		der(t, "90", []byte("work")), der(t, "91", []byte("ACME Mobile")), der(t, "92", []byte("ACME Prepaid")),
		h(t, "95 01 00"), der(t, "B8", h(t, "06 03 88370A")), h(t, "99 02 07 80"))
	profileInfo := ProfileInfo{
		Iccid: f.iccid, IsdpAid: h(t, "A0000005591010FFFFFFFF8900001000"), ProfileState: &enabled,
		ProfileNickname: sp("work"), ServiceProviderName: sp("ACME Mobile"), ProfileName: sp("ACME Prepaid"),
		ProfileClass: &pcTest, DpProprietaryData: &DpProprietaryData{DpOid: f.smdpOid}, ProfilePolicyRules: bitsp(1, 0x80),
	}

	return []vector{
		{"GetEuiccInfo1Request", h(t, "BF20 00"), &GetEuiccInfo1Request{}, func() codec { return new(GetEuiccInfo1Request) }, true},
		{"GetEuiccInfo2Request", h(t, "BF22 00"), &GetEuiccInfo2Request{}, func() codec { return new(GetEuiccInfo2Request) }, true},
		{"GetEuiccChallengeRequest", h(t, "BF2E 00"), &GetEuiccChallengeRequest{}, func() codec { return new(GetEuiccChallengeRequest) }, true},
		{"GetEuiccChallengeResponse", cat(h(t, "BF2E 12 80 10"), f.ch), &GetEuiccChallengeResponse{EuiccChallenge: f.ch}, func() codec { return new(GetEuiccChallengeResponse) }, true},
		{"EUICCInfo1",
			der(t, "BF20", h(t, "82 03 020200"), der(t, "A9", der(t, "04", f.skiNIST), der(t, "04", f.skiBRP)), der(t, "AA", der(t, "04", f.skiNIST))),
			&EUICCInfo1{SVN: VersionType{2, 2, 0}, EuiccCiPKIdListForVerification: [][]byte{f.skiNIST, f.skiBRP}, EuiccCiPKIdListForSigning: [][]byte{f.skiNIST}},
			func() codec { return new(EUICCInfo1) }, true},
		{"EUICCInfo1 empty lists", h(t, "BF20 09 82 03 020200 A9 00 AA 00"),
			&EUICCInfo1{SVN: VersionType{2, 2, 0}, EuiccCiPKIdListForVerification: [][]byte{}, EuiccCiPKIdListForSigning: [][]byte{}},
			func() codec { return new(EUICCInfo1) }, true},
		{"EUICCInfo2 all fields", f.euiccInfo2DER, &f.euiccInfo2, func() codec { return new(EUICCInfo2) }, true},
		{"EUICCInfo2 mandatory fields only",
			der(t, "BF22", h(t, "81 03 020301 82 03 020200 83 03 0A0B0C 84 00 85 01 00 88 01 00 A9 00 AA 00 04 03 000201 0C 00")),
			&EUICCInfo2{ProfileVersion: VersionType{2, 3, 1}, SVN: VersionType{2, 2, 0}, EuiccFirmwareVer: VersionType{10, 11, 12},
				ExtCardResource: []byte{}, UICCCapability: bits(0), RspCapability: bits(0),
				EuiccCiPKIdListForVerification: [][]byte{}, EuiccCiPKIdListForSigning: [][]byte{}, PpVersion: VersionType{0, 2, 1}},
			func() codec { return new(EUICCInfo2) }, true},
		{"ServerSigned1", ss1DER, &ss1, func() codec { return new(ServerSigned1) }, true},
		{"AuthenticateServerRequest",
			der(t, "BF38", ss1DER, der(t, "5F37", f.sig1), der(t, "04", f.skiNIST), f.dpAuth, f.ctxDER),
			&AuthenticateServerRequest{ServerSigned1: ss1, ServerSignature1: f.sig1, EuiccCiPKIdToBeUsed: f.skiNIST, ServerCertificate: f.dpAuth, CtxParams1: f.ctx},
			func() codec { return new(AuthenticateServerRequest) }, true},
		{"AuthenticateServerRequest no matchingId, no imei, 8-octet tac",
			der(t, "BF38", ss1DER, der(t, "5F37", f.sig1), der(t, "04", f.skiNIST), f.dpAuth,
				h(t, "A0 0E A1 0C 80 08 3529061100000000 A1 00")),
			&AuthenticateServerRequest{ServerSigned1: ss1, ServerSignature1: f.sig1, EuiccCiPKIdToBeUsed: f.skiNIST, ServerCertificate: f.dpAuth,
				CtxParams1: CtxParams1{CtxParamsForCommonAuthentication: &CtxParamsForCommonAuthentication{DeviceInfo: DeviceInfo{TAC: h(t, "3529061100000000")}}}},
			func() codec { return new(AuthenticateServerRequest) }, true},
		{"EuiccSigned1", es1DER, &es1, func() codec { return new(EuiccSigned1) }, true},
		{"AuthenticateServerResponse ok",
			der(t, "BF38", der(t, "A0", es1DER, der(t, "5F37", f.sig2), f.euicc, f.eum)),
			&AuthenticateServerResponse{AuthenticateResponseOk: &AuthenticateResponseOk{EuiccSigned1: es1, EuiccSignature1: f.sig2, EuiccCertificate: f.euicc, EumCertificate: f.eum}},
			func() codec { return new(AuthenticateServerResponse) }, false},
		{"AuthenticateServerResponse error",
			der(t, "BF38", der(t, "A1", der(t, "80", f.tid), h(t, "02 01 06"))),
			&AuthenticateServerResponse{AuthenticateResponseError: &AuthenticateResponseError{TransactionID: f.tid, AuthenticateErrorCode: AuthenticateErrorCodeEuiccChallengeMismatch}},
			func() codec { return new(AuthenticateServerResponse) }, false},
		{"AuthenticateServerResponse error undefinedError", h(t, "BF38 08 A1 06 80 01 01 02 01 7F"),
			&AuthenticateServerResponse{AuthenticateResponseError: &AuthenticateResponseError{TransactionID: []byte{1}, AuthenticateErrorCode: AuthenticateErrorCodeUndefinedError}},
			func() codec { return new(AuthenticateServerResponse) }, false},
		{"SmdpSigned2", smdpSigned2DER, &smdpSigned2, func() codec { return new(SmdpSigned2) }, true},
		{"SmdpSigned2 cc required, no otpk", h(t, "30 06 80 01 2A 01 01 FF"),
			&SmdpSigned2{TransactionID: []byte{0x2A}, CcRequiredFlag: true}, func() codec { return new(SmdpSigned2) }, true},
		{"PrepareDownloadRequest",
			der(t, "BF21", smdpSigned2DER, der(t, "5F37", f.sig1), der(t, "04", f.hashCc), f.dpPb),
			&PrepareDownloadRequest{SmdpSigned2: smdpSigned2, SmdpSignature2: f.sig1, HashCc: f.hashCc, SmdpCertificate: f.dpPb},
			func() codec { return new(PrepareDownloadRequest) }, true},
		{"EUICCSigned2", es2DER, &es2, func() codec { return new(EUICCSigned2) }, true},
		{"PrepareDownloadResponse ok",
			der(t, "BF21", der(t, "A0", es2DER, der(t, "5F37", f.sig2))),
			&PrepareDownloadResponse{DownloadResponseOk: &PrepareDownloadResponseOk{EUICCSigned2: es2, EuiccSignature2: f.sig2}},
			func() codec { return new(PrepareDownloadResponse) }, false},
		{"PrepareDownloadResponse error",
			der(t, "BF21", der(t, "A1", der(t, "80", f.tid), h(t, "02 01 05"))),
			&PrepareDownloadResponse{DownloadResponseError: &PrepareDownloadResponseError{TransactionID: f.tid, DownloadErrorCode: DownloadErrorCodeInvalidTransactionId}},
			func() codec { return new(PrepareDownloadResponse) }, false},
		{"StoreMetadataRequest all fields", storeMetaDER, &storeMeta, func() codec { return new(StoreMetadataRequest) }, true},
		{"StoreMetadataRequest empty names", cat(h(t, "BF25 10"), der(t, "5A", f.iccid), h(t, "91 00 92 00")),
			&StoreMetadataRequest{Iccid: f.iccid}, func() codec { return new(StoreMetadataRequest) }, true},
		{"InitialiseSecureChannelRequest", iscDER, &isc, func() codec { return new(InitialiseSecureChannelRequest) }, true},
		{"BoundProfilePackage", bppDER, &bpp, func() codec { return new(BoundProfilePackage) }, true},
		{"ConfigureISDPRequest empty", h(t, "BF24 00"), &ConfigureISDPRequest{}, func() codec { return new(ConfigureISDPRequest) }, true},
		{"ConfigureISDPRequest dpProprietaryData", h(t, "BF24 07 B8 05 06 03 88370A"),
			&ConfigureISDPRequest{DpProprietaryData: &DpProprietaryData{DpOid: f.smdpOid}}, func() codec { return new(ConfigureISDPRequest) }, true},
		{"NotificationMetadata", f.notifDER, &f.notif, func() codec { return new(NotificationMetadata) }, true},
		{"ProfileInstallationResultData", pirDataDER, &pirData, func() codec { return new(ProfileInstallationResultData) }, true},
		{"ProfileInstallationResult success", pirDER, &pir, func() codec { return new(ProfileInstallationResult) }, true},
		{"ProfileInstallationResult error", pirErrDER, &pirErr, func() codec { return new(ProfileInstallationResult) }, true},
		{"OtherSignedNotification", osnDER, &osn, func() codec { return new(OtherSignedNotification) }, true},
		{"PendingNotification installation result", pirDER, &PendingNotification{ProfileInstallationResult: &pir}, func() codec { return new(PendingNotification) }, true},
		{"PendingNotification other", osnDER, &PendingNotification{OtherSignedNotification: &osn}, func() codec { return new(PendingNotification) }, true},
		{"CancelSessionRequest", der(t, "BF41", der(t, "80", f.tid), h(t, "81 01 01")),
			&CancelSessionRequest{TransactionID: f.tid, Reason: CancelSessionReasonPostponed}, func() codec { return new(CancelSessionRequest) }, true},
		{"EuiccCancelSessionSigned", ecssDER, &ecss, func() codec { return new(EuiccCancelSessionSigned) }, true},
		{"CancelSessionResponse ok", der(t, "BF41", der(t, "A0", ecssDER, der(t, "5F37", f.sig1))),
			&CancelSessionResponse{CancelSessionResponseOk: &CancelSessionResponseOk{EuiccCancelSessionSigned: ecss, EuiccCancelSessionSignature: f.sig1}},
			func() codec { return new(CancelSessionResponse) }, false},
		{"CancelSessionResponse error", h(t, "BF41 03 81 01 05"), &CancelSessionResponse{CancelSessionResponseError: &csErr},
			func() codec { return new(CancelSessionResponse) }, false},
		{"ListNotificationRequest all", h(t, "BF28 00"), &ListNotificationRequest{}, func() codec { return new(ListNotificationRequest) }, true},
		{"ListNotificationRequest install|delete", h(t, "BF28 04 81 02 04 90"), &ListNotificationRequest{ProfileManagementOperation: bitsp(4, 0x90)},
			func() codec { return new(ListNotificationRequest) }, true},
		{"ListNotificationResponse list", der(t, "BF28", der(t, "A0", f.notifDER, f.notifDER)),
			&ListNotificationResponse{NotificationMetadataList: []NotificationMetadata{f.notif, f.notif}}, func() codec { return new(ListNotificationResponse) }, false},
		{"ListNotificationResponse empty list", h(t, "BF28 02 A0 00"), &ListNotificationResponse{NotificationMetadataList: []NotificationMetadata{}},
			func() codec { return new(ListNotificationResponse) }, false},
		{"ListNotificationResponse error", h(t, "BF28 03 81 01 7F"), &ListNotificationResponse{ListNotificationsResultError: &lnErr},
			func() codec { return new(ListNotificationResponse) }, false},
		{"RetrieveNotificationsListRequest all", h(t, "BF2B 00"), &RetrieveNotificationsListRequest{}, func() codec { return new(RetrieveNotificationsListRequest) }, true},
		{"RetrieveNotificationsListRequest seqNumber", h(t, "BF2B 05 A0 03 80 01 01"), &RetrieveNotificationsListRequest{SeqNumber: ip(1)},
			func() codec { return new(RetrieveNotificationsListRequest) }, true},
		{"RetrieveNotificationsListRequest operation", h(t, "BF2B 06 A0 04 81 02 05 20"), &RetrieveNotificationsListRequest{ProfileManagementOperation: bitsp(3, 0x20)},
			func() codec { return new(RetrieveNotificationsListRequest) }, true},
		{"RetrieveNotificationsListResponse list", der(t, "BF2B", der(t, "A0", pirDER, osnDER)),
			&RetrieveNotificationsListResponse{NotificationList: []PendingNotification{{ProfileInstallationResult: &pir}, {OtherSignedNotification: &osn}}},
			func() codec { return new(RetrieveNotificationsListResponse) }, false},
		{"RetrieveNotificationsListResponse error", h(t, "BF2B 03 81 01 01"), &RetrieveNotificationsListResponse{NotificationsListResultError: &rnErr},
			func() codec { return new(RetrieveNotificationsListResponse) }, false},
		{"NotificationSentRequest", h(t, "BF30 03 80 01 07"), &NotificationSentRequest{SeqNumber: 7}, func() codec { return new(NotificationSentRequest) }, true},
		{"NotificationSentResponse", h(t, "BF30 03 80 01 01"), &NotificationSentResponse{DeleteNotificationStatus: 1}, func() codec { return new(NotificationSentResponse) }, true},
		{"ProfileInfoListRequest iccid and tagList", cat(h(t, "BF2D 13 A0 0C"), der(t, "5A", f.iccid), h(t, "5C 03 5A9F70")),
			&ProfileInfoListRequest{SearchIccid: f.iccid, TagList: h(t, "5A9F70")}, func() codec { return new(ProfileInfoListRequest) }, true},
		{"ProfileInfoListRequest profileClass", h(t, "BF2D 05 A0 03 95 01 01"), &ProfileInfoListRequest{SearchProfileClass: func() *ProfileClass { c := ProfileClassProvisioning; return &c }()},
			func() codec { return new(ProfileInfoListRequest) }, true},
		{"ProfileInfoListResponse", der(t, "BF2D", der(t, "A0", profileInfoDER, h(t, "E3 00"))),
			&ProfileInfoListResponse{ProfileInfoListOk: []ProfileInfo{profileInfo, {}}}, func() codec { return new(ProfileInfoListResponse) }, false},
		{"ProfileInfoListResponse error", h(t, "BF2D 03 81 01 01"), &ProfileInfoListResponse{ProfileInfoListError: &piErr},
			func() codec { return new(ProfileInfoListResponse) }, false},
		{"ReplaceSessionKeysRequest", der(t, "BF26", der(t, "80", rep(0x22, 16)), der(t, "81", rep(0, 16)), der(t, "82", rep(0x11, 16))),
			&ReplaceSessionKeysRequest{InitialMacChainingValue: rep(0x22, 16), PpkEnc: rep(0, 16), PpkCmac: rep(0x11, 16)},
			func() codec { return new(ReplaceSessionKeysRequest) }, true},
	}
}

// TestVectors checks every type against its hand-assembled encoding, and its decoder against
// the mutations every decoder must refuse.
func TestVectors(t *testing.T) {
	for _, v := range newFixtures(t).vectors() {
		t.Run(v.name, func(t *testing.T) {
			checkVector(t, v.in, v.want, v.fresh())
			checkMalformedGeneric(t, v.in, v.fresh, v.extensible)
		})
	}
}
