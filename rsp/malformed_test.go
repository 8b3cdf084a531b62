package rsp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Inputs each decoder must refuse beyond the generic mutations of TestVectors: missing
// mandatory fields, values outside their SIZE, wrong inner tags, fields out of order, unknown
// or doubled CHOICE alternatives.

func TestMalformedAuthenticateServerResponse(t *testing.T) {
	f := newFixtures(t)
	es1DER, _ := f.euiccSigned1()
	sig := der(t, "5F37", f.sig2)
	ok := func(parts ...[]byte) []byte { return der(t, "BF38", der(t, "A0", parts...)) }
	es1 := func(parts ...[]byte) []byte { return der(t, "30", parts...) }
	tid, addr, sch := der(t, "80", f.tid), der(t, "83", []byte(f.addr)), der(t, "84", f.sch)
	mustRefuse(t, func() codec { return new(AuthenticateServerResponse) }, map[string][]byte{
		"empty":                           h(t, "BF38 00"),
		"both alternatives":               der(t, "BF38", der(t, "A0", es1DER, sig, f.euicc, f.eum), der(t, "A1", tid, h(t, "02 01 01"))),
		"unknown alternative":             der(t, "BF38", der(t, "A2", tid)),
		"primitive alternative":           der(t, "BF38", der(t, "80", tid)),
		"euiccSigned1 missing":            ok(sig, f.euicc, f.eum),
		"euiccSignature1 missing":         ok(es1DER, f.euicc, f.eum),
		"eumCertificate missing":          ok(es1DER, sig, f.euicc),
		"certificate not a SEQUENCE":      ok(es1DER, sig, f.euicc, cat([]byte{0x31}, f.eum[1:])),
		"certificate truncated":           ok(es1DER, sig, f.euicc, f.eum[:len(f.eum)-1]),
		"serverChallenge 15 octets":       ok(es1(tid, addr, der(t, "84", f.sch[:15]), f.euiccInfo2DER, f.ctxDER), sig, f.euicc, f.eum),
		"transactionId empty":             ok(es1(h(t, "80 00"), addr, sch, f.euiccInfo2DER, f.ctxDER), sig, f.euicc, f.eum),
		"transactionId 17 octets":         ok(es1(der(t, "80", rep(1, 17)), addr, sch, f.euiccInfo2DER, f.ctxDER), sig, f.euicc, f.eum),
		"serverAddress not UTF-8":         ok(es1(tid, h(t, "83 02 C328"), sch, f.euiccInfo2DER, f.ctxDER), sig, f.euicc, f.eum),
		"euiccInfo2 with EUICCInfo1 tag":  ok(es1(tid, addr, sch, cat(h(t, "BF20"), f.euiccInfo2DER[2:]), f.ctxDER), sig, f.euicc, f.eum),
		"ctxParams1 missing":              ok(es1(tid, addr, sch, f.euiccInfo2DER), sig, f.euicc, f.eum),
		"ctxParams1 unknown alternative":  ok(es1(tid, addr, sch, f.euiccInfo2DER, cat([]byte{0xA1}, f.ctxDER[1:])), sig, f.euicc, f.eum),
		"unknown field where one is due":  ok(es1(tid, addr, h(t, "9F7F 01 00"), sch, f.euiccInfo2DER, f.ctxDER), sig, f.euicc, f.eum),
		"known field repeated at the end": ok(es1(tid, addr, sch, f.euiccInfo2DER, f.ctxDER, tid), sig, f.euicc, f.eum),
		"fields out of order":             ok(es1(addr, tid, sch, f.euiccInfo2DER, f.ctxDER), sig, f.euicc, f.eum),
		"tac 5 octets": ok(es1(tid, addr, sch, f.euiccInfo2DER,
			der(t, "A0", der(t, "A1", h(t, "80 05 3529061100"), h(t, "A1 00")))), sig, f.euicc, f.eum),
		"imei 7 octets": ok(es1(tid, addr, sch, f.euiccInfo2DER,
			der(t, "A0", der(t, "A1", h(t, "80 04 35290611"), h(t, "A1 00"), h(t, "82 07 35290611234567")))), sig, f.euicc, f.eum),
		"deviceInfo missing":                  ok(es1(tid, addr, sch, f.euiccInfo2DER, der(t, "A0", der(t, "80", []byte("x")))), sig, f.euicc, f.eum),
		"error code non-minimal INTEGER":      h(t, "BF38 09 A1 07 80 01 01 02 02 007F"),
		"error code missing":                  h(t, "BF38 05 A1 03 80 01 01"),
		"error code as context tag":           h(t, "BF38 08 A1 06 80 01 01 81 01 01"),
		"indefinite length":                   cat(h(t, "BF38 80"), der(t, "A1", tid, h(t, "02 01 01")), h(t, "0000")),
		"non-minimal length of euiccSigned1":  ok(cat(h(t, "30 82 00"), es1DER[1:]), sig, f.euicc, f.eum),
		"length of A0 beyond its parent":      cat(h(t, "BF38 05 A0 10"), h(t, "80 01 01")),
		"signature with constructed 5F37 tag": ok(es1DER, der(t, "7F37", f.sig2), f.euicc, f.eum),
	})
}

