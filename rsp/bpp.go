package rsp

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/smdpp/smdpp/tlv"
)

// Tags of the Bound Profile Package (SGP.22 §2.5.4).
const (
	TagBoundProfilePackage            tlv.Tag = 0xBF36 // [54] BoundProfilePackage
	TagInitialiseSecureChannelRequest tlv.Tag = 0xBF23 // [35] InitialiseSecureChannelRequest
	TagFirstSequenceOf87              tlv.Tag = 0xA0   // [0] firstSequenceOf87 (ConfigureISDP)
	TagSequenceOf88                   tlv.Tag = 0xA1   // [1] sequenceOf88 (StoreMetadata)
	TagSecondSequenceOf87             tlv.Tag = 0xA2   // [2] secondSequenceOf87 (ReplaceSessionKeys)
	TagSequenceOf86                   tlv.Tag = 0xA3   // [3] sequenceOf86 (profile package)
	Tag87                             tlv.Tag = 0x87   // [7] encrypted and MACed BSP segment
	Tag88                             tlv.Tag = 0x88   // [8] MACed BSP segment
	Tag86                             tlv.Tag = 0x86   // [6] encrypted and MACed profile package segment

	tagConfigureISDP      tlv.Tag = 0xBF24 // [36]
	tagReplaceSessionKeys tlv.Tag = 0xBF26 // [38]
	tagCRT                tlv.Tag = 0xA6   // [6] IMPLICIT ControlRefTemplate
)