func TestMalformedPrepareDownload(t *testing.T) {
	f := newFixtures(t)
	tid := der(t, "80", f.tid)
	otpk := der(t, "5F49", f.otpkEUICC)
	sig := der(t, "5F37", f.sig2)
	ok := func(parts ...[]byte) []byte { return der(t, "BF21", der(t, "A0", parts...)) }
	mustRefuse(t, func() codec { return new(PrepareDownloadResponse) }, map[string][]byte{
		"empty":                  h(t, "BF21 00"),
		"both alternatives":      der(t, "BF21", der(t, "A0", der(t, "30", tid, otpk), sig), der(t, "A1", tid, h(t, "02 01 01"))),
		"unknown alternative":    der(t, "BF21", der(t, "A5", tid)),
		"euiccOtpk missing":      ok(der(t, "30", tid), sig),
		"hashCc 31 octets":       ok(der(t, "30", tid, otpk, der(t, "04", rep(1, 31))), sig),
		"euiccSignature2 absent": ok(der(t, "30", tid, otpk)),
		"otpk with 5F37 tag":     ok(der(t, "30", tid, der(t, "5F37", f.otpkEUICC)), sig),
		"error without code":     der(t, "BF21", der(t, "A1", tid)),
	})
	smdpSigned2 := der(t, "30", tid, h(t, "01 01 00"))
	mustRefuse(t, func() codec { return new(PrepareDownloadRequest) }, map[string][]byte{
		"certificate missing":           der(t, "BF21", smdpSigned2, der(t, "5F37", f.sig1)),
		"hashCc 33 octets":              der(t, "BF21", smdpSigned2, der(t, "5F37", f.sig1), der(t, "04", rep(1, 33)), f.dpPb),
		"BER BOOLEAN":                   der(t, "BF21", der(t, "30", tid, h(t, "01 01 01")), der(t, "5F37", f.sig1), f.dpPb),
		"ccRequiredFlag missing":        der(t, "BF21", der(t, "30", tid), der(t, "5F37", f.sig1), f.dpPb),
		"smdpSignature2 missing":        der(t, "BF21", smdpSigned2, f.dpPb),
		"hashCc after the certificate":  der(t, "BF21", smdpSigned2, der(t, "5F37", f.sig1), f.dpPb, der(t, "04", f.hashCc)),
		"two certificates":              der(t, "BF21", smdpSigned2, der(t, "5F37", f.sig1), f.dpPb, f.dpPb),
		"PrepareDownloadResponse shape": der(t, "BF21", der(t, "A0", der(t, "30", tid, der(t, "5F49", f.otpkEUICC)), der(t, "5F37", f.sig2))),
	})
}

func TestMalformedPendingNotification(t *testing.T) {
	f := newFixtures(t)
	tid := der(t, "80", f.tid)
	sig := der(t, "5F37", f.sig1)
	success := der(t, "A2", der(t, "A0", der(t, "4F", h(t, "A000000559")), h(t, "04 00")))
	pir := func(data ...[]byte) []byte { return der(t, "BF37", der(t, "BF27", data...), sig) }
	mustRefuse(t, func() codec { return new(PendingNotification) }, map[string][]byte{
		"empty":                            nil,
		"bare NotificationMetadata":        f.notifDER,
		"PIR without signature":            der(t, "BF37", der(t, "BF27", tid, f.notifDER, success)),
		"PIR finalResult missing":          pir(tid, f.notifDER),
		"PIR finalResult both":             pir(tid, f.notifDER, der(t, "A2", der(t, "A0", der(t, "4F", h(t, "A000000559")), h(t, "04 00")), der(t, "A1", h(t, "02 01 01 02 01 01")))),
		"PIR finalResult implicit":         pir(tid, f.notifDER, der(t, "A0", der(t, "4F", h(t, "A000000559")), h(t, "04 00"))),
		"PIR aid 4 octets":                 pir(tid, f.notifDER, der(t, "A2", der(t, "A0", der(t, "4F", h(t, "A0000005")), h(t, "04 00")))),
		"PIR simaResponse missing":         pir(tid, f.notifDER, der(t, "A2", der(t, "A0", der(t, "4F", h(t, "A000000559"))))),
		"PIR notificationMetadata missing": pir(tid, success),
		"PIR smdpOid empty":                pir(tid, f.notifDER, h(t, "06 00"), success),
		"PIR errorResult reason missing":   pir(tid, f.notifDER, der(t, "A2", der(t, "A1", h(t, "02 01 01")))),
		"metadata seqNumber missing":       pir(tid, der(t, "BF2F", h(t, "81 02 07 80"), der(t, "0C", []byte("x"))), success),
		"metadata iccid 9 octets":          pir(tid, der(t, "BF2F", h(t, "80 01 01 81 02 07 80"), der(t, "0C", []byte("x")), der(t, "5A", rep(0x98, 9))), success),
		"metadata bad BIT STRING padding":  pir(tid, der(t, "BF2F", h(t, "80 01 01 81 02 07 81"), der(t, "0C", []byte("x"))), success),
		"other: eUICC certificate missing": der(t, "30", f.notifDER, sig, f.eum),
		"other: signature missing":         der(t, "30", f.notifDER, f.euicc, f.eum),
		"other: metadata with wrong tag":   der(t, "30", cat(h(t, "BF2E"), f.notifDER[2:]), sig, f.euicc, f.eum),
		"two notifications":                cat(der(t, "30", f.notifDER, sig, f.euicc, f.eum), der(t, "30", f.notifDER, sig, f.euicc, f.eum)),
	})
}

func TestMalformedCancelSession(t *testing.T) {
	f := newFixtures(t)
	tid := der(t, "80", f.tid)
	signed := der(t, "30", tid, h(t, "81 03 88370A 82 01 00"))
	mustRefuse(t, func() codec { return new(CancelSessionResponse) }, map[string][]byte{
		"empty":                     h(t, "BF41 00"),
		"both alternatives":         der(t, "BF41", der(t, "A0", signed, der(t, "5F37", f.sig1)), h(t, "81 01 05")),
		"error as constructed":      h(t, "BF41 05 A1 03 02 01 05"),
		"signature missing":         der(t, "BF41", der(t, "A0", signed)),
		"smdpOid empty":             der(t, "BF41", der(t, "A0", der(t, "30", tid, h(t, "81 00 82 01 00")), der(t, "5F37", f.sig1))),
		"smdpOid truncated":         der(t, "BF41", der(t, "A0", der(t, "30", tid, h(t, "81 02 8888 82 01 00")), der(t, "5F37", f.sig1))),
		"smdpOid universal tag":     der(t, "BF41", der(t, "A0", der(t, "30", tid, h(t, "06 03 88370A 82 01 00")), der(t, "5F37", f.sig1))),
		"reason missing":            der(t, "BF41", der(t, "A0", der(t, "30", tid, h(t, "81 03 88370A")), der(t, "5F37", f.sig1))),
		"CancelSessionRequest form": der(t, "BF41", tid, h(t, "81 01 00")),
	})
	mustRefuse(t, func() codec { return new(CancelSessionRequest) }, map[string][]byte{
		"reason missing":          der(t, "BF41", tid),
		"transactionId universal": der(t, "BF41", der(t, "04", f.tid), h(t, "81 01 00")),
	})
}