// ControlRefTemplate is the key agreement control reference template of
// InitialiseSecureChannelRequest (SGP.22 §5.5.1; GlobalPlatform Card Specification §6.4.2.3),
// tag A6.
type ControlRefTemplate struct {
	KeyType    []byte // [0] Octet1: 88 for AES
	KeyLen     []byte // [1] Octet1: 10 (16 octets)
	HostID     []byte // [4] OctetTo16: 1 to 16 octets
	Extensions []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// InitialiseSecureChannelRequest opens the BSP session of a Bound Profile Package (SGP.22 §5.5.1,
// ES8+.InitialiseSecureChannel), tag BF23. smdpSign covers remoteOpId, transactionId,
// controlRefTemplate and smdpOtpk as encoded, followed by the 5F49 data object of the eUICC's
// otPK (euiccOtpk from EUICCSigned2).
type InitialiseSecureChannelRequest struct {
	RemoteOpID         RemoteOpId         // [2]: RemoteOpIdInstallBoundProfilePackage
	TransactionID      []byte             // [0] TransactionId, 1 to 16 octets
	ControlRefTemplate ControlRefTemplate // [6], tag A6
	SmdpOtpk           []byte             // [APPLICATION 73], tag 5F49: otPK.DP.ECKA (uncompressed point)
	SmdpSign           []byte             // [APPLICATION 55], tag 5F37: r‖s (64 octets for P-256)
	Extensions         []byte             // fields of later SGP.22 versions, as received; written back by Marshal

	// Raw is the whole BF23 element as received; SignedRaw is the part of it smdpSign covers
	// (remoteOpId through smdpOtpk). Both are set by Unmarshal and by the BPP decoders and are
	// ignored by Marshal.
	Raw       []byte
	SignedRaw []byte
}

func (r *InitialiseSecureChannelRequest) marshalSigned(e encoder) {
	e.integer(0x82, int64(r.RemoteOpID))
	e.octets(0x80, "transactionId", r.TransactionID, 1, 16)
	c := &r.ControlRefTemplate
	e.seq(tagCRT, "controlRefTemplate", func(e encoder) {
		e.octets(0x80, "keyType", c.KeyType, 1, 1)
		e.octets(0x81, "keyLen", c.KeyLen, 1, 1)
		e.octets(0x84, "hostId", c.HostID, 1, 16)
		e.extensions(c.Extensions)
	})
	e.octets(tagOtpk, "smdpOtpk", r.SmdpOtpk, 0, unbounded)
}

func (r *InitialiseSecureChannelRequest) marshalBody(e encoder) {
	r.marshalSigned(e)
	e.octets(tagSignature, "smdpSign", r.SmdpSign, 0, unbounded)
	e.extensions(r.Extensions)
}

func (r *InitialiseSecureChannelRequest) unmarshalBody(d *decoder) {
	start := d.s
	r.RemoteOpID = RemoteOpId(d.integer(0x82, "remoteOpId"))
	r.TransactionID = d.octets(0x80, "transactionId", 1, 16)
	c := &r.ControlRefTemplate
	d.seq(tagCRT, "controlRefTemplate", func(d *decoder) {
		c.KeyType = d.octets(0x80, "keyType", 1, 1)
		c.KeyLen = d.octets(0x81, "keyLen", 1, 1)
		c.HostID = d.octets(0x84, "hostId", 1, 16)
		c.Extensions = d.extensions()
	})
	r.SmdpOtpk = d.octets(tagOtpk, "smdpOtpk", 0, unbounded)
	n := len(start) - len(d.s)
	r.SignedRaw = start[:n:n]
	r.SmdpSign = d.octets(tagSignature, "smdpSign", 0, unbounded)
	r.Extensions = d.extensions()
}

// Marshal returns the DER encoding of r.
func (r *InitialiseSecureChannelRequest) Marshal() ([]byte, error) {
	return marshal(TagInitialiseSecureChannelRequest, "InitialiseSecureChannelRequest", r.marshalBody)
}

// Unmarshal decodes der, which must be exactly one InitialiseSecureChannelRequest, and sets Raw
// and SignedRaw.
func (r *InitialiseSecureChannelRequest) Unmarshal(der []byte) error {
	var v InitialiseSecureChannelRequest
	raw, err := unmarshal(der, TagInitialiseSecureChannelRequest, "InitialiseSecureChannelRequest", v.unmarshalBody)
	if err == nil {
		v.Raw = raw
		*r = v
	}
	return err
}

// MarshalTBS returns the bytes smdpSign is computed over, encoded from r's fields: remoteOpId,
// transactionId, controlRefTemplate and smdpOtpk, then 5F49 ‖ L ‖ euiccOtpk (SGP.22 §5.5.1).
// The SM-DP+ signs these.
func (r *InitialiseSecureChannelRequest) MarshalTBS(euiccOtpk []byte) ([]byte, error) {
	b := tlv.NewBuilder(nil)
	r.marshalSigned(encoder{b: b, path: "InitialiseSecureChannelRequest"})
	b.AddValue(tagOtpk, euiccOtpk)
	return b.Bytes()
}

// ReceivedTBS returns the bytes smdpSign is verified over for a decoded request: SignedRaw as
// received, then 5F49 ‖ L ‖ euiccOtpk, the eUICC's own one-time key.
func (r *InitialiseSecureChannelRequest) ReceivedTBS(euiccOtpk []byte) ([]byte, error) {
	if r.SignedRaw == nil {
		return nil, errors.New("rsp: InitialiseSecureChannelRequest was not decoded: no SignedRaw")
	}
	b := tlv.NewBuilder(append([]byte(nil), r.SignedRaw...))
	b.AddValue(tagOtpk, euiccOtpk)
	return b.Bytes()
}

// BoundProfilePackage is the protected profile the SM-DP+ returns in
// ES9+.GetBoundProfilePackage (SGP.22 §2.5.4, §5.6.2), tag BF36. The segment lists hold whole
// BSP TLVs ('87', '88', '86' tag, length and protected value), as produced by the BSP layer
// (§2.6.4) and as the eUICC verifies them: this type only assembles and splits the package.
type BoundProfilePackage struct {
	InitialiseSecureChannelRequest InitialiseSecureChannelRequest // [35], tag BF23
	FirstSequenceOf87              [][]byte                       // [0], tag A0: '87' TLVs, ConfigureISDP
	SequenceOf88                   [][]byte                       // [1], tag A1: '88' TLVs, StoreMetadata
	SecondSequenceOf87             [][]byte                       // [2] OPTIONAL, tag A2: '87' TLVs, ReplaceSessionKeys (nil if absent)
	SequenceOf86                   [][]byte                       // [3], tag A3: '86' TLVs, profile package segments
	Extensions                     []byte                         // fields of later SGP.22 versions, as received; written back by Marshal
}

func (e encoder) segments(tag, child tlv.Tag, field string, list [][]byte) {
	e.seq(tag, field, func(e encoder) {
		for _, s := range list {
			e.element(child, field, s)
		}
	})
}

func (d *decoder) segments(tag, child tlv.Tag, field string) [][]byte {
	list := [][]byte{}
	d.seqOf(tag, field, func(d *decoder) {
		d.known = append(d.known, child)
		if !d.ok() {
			return
		}
		el, ok := d.s.ReadTagElement(child)
		if !ok {
			d.missing(child, "", "BSP segment")
			return
		}
		list = append(list, el)
	})
	return list
}

func (p *BoundProfilePackage) marshalBody(e encoder) {
	e.seq(TagInitialiseSecureChannelRequest, "initialiseSecureChannelRequest", p.InitialiseSecureChannelRequest.marshalBody)
	e.segments(TagFirstSequenceOf87, Tag87, "firstSequenceOf87", p.FirstSequenceOf87)
	e.segments(TagSequenceOf88, Tag88, "sequenceOf88", p.SequenceOf88)
	if p.SecondSequenceOf87 != nil {
		e.segments(TagSecondSequenceOf87, Tag87, "secondSequenceOf87", p.SecondSequenceOf87)
	}
	e.segments(TagSequenceOf86, Tag86, "sequenceOf86", p.SequenceOf86)
	e.extensions(p.Extensions)
}

func (p *BoundProfilePackage) unmarshalBody(d *decoder) {
	isc := &p.InitialiseSecureChannelRequest
	isc.Raw = d.seq(TagInitialiseSecureChannelRequest, "initialiseSecureChannelRequest", isc.unmarshalBody)
	p.FirstSequenceOf87 = d.segments(TagFirstSequenceOf87, Tag87, "firstSequenceOf87")
	p.SequenceOf88 = d.segments(TagSequenceOf88, Tag88, "sequenceOf88")
	if d.present(TagSecondSequenceOf87) {
		p.SecondSequenceOf87 = d.segments(TagSecondSequenceOf87, Tag87, "secondSequenceOf87")
	}
	p.SequenceOf86 = d.segments(TagSequenceOf86, Tag86, "sequenceOf86")
	p.Extensions = d.extensions()
}

// Marshal assembles the BF36 package from the request and the protected segments. Each
// segment must be exactly one TLV with its list's tag.
func (p *BoundProfilePackage) Marshal() ([]byte, error) {
	return marshal(TagBoundProfilePackage, "BoundProfilePackage", p.marshalBody)
}

// Unmarshal decodes der, which must be exactly one BoundProfilePackage.
func (p *BoundProfilePackage) Unmarshal(der []byte) error {
	var v BoundProfilePackage
	_, err := unmarshal(der, TagBoundProfilePackage, "BoundProfilePackage", v.unmarshalBody)
	if err == nil {
		*p = v
	}
	return err
}

// Segments splits the package as the LPA loads it into the eUICC with
// ES8+/ES10b.LoadBoundProfilePackage (SGP.22 §2.5.5): the BF36 header with the whole
// InitialiseSecureChannelRequest; the A0 header with the first '87'; the A1 header alone; each
// '88'; the A2 header with the first '87' when present; the A3 header alone; each '86'. Any
// further '87' of A0 or A2 follows as a segment of its own. Extensions, which SGP.22 v2 does
// not place, are refused.
func (p *BoundProfilePackage) Segments() ([][]byte, error) {
	if len(p.Extensions) > 0 {
		return nil, fmt.Errorf("%w: BoundProfilePackage: cannot segment unknown fields", errInvalid)
	}
	der, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	// Split the encoding just produced, so every segment is a slice of exactly the bytes sent.
	s := tlv.String(der)
	var tag tlv.Tag
	var n int
	s.ReadHeader(&tag, &n)
	s.Skip(TagInitialiseSecureChannelRequest)
	segs := [][]byte{der[:len(der)-len(s)]}
	for !s.Empty() {
		start := s
		s.ReadHeader(&tag, &n)
		hdr := start[:len(start)-len(s)]
		content := s[:n]
		s = s[n:]
		first := tag == TagFirstSequenceOf87 || tag == TagSecondSequenceOf87
		if !first || len(content) == 0 {
			segs = append(segs, hdr)
		}
		for i := 0; !content.Empty(); i++ {
			var el tlv.String
			content.ReadElement(nil, &el)
			if first && i == 0 {
				segs = append(segs, append(hdr[:len(hdr):len(hdr)], el...))
				continue
			}
			segs = append(segs, el)
		}
	}
	return segs, nil
}

// BPPSegment is one segment of a Bound Profile Package as the eUICC receives it (SGP.22 §2.5.5),
// checked and classified by BPPSegmentReader.
type BPPSegment struct {
	// Command is the BPP command the segment belongs to, for ErrorResult.bppCommandId: the
	// first '88' is storeMetadata and any later one storeMetadata2.
	Command BppCommandId
	// InitialiseSecureChannelRequest is set for the first segment only.
	InitialiseSecureChannelRequest *InitialiseSecureChannelRequest
	// Element is the BSP TLV ('87', '88' or '86') the segment carries, as received; nil for a
	// segment that holds only a sequence header.
	Element []byte
}

// BPPSegmentReader follows a Bound Profile Package delivered in segments, as the eUICC side of
// ES10b.LoadBoundProfilePackage (SGP.22 §2.5.5, §5.7.6). Each segment must continue the package
// in order: the BF36 header with the whole BF23 first, then the A0, A1, optional A2 and A3
// sequences, where a sequence header may come alone or with the sequence's next element, and
// every other segment is exactly one element of the current sequence. Lengths are checked
// against the headers throughout, so Done reports a complete, well-formed package. The zero
// value is ready to use.
type BPPSegmentReader struct {
	started  bool
	left     int     // octets of the BF36 content not yet received
	seq      tlv.Tag // current sequence (0 before A0)
	seqLeft  int     // octets of the current sequence not yet received
	count88  int
	finished bool
}

// seqOrder lists the sequences in order with the tag of their elements and their command.
var seqOrder = []struct {
	tag, child tlv.Tag
	cmd        BppCommandId
	optional   bool
}{
	{TagFirstSequenceOf87, Tag87, BppCommandIdConfigureISDP, false},
	{TagSequenceOf88, Tag88, BppCommandIdStoreMetadata, false},
	{TagSecondSequenceOf87, Tag87, BppCommandIdReplaceSessionKeys, true},
	{TagSequenceOf86, Tag86, BppCommandIdLoadProfileElements, false},
}

func seqIndex(tag tlv.Tag) int {
	for i, s := range seqOrder {
		if s.tag == tag {
			return i
		}
	}
	return -1
}

// Done reports whether the whole package has been received.
func (r *BPPSegmentReader) Done() bool {
	return r.started && r.left == 0 && r.seq == TagSequenceOf86 && r.seqLeft == 0
}

func segErr(format string, args ...any) error {
	return fmt.Errorf("%w: BoundProfilePackage segment: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Next checks segment as the next one of the package and returns what it carries. After an
// error the reader is unusable (the eUICC aborts the installation).
func (r *BPPSegmentReader) Next(segment []byte) (*BPPSegment, error) {
	if r.finished {
		return nil, segErr("the package is already complete or failed")
	}
	seg, err := r.next(tlv.String(segment))
	if err != nil {
		r.finished = true
		return nil, err
	}
	if r.Done() {
		r.finished = true
	}
	return seg, nil
}

func (r *BPPSegmentReader) next(s tlv.String) (*BPPSegment, error) {
	var tag tlv.Tag
	var n int
	if !r.started {
		if !s.ReadHeader(&tag, &n) || tag != TagBoundProfilePackage {
			return nil, segErr("first segment does not start with a BF36 header")
		}
		isc, ok := s.ReadTagElement(TagInitialiseSecureChannelRequest)
		if !ok || !s.Empty() {
			return nil, segErr("first segment is not the BF36 header and one BF23")
		}
		if len(isc) > n {
			return nil, segErr("BF23 longer than the package")
		}
		req := new(InitialiseSecureChannelRequest)
		if err := req.Unmarshal(isc); err != nil {
			return nil, err
		}
		r.started, r.left = true, n-len(isc)
		return &BPPSegment{Command: BppCommandIdInitialiseSecureChannel, InitialiseSecureChannelRequest: req}, nil
	}
	if s.Empty() {
		return nil, segErr("empty segment")
	}
	total := len(s)
	if total > r.left {
		return nil, segErr("segment runs past the end of the package")
	}
	cur := seqIndex(r.seq)
	if r.seqLeft == 0 {
		// A new sequence header is due.
		if !s.ReadHeader(&tag, &n) {
			return nil, segErr("malformed sequence header")
		}
		i := seqIndex(tag)
		want := cur + 1
		if want < len(seqOrder) && seqOrder[want].optional && i == want+1 {
			want++
		}
		if i != want {
			return nil, segErr("sequence %s out of order", tag)
		}
		if n > r.left-(total-len(s)) {
			return nil, segErr("sequence %s longer than the rest of the package", tag)
		}
		r.seq, r.seqLeft, cur = tag, n, i
	} else if cur < 0 {
		return nil, segErr("no sequence open")
	}
	seg := &BPPSegment{Command: seqOrder[cur].cmd}
	if !s.Empty() {
		el, ok := s.ReadTagElement(seqOrder[cur].child)
		if !ok || !s.Empty() {
			return nil, segErr("not exactly one %s element of sequence %s", seqOrder[cur].child, r.seq)
		}
		if len(el) > r.seqLeft {
			return nil, segErr("element runs past the end of sequence %s", r.seq)
		}
		r.seqLeft -= len(el)
		seg.Element = el
		if r.seq == TagSequenceOf88 {
			if r.count88 > 0 {
				seg.Command = BppCommandIdStoreMetadata2
			}
			r.count88++
		}
	}
	r.left -= total
	if r.left == 0 && !r.Done() {
		return nil, segErr("package ends before its sequences are complete")
	}
	return seg, nil
}

// ConfigureISDPRequest is the first command of a Bound Profile Package, the plaintext of the
// '87' segment of firstSequenceOf87 (SGP.22 §5.5.2), tag BF24; usually empty: BF24 00.
type ConfigureISDPRequest struct {
	DpProprietaryData *DpProprietaryData // [24] OPTIONAL, tag B8
	Extensions        []byte             // fields of later SGP.22 versions, as received; written back by Marshal
}

// DpProprietaryData is the SM-DP+'s own data stored with the ISD-P (SGP.22 §5.5.2); at most
// 128 octets in all.
type DpProprietaryData struct {
	DpOid      asn1.ObjectIdentifier // OBJECT IDENTIFIER in the SM-DP+'s tree
	Extensions []byte                // data objects the SM-DP+ adds after dpOid, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *ConfigureISDPRequest) Marshal() ([]byte, error) {
	return marshal(tagConfigureISDP, "ConfigureISDPRequest", func(e encoder) {
		if p := r.DpProprietaryData; p != nil {
			e.seq(0xB8, "dpProprietaryData", func(e encoder) {
				e.oid(tlv.TagOID, "dpOid", p.DpOid)
				e.extensions(p.Extensions)
			})
		}
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one ConfigureISDPRequest.
func (r *ConfigureISDPRequest) Unmarshal(der []byte) error {
	var v ConfigureISDPRequest
	_, err := unmarshal(der, tagConfigureISDP, "ConfigureISDPRequest", func(d *decoder) {
		if d.present(0xB8) {
			p := new(DpProprietaryData)
			d.seq(0xB8, "dpProprietaryData", func(d *decoder) {
				p.DpOid = d.oid(tlv.TagOID, "dpOid")
				p.Extensions = d.extensions()
			})
			v.DpProprietaryData = p
		}
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}

// ReplaceSessionKeysRequest hands the eUICC the Profile Protection Keys for the '86' segments,
// the plaintext of the '87' segment of secondSequenceOf87 (SGP.22 §5.5.4), tag BF26.
type ReplaceSessionKeysRequest struct {
	InitialMacChainingValue []byte // [0] the new initial MAC chaining value
	PpkEnc                  []byte // [1] PPK-ENC
	PpkCmac                 []byte // [2] PPK-MAC
	Extensions              []byte // fields of later SGP.22 versions, as received; written back by Marshal
}

// Marshal returns the DER encoding of r.
func (r *ReplaceSessionKeysRequest) Marshal() ([]byte, error) {
	return marshal(tagReplaceSessionKeys, "ReplaceSessionKeysRequest", func(e encoder) {
		e.octets(0x80, "initialMacChainingValue", r.InitialMacChainingValue, 0, unbounded)
		e.octets(0x81, "ppkEnc", r.PpkEnc, 0, unbounded)
		e.octets(0x82, "ppkCmac", r.PpkCmac, 0, unbounded)
		e.extensions(r.Extensions)
	})
}

// Unmarshal decodes der, which must be exactly one ReplaceSessionKeysRequest.
func (r *ReplaceSessionKeysRequest) Unmarshal(der []byte) error {
	var v ReplaceSessionKeysRequest
	_, err := unmarshal(der, tagReplaceSessionKeys, "ReplaceSessionKeysRequest", func(d *decoder) {
		v.InitialMacChainingValue = d.octets(0x80, "initialMacChainingValue", 0, unbounded)
		v.PpkEnc = d.octets(0x81, "ppkEnc", 0, unbounded)
		v.PpkCmac = d.octets(0x82, "ppkCmac", 0, unbounded)
		v.Extensions = d.extensions()
	})
	if err == nil {
		*r = v
	}
	return err
}