func TestMalformedEUICCInfo(t *testing.T) {
	f := newFixtures(t)
	ver := der(t, "A9", der(t, "04", f.skiNIST))
	sig := der(t, "AA", der(t, "04", f.skiNIST))
	mustRefuse(t, func() codec { return new(EUICCInfo1) }, map[string][]byte{
		"svn 2 octets":                 der(t, "BF20", h(t, "82 02 0202"), ver, sig),
		"svn missing":                  der(t, "BF20", ver, sig),
		"signing list missing":         der(t, "BF20", h(t, "82 03 020200"), ver),
		"lists swapped":                der(t, "BF20", h(t, "82 03 020200"), sig, ver),
		"key id not an OCTET STRING":   der(t, "BF20", h(t, "82 03 020200"), der(t, "A9", der(t, "80", f.skiNIST)), sig),
		"key id list primitive":        der(t, "BF20", h(t, "82 03 020200"), der(t, "89", der(t, "04", f.skiNIST)), sig),
		"svn repeated at the end":      der(t, "BF20", h(t, "82 03 020200"), ver, sig, h(t, "82 03 020200")),
		"stray byte in key id list":    der(t, "BF20", h(t, "82 03 020200"), der(t, "A9", der(t, "04", f.skiNIST), []byte{0}), sig),
		"GetEuiccInfo1Request content": h(t, "BF20 03 82 01 00"),
	})
	// EUICCInfo2 variants, built from the full vector's fields.
	fields := [][]byte{
		h(t, "81 03 020301"), h(t, "82 03 020200"), h(t, "83 03 0A0B0C"), h(t, "84 00"), h(t, "85 01 00"),
		h(t, "86 03 030101"), h(t, "87 03 020300"), h(t, "88 01 00"), h(t, "A9 00"), h(t, "AA 00"),
		h(t, "04 03 000201"), h(t, "0C 00"),
	}
	without := func(i int) []byte {
		return der(t, "BF22", append(append([][]byte{}, fields[:i]...), fields[i+1:]...)...)
	}
	with := func(i int, b []byte) []byte {
		fs := append([][]byte{}, fields...)
		fs[i] = b
		return der(t, "BF22", fs...)
	}
	mustRefuse(t, func() codec { return new(EUICCInfo2) }, map[string][]byte{
		"profileVersion missing":          without(0),
		"extCardResource missing":         without(3),
		"rspCapability missing":           without(7),
		"ppVersion missing":               without(10),
		"sasAcreditationNumber missing":   without(11),
		"sasAcreditationNumber 65 chars":  with(11, der(t, "0C", []byte(strings.Repeat("a", 65)))),
		"sasAcreditationNumber not UTF-8": with(11, h(t, "0C 01 FF")),
		"ppVersion 4 octets":              with(10, h(t, "04 04 00020100")),
		"uiccCapability padding bits":     with(4, h(t, "85 02 01 7F")),
		"optional fields swapped":         der(t, "BF22", append(append(append([][]byte{}, fields[:5]...), fields[6], fields[5]), fields[7:]...)...),
		"unknown field before A9":         with(8, cat(h(t, "9F7F 00"), fields[8])),
		"euiccCategory non-minimal":       der(t, "BF22", append(append(append([][]byte{}, fields[:10]...), h(t, "8B 02 0002")), fields[10:]...)...),
		"certificationDataObject empty":   der(t, "BF22", append(append([][]byte{}, fields...), h(t, "AC 00"))...),
	})
}

func TestMalformedCardSideRequests(t *testing.T) {
	f := newFixtures(t)
	ss1DER, _ := f.serverSigned1()
	sig := der(t, "5F37", f.sig1)
	ci := der(t, "04", f.skiNIST)
	mustRefuse(t, func() codec { return new(AuthenticateServerRequest) }, map[string][]byte{
		"ctxParams1 missing":            der(t, "BF38", ss1DER, sig, ci, f.dpAuth),
		"euiccCiPKIdToBeUsed missing":   der(t, "BF38", ss1DER, sig, f.dpAuth, f.ctxDER),
		"certificate missing":           der(t, "BF38", ss1DER, sig, ci, f.ctxDER),
		"euiccChallenge 15 octets":      der(t, "BF38", der(t, "30", der(t, "80", f.tid), der(t, "81", f.ch[:15]), der(t, "83", []byte(f.addr)), der(t, "84", f.sch)), sig, ci, f.dpAuth, f.ctxDER),
		"serverSigned1 tag 31":          der(t, "BF38", cat([]byte{0x31}, ss1DER[1:]), sig, ci, f.dpAuth, f.ctxDER),
		"AuthenticateServerResponse":    der(t, "BF38", der(t, "A1", der(t, "80", f.tid), h(t, "02 01 01"))),
		"serverSignature1 after the CI": der(t, "BF38", ss1DER, ci, sig, f.dpAuth, f.ctxDER),
	})
	otpk := der(t, "5F49", f.otpkDP)
	crt := h(t, "A6 10 80 01 88 81 01 10 84 08 6D61686C7A656974")
	isc := func(parts ...[]byte) []byte { return der(t, "BF23", parts...) }
	iscOK := isc(h(t, "82 01 01"), der(t, "80", f.tid), crt, otpk, sig)
	seg87, seg88, seg86 := h(t, "87 02 0102"), h(t, "88 02 0102"), h(t, "86 02 0102")
	mustRefuse(t, func() codec { return new(BoundProfilePackage) }, map[string][]byte{
		"smdpSign missing":           der(t, "BF36", isc(h(t, "82 01 01"), der(t, "80", f.tid), crt, otpk), der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86)),
		"remoteOpId missing":         der(t, "BF36", isc(der(t, "80", f.tid), crt, otpk, sig), der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86)),
		"keyType 2 octets":           der(t, "BF36", isc(h(t, "82 01 01"), der(t, "80", f.tid), h(t, "A6 07 80 02 8800 81 01 10"), otpk, sig), der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86)),
		"hostId 17 octets":           der(t, "BF36", isc(h(t, "82 01 01"), der(t, "80", f.tid), der(t, "A6", h(t, "80 01 88 81 01 10"), der(t, "84", rep(1, 17))), otpk, sig), der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86)),
		"CRT primitive":              der(t, "BF36", isc(h(t, "82 01 01"), der(t, "80", f.tid), cat([]byte{0x86}, crt[1:]), otpk, sig), der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86)),
		"88 inside A0":               der(t, "BF36", iscOK, der(t, "A0", seg88), der(t, "A1", seg88), der(t, "A3", seg86)),
		"A1 before A0":               der(t, "BF36", iscOK, der(t, "A1", seg88), der(t, "A0", seg87), der(t, "A3", seg86)),
		"A3 missing":                 der(t, "BF36", iscOK, der(t, "A0", seg87), der(t, "A1", seg88)),
		"A2 after A3":                der(t, "BF36", iscOK, der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86), der(t, "A2", seg87)),
		"BF23 missing":               der(t, "BF36", der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", seg86)),
		"segment truncated in A3":    der(t, "BF36", iscOK, der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", h(t, "86 03 0102"))),
		"stray byte in A1":           der(t, "BF36", iscOK, der(t, "A0", seg87), der(t, "A1", seg88, []byte{0}), der(t, "A3", seg86)),
		"86 segment constructed tag": der(t, "BF36", iscOK, der(t, "A0", seg87), der(t, "A1", seg88), der(t, "A3", h(t, "A6 02 0102"))),
	})
	mustRefuse(t, func() codec { return new(PrepareDownloadRequest) }, map[string][]byte{
		"smdpSigned2 missing": der(t, "BF21", der(t, "5F37", f.sig1), f.dpPb),
	})
	mustRefuse(t, func() codec { return new(StoreMetadataRequest) }, map[string][]byte{
		"iccid 9 octets":           der(t, "BF25", der(t, "5A", rep(0x98, 9)), h(t, "91 00 92 00")),
		"profileName missing":      der(t, "BF25", der(t, "5A", f.iccid), h(t, "91 00")),
		"serviceProviderName 33":   der(t, "BF25", der(t, "5A", f.iccid), der(t, "91", []byte(strings.Repeat("s", 33))), h(t, "92 00")),
		"icon 1025 octets":         der(t, "BF25", der(t, "5A", f.iccid), h(t, "91 00 92 00 93 01 01"), der(t, "94", rep(0, 1025))),
		"notification config tag":  der(t, "BF25", der(t, "5A", f.iccid), h(t, "91 00 92 00"), der(t, "B6", der(t, "31", h(t, "80 02 07 80 81 00")))),
		"profileOwner mccMnc 2":    der(t, "BF25", der(t, "5A", f.iccid), h(t, "91 00 92 00 B7 04 80 02 0102")),
		"profileClass after owner": der(t, "BF25", der(t, "5A", f.iccid), h(t, "91 00 92 00 B7 05 80 03 010203 95 01 02")),
		"names swapped":            der(t, "BF25", der(t, "5A", f.iccid), h(t, "92 00 91 00")),
	})
}

// TestRaw checks that decoders keep signed sub-structures as received: the exact bytes at their
// place in the input (BF38 → A0 → first 30 for euiccSigned1, as osmo-smdpp cuts it), including
// fields of later versions this package does not know, and in a copy the caller cannot change.
func TestRaw(t *testing.T) {
	f := newFixtures(t)
	v3field := h(t, "9F7F 03 010203")
	// euiccSigned1 whose EUICCInfo2 and body both carry an unknown trailing field.
	info2 := der(t, "BF22", cat(unwrap(t, f.euiccInfo2DER), v3field))
	es1 := der(t, "30", der(t, "80", f.tid), der(t, "83", []byte(f.addr)), der(t, "84", f.sch), info2, f.ctxDER, v3field)
	in := der(t, "BF38", der(t, "A0", es1, der(t, "5F37", f.sig2), f.euicc, f.eum))
	var r AuthenticateServerResponse
	if err := r.Unmarshal(in); err != nil {
		t.Fatal(err)
	}
	got := r.AuthenticateResponseOk.EuiccSigned1
	if off := len(in) - len(unwrap(t, unwrap(t, in))); !bytes.Equal(got.Raw, es1) || !bytes.Equal(in[off:off+len(es1)], got.Raw) {
		t.Fatalf("EuiccSigned1.Raw is not the received element")
	}
	if !bytes.Equal(got.Extensions, v3field) || !bytes.Equal(got.EuiccInfo2.Extensions, v3field) {
		t.Fatal("unknown fields not kept")
	}
	if cap(got.Raw) != len(got.Raw) {
		t.Fatal("Raw capacity reaches into the following bytes")
	}
	in[20] ^= 0xFF // the caller reuses its buffer
	if !bytes.Equal(got.Raw, es1) {
		t.Fatal("Raw aliases the caller's input")
	}

	// Every signed type keeps its Raw when decoded on its own and inside its container.
	ss1DER, _ := f.serverSigned1()
	var asr AuthenticateServerRequest
	if err := asr.Unmarshal(der(t, "BF38", ss1DER, der(t, "5F37", f.sig1), der(t, "04", f.skiNIST), f.dpAuth, f.ctxDER)); err != nil || !bytes.Equal(asr.ServerSigned1.Raw, ss1DER) {
		t.Fatalf("ServerSigned1.Raw (%v)", err)
	}
	smdpSigned2 := der(t, "30", der(t, "80", f.tid), h(t, "01 01 FF"))
	var pdr PrepareDownloadRequest
	if err := pdr.Unmarshal(der(t, "BF21", smdpSigned2, der(t, "5F37", f.sig1), f.dpPb)); err != nil || !bytes.Equal(pdr.SmdpSigned2.Raw, smdpSigned2) {
		t.Fatalf("SmdpSigned2.Raw (%v)", err)
	}
	es2 := der(t, "30", der(t, "80", f.tid), der(t, "5F49", f.otpkEUICC))
	var pd PrepareDownloadResponse
	if err := pd.Unmarshal(der(t, "BF21", der(t, "A0", es2, der(t, "5F37", f.sig1)))); err != nil || !bytes.Equal(pd.DownloadResponseOk.EUICCSigned2.Raw, es2) {
		t.Fatalf("EUICCSigned2.Raw (%v)", err)
	}
	pirData := der(t, "BF27", der(t, "80", f.tid), f.notifDER, der(t, "A2", der(t, "A1", h(t, "02 01 01 02 01 02"))))
	var pn PendingNotification
	if err := pn.Unmarshal(der(t, "BF37", pirData, der(t, "5F37", f.sig1))); err != nil ||
		!bytes.Equal(pn.ProfileInstallationResult.ProfileInstallationResultData.Raw, pirData) ||
		!bytes.Equal(pn.Notification().Raw, f.notifDER) {
		t.Fatalf("ProfileInstallationResultData.Raw (%v)", err)
	}
	if err := pn.Unmarshal(der(t, "30", f.notifDER, der(t, "5F37", f.sig1), f.euicc, f.eum)); err != nil || !bytes.Equal(pn.OtherSignedNotification.TbsOtherNotification.Raw, f.notifDER) {
		t.Fatalf("NotificationMetadata.Raw (%v)", err)
	}
	ecss := der(t, "30", der(t, "80", f.tid), h(t, "81 03 88370A 82 01 02"))
	var cs CancelSessionResponse
	if err := cs.Unmarshal(der(t, "BF41", der(t, "A0", ecss, der(t, "5F37", f.sig1)))); err != nil || !bytes.Equal(cs.CancelSessionResponseOk.EuiccCancelSessionSigned.Raw, ecss) {
		t.Fatalf("EuiccCancelSessionSigned.Raw (%v)", err)
	}
	for _, c := range []struct {
		name string
		v    codec
		in   []byte
		raw  func() []byte
	}{
		{"ServerSigned1", new(ServerSigned1), ss1DER, nil},
		{"SmdpSigned2", new(SmdpSigned2), smdpSigned2, nil},
		{"EUICCSigned2", new(EUICCSigned2), es2, nil},
		{"EuiccSigned1", new(EuiccSigned1), es1, nil},
		{"ProfileInstallationResultData", new(ProfileInstallationResultData), pirData, nil},
		{"NotificationMetadata", new(NotificationMetadata), f.notifDER, nil},
		{"EuiccCancelSessionSigned", new(EuiccCancelSessionSigned), ecss, nil},
	} {
		if err := c.v.Unmarshal(c.in); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var raw []byte
		switch v := c.v.(type) {
		case *ServerSigned1:
			raw = v.Raw
		case *SmdpSigned2:
			raw = v.Raw
		case *EUICCSigned2:
			raw = v.Raw
		case *EuiccSigned1:
			raw = v.Raw
		case *ProfileInstallationResultData:
			raw = v.Raw
		case *NotificationMetadata:
			raw = v.Raw
		case *EuiccCancelSessionSigned:
			raw = v.Raw
		}
		if !bytes.Equal(raw, c.in) {
			t.Errorf("%s: Raw not set by Unmarshal", c.name)
		}
	}
}

// TestUnmarshalFailureKeepsValue checks that a failed Unmarshal leaves the target untouched.
func TestUnmarshalFailureKeepsValue(t *testing.T) {
	v := EUICCInfo1{SVN: VersionType{9, 9, 9}}
	if err := v.Unmarshal(h(t, "BF20 05 82 03 020200")); err == nil {
		t.Fatal("accepted EUICCInfo1 without its lists")
	}
	if v.SVN != (VersionType{9, 9, 9}) {
		t.Fatal("failed Unmarshal changed the value")
	}
}

// TestMarshalRefuses checks that values the module cannot express are not encoded.
func TestMarshalRefuses(t *testing.T) {
	f := newFixtures(t)
	_, ss1 := f.serverSigned1()
	badChallenge := ss1
	badChallenge.EuiccChallenge = rep(1, 15)
	longTID := ss1
	longTID.TransactionID = rep(1, 17)
	notCert := AuthenticateServerRequest{ServerSigned1: ss1, ServerSignature1: f.sig1, EuiccCiPKIdToBeUsed: f.skiNIST, ServerCertificate: h(t, "04 01 00"), CtxParams1: f.ctx}
	noCtx := AuthenticateServerRequest{ServerSigned1: ss1, ServerSignature1: f.sig1, EuiccCiPKIdToBeUsed: f.skiNIST, ServerCertificate: f.dpAuth}
	badExt := ss1
	badExt.Extensions = h(t, "9F7F 05 00")
	ce := CancelSessionResponseErrorUndefinedError
	tests := map[string]codec{
		"euiccChallenge 15 octets":       &badChallenge,
		"transactionId 17 octets":        &longTID,
		"certificate not a SEQUENCE":     &notCert,
		"ctxParams1 without alternative": &noCtx,
		"malformed Extensions":           &badExt,
		"CHOICE with no alternative":     &AuthenticateServerResponse{},
		"CHOICE with two alternatives": &CancelSessionResponse{CancelSessionResponseError: &ce,
			CancelSessionResponseOk: &CancelSessionResponseOk{EuiccCancelSessionSigned: EuiccCancelSessionSigned{TransactionID: f.tid, SmdpOid: f.smdpOid}}},
		"PendingNotification empty":       &PendingNotification{},
		"finalResult empty":               &ProfileInstallationResultData{TransactionID: f.tid, NotificationMetadata: f.notif},
		"smdpOid missing":                 &EuiccCancelSessionSigned{TransactionID: f.tid},
		"smdpOid with one arc":            &EuiccCancelSessionSigned{TransactionID: f.tid, SmdpOid: []int{2}},
		"iccid 11 octets":                 &StoreMetadataRequest{Iccid: rep(0x98, 11)},
		"profileName 65 characters":       &StoreMetadataRequest{Iccid: f.iccid, ProfileName: strings.Repeat("é", 65)},
		"invalid UTF-8":                   &StoreMetadataRequest{Iccid: f.iccid, ServiceProviderName: "\xff"},
		"tac 6 octets":                    &AuthenticateServerRequest{ServerSigned1: ss1, ServerSignature1: f.sig1, EuiccCiPKIdToBeUsed: f.skiNIST, ServerCertificate: f.dpAuth, CtxParams1: CtxParams1{CtxParamsForCommonAuthentication: &CtxParamsForCommonAuthentication{DeviceInfo: DeviceInfo{TAC: rep(1, 6)}}}},
		"BPP segment with the wrong tag":  &BoundProfilePackage{InitialiseSecureChannelRequest: InitialiseSecureChannelRequest{TransactionID: f.tid, ControlRefTemplate: ControlRefTemplate{KeyType: []byte{0x88}, KeyLen: []byte{0x10}, HostID: []byte{1}}}, FirstSequenceOf87: [][]byte{h(t, "88 01 00")}},
		"BPP segment with trailing bytes": &BoundProfilePackage{InitialiseSecureChannelRequest: InitialiseSecureChannelRequest{TransactionID: f.tid, ControlRefTemplate: ControlRefTemplate{KeyType: []byte{0x88}, KeyLen: []byte{0x10}, HostID: []byte{1}}}, FirstSequenceOf87: [][]byte{h(t, "87 01 00 00")}},
		"list and error both set":         &ListNotificationResponse{NotificationMetadataList: []NotificationMetadata{}, ListNotificationsResultError: new(ListNotificationsResultError)},
		"two search criteria":             &ProfileInfoListRequest{SearchIccid: f.iccid, SearchIsdpAid: h(t, "A000000559")},
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := v.Marshal()
			if err == nil {
				t.Fatalf("encoded %X", out)
			}
			if !errors.Is(err, errInvalid) {
				t.Logf("error %v (not errInvalid)", err)
			}
			t.Log(err)
		})
	}
}
