package bsp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// BSP segment tags: the tag of each TLV in the sequences of a
// BoundProfilePackage (SGP.22 §2.5.4; ASN.1 BoundProfilePackage).
const (
	// Tag86 marks a segment of the profile package (sequenceOf86,
	// LoadProfileElements, SGP.22 §5.5.5): encrypted and MACed, under the
	// session keys or, after ReplaceSessionKeys, under the PPK.
	Tag86 byte = 0x86
	// Tag87 marks a segment of ConfigureISDP (firstSequenceOf87, §5.5.2) or
	// ReplaceSessionKeys (secondSequenceOf87, §5.5.4): encrypted and MACed.
	Tag87 byte = 0x87
	// Tag88 marks a segment of StoreMetadata (sequenceOf88, §5.5.3): MACed
	// only, sent in clear.
	Tag88 byte = 0x88
)

// Segment size limits (SGP.22 §2.5.5).
const (
	// MaxSegmentSize is the largest BSP TLV, counting tag, length field and
	// C-MAC.
	MaxSegmentSize = 1020
	// MACLength is the length of the C-MAC at the end of each segment: the 8
	// most significant bytes of the AES-CMAC.
	MACLength = 8
	// MaxMACOnlyData is the most data one '88' segment carries: 1020 minus the
	// tag (1), a three-byte length field (82 xx xx) and the C-MAC (8).
	MaxMACOnlyData = MaxSegmentSize - 1 - 3 - MACLength
	// MaxEncryptedData is the most plaintext one '86' or '87' segment carries.
	// Padding adds 1 to 16 bytes up to a multiple of 16, and 1008 is itself a
	// multiple of 16, so a 1008-byte chunk would grow to 1024 bytes of
	// ciphertext and a 1036-byte segment; 1007 bytes give exactly 1020.
	MaxEncryptedData = MaxMACOnlyData/aes.BlockSize*aes.BlockSize - 1
)

// Session is one SCP03t secure channel of SGP.22 §2.6.4: a key set (S-ENC and
// S-MAC, or PPK-ENC and PPK-MAC), the MAC chaining value and the block counter
// that derives each segment's ICV. The sender (the SM-DP+) calls the Wrap
// methods and the receiver (the eUICC) the Unwrap methods, each on its own
// Session built from the same [SessionKeys]; both advance the chaining value
// and the counter identically, so segments must be processed in BPP order.
//
// A Session is not safe for concurrent use.
type Session struct {
	enc     cipher.Block
	mac     *cmac
	mcv     [aes.BlockSize]byte
	counter uint64 // block counter of the next segment, from 1
}

// NewSession starts a BSP session under keys: MAC chaining value
// keys.InitialMCV, block counter 1.
func NewSession(keys SessionKeys) *Session {
	s := new(Session)
	s.setKeys(keys)
	return s
}

func (s *Session) setKeys(k SessionKeys) {
	enc, err := aes.NewCipher(k.SEnc[:])
	if err != nil {
		panic("bsp: " + err.Error()) // unreachable: the key is 16 bytes
	}
	mac, err := aes.NewCipher(k.SMAC[:])
	if err != nil {
		panic("bsp: " + err.Error()) // unreachable: the key is 16 bytes
	}
	s.enc = enc
	s.mac = newCMAC(mac)
	s.mcv = k.InitialMCV
	s.counter = 1
}

// ReplaceSessionKeys switches the session to the Profile Protection Key ppk,
// as ReplaceSessionKeys (SGP.22 §5.5.4) does on both sides once its '87'
// segments are through: PPK-ENC and PPK-MAC replace S-ENC and S-MAC, the MAC
// chaining value becomes ppk.InitialMCV and the block counter restarts at 1.
// It is equivalent to continuing with NewSession(ppk).
func (s *Session) ReplaceSessionKeys(ppk SessionKeys) { s.setKeys(ppk) }

// String keeps key material out of logs: a Session prints only its counter.
func (s *Session) String() string {
	return fmt.Sprintf("bsp.Session{counter: %d}", s.counter)
}

// encrypted reports whether tag's segments are encrypted ('86', '87') or only
// MACed ('88').
func encrypted(tag byte) (bool, error) {
	switch tag {
	case Tag86, Tag87:
		return true, nil
	case Tag88:
		return false, nil
	}
	return false, fmt.Errorf("%w: '%02X' is not '86', '87' or '88'", ErrTag, tag)
}

// payloadSize is the size of the data field of a segment carrying n bytes:
// n padded to the next multiple of 16 (always adding at least one byte) when
// encrypted, n otherwise.
func payloadSize(enc bool, n int) int {
	if enc {
		return (n/aes.BlockSize + 1) * aes.BlockSize
	}
	return n
}

// lengthFieldSize is the size of the BER definite length field for l.
func lengthFieldSize(l int) int {
	switch {
	case l < 0x80:
		return 1
	case l <= 0xFF:
		return 2
	default:
		return 3
	}
}

// segmentSize is the size of the whole TLV that carries n bytes of data.
func segmentSize(enc bool, n int) int {
	lcc := payloadSize(enc, n) + MACLength
	return 1 + lengthFieldSize(lcc) + lcc
}

// icv computes the ICV for the current block counter (GlobalPlatform SCP03
// §6.2.6 as SGP.22 §2.6.4 applies it): the counter, left padded with zeros to
// 16 bytes, encrypted with S-ENC.
func (s *Session) icv() [aes.BlockSize]byte {
	var b [aes.BlockSize]byte
	binary.BigEndian.PutUint64(b[aes.BlockSize-8:], s.counter)
	s.enc.Encrypt(b[:], b[:])
	return b
}

// Wrap protects data as one BSP segment with the given tag (SGP.22 §2.6.4):
//
//   - '86' and '87': data is padded ('80' then '00' up to a multiple of 16)
//     and encrypted with AES-128-CBC under S-ENC with the ICV of the block
//     counter;
//   - '88': data is left in clear (MAC-only), but still uses up one value of
//     the block counter.
//
// The C-MAC is the first 8 bytes of AES-CMAC under S-MAC over MAC chaining
// value || tag || length || data field, where the length counts the C-MAC;
// the full CMAC becomes the next MAC chaining value. The result is
// tag || length || data field || C-MAC and is at most [MaxSegmentSize] bytes:
// data longer than [MaxEncryptedData] ('86', '87') or [MaxMACOnlyData] ('88')
// is refused; use [Session.WrapSegments] for longer payloads.
func (s *Session) Wrap(tag byte, data []byte) ([]byte, error) {
	enc, err := encrypted(tag)
	if err != nil {
		return nil, err
	}
	if size := segmentSize(enc, len(data)); size > MaxSegmentSize {
		return nil, fmt.Errorf("bsp: %d bytes of data make a %d-byte '%02X' segment, more than %d", len(data), size, tag, MaxSegmentSize)
	}
	return s.wrap(tag, enc, data), nil
}

// wrap builds one segment without the size limit, up to a 3-byte length
// field. Callers check tag and size.
func (s *Session) wrap(tag byte, enc bool, data []byte) []byte {
	plen := payloadSize(enc, len(data))
	lcc := plen + MACLength
	out := make([]byte, 0, 1+lengthFieldSize(lcc)+lcc)
	out = append(out, tag)
	out = appendLength(out, lcc)
	start := len(out)
	out = append(out, data...)
	if enc {
		out = append(out, 0x80)
		out = append(out, make([]byte, plen-len(data)-1)...)
		icv := s.icv()
		cipher.NewCBCEncrypter(s.enc, icv[:]).CryptBlocks(out[start:], out[start:])
	}
	full := s.mac.sum(s.mcv[:], out)
	s.mcv = full
	s.counter++
	return append(out, full[:MACLength]...)
}

// appendLength appends the minimal BER definite length of l (l <= 0xFFFF).
func appendLength(b []byte, l int) []byte {
	switch lengthFieldSize(l) {
	case 1:
		return append(b, byte(l))
	case 2:
		return append(b, 0x81, byte(l))
	default:
		return append(b, 0x82, byte(l>>8), byte(l))
	}
}

// WrapSegments splits payload into chunks of [MaxEncryptedData] ('86', '87')
// or [MaxMACOnlyData] ('88') bytes, the last one shorter, and wraps each with
// [Session.Wrap], so that every segment is at most [MaxSegmentSize] bytes
// (SGP.22 §2.5.5). The segments are the elements of the corresponding
// sequence of the BoundProfilePackage, in order.
func (s *Session) WrapSegments(tag byte, payload []byte) ([][]byte, error) {
	enc, err := encrypted(tag)
	if err != nil {
		return nil, err
	}
	if len(payload) == 0 {
		return nil, errors.New("bsp: empty payload")
	}
	chunk := MaxMACOnlyData
	if enc {
		chunk = MaxEncryptedData
	}
	segs := make([][]byte, 0, (len(payload)+chunk-1)/chunk)
	for len(payload) > 0 {
		n := min(chunk, len(payload))
		segs = append(segs, s.wrap(tag, enc, payload[:n]))
		payload = payload[n:]
	}
	return segs, nil
}

// Unwrap verifies and opens one BSP segment on the receiving side. segment
// must be exactly one TLV with the expected tag ('86', '87' or '88') and a
// minimal definite length; its C-MAC is checked in constant time against the
// MAC chaining value before anything is decrypted. For '86' and '87' the data
// is decrypted with the ICV of the block counter and the padding removed; for
// '88' the data is returned as it is. Unwrap returns the plaintext.
//
// Segments larger than [MaxSegmentSize] are accepted when they verify (some
// SM-DP+ implementations, osmo-smdpp among them, emit 1036-byte '86'
// segments).
//
// On failure the error is a [*SegmentError] and the session is left as it was;
// the eUICC is expected to abandon the BPP. On success the chaining value and
// the block counter advance exactly as they did on the sender.
func (s *Session) Unwrap(tag byte, segment []byte) ([]byte, error) {
	enc, err := encrypted(tag)
	if err != nil {
		return nil, structureError(tag, ErrTag, "'%02X' is not a BSP segment tag", tag)
	}
	if len(segment) < 2 {
		return nil, structureError(tag, ErrLength, "segment of %d bytes", len(segment))
	}
	if segment[0] != tag {
		return nil, structureError(tag, ErrTag, "got '%02X'", segment[0])
	}
	lcc, lenSize, ok := parseLength(segment[1:])
	if !ok {
		return nil, structureError(tag, ErrLength, "malformed or non-minimal length field")
	}
	hdr := 1 + lenSize
	if lcc != len(segment)-hdr {
		return nil, structureError(tag, ErrLength, "length field says %d bytes, %d follow", lcc, len(segment)-hdr)
	}
	if lcc < MACLength {
		return nil, structureError(tag, ErrLength, "%d bytes cannot hold the %d-byte C-MAC", lcc, MACLength)
	}
	macAt := len(segment) - MACLength
	data := segment[hdr:macAt]
	if enc && (len(data) == 0 || len(data)%aes.BlockSize != 0) {
		return nil, structureError(tag, ErrLength, "%d bytes of ciphertext, not a positive multiple of %d", len(data), aes.BlockSize)
	}

	full := s.mac.sum(s.mcv[:], segment[:macAt])
	if subtle.ConstantTimeCompare(full[:MACLength], segment[macAt:]) != 1 {
		return nil, securityError(tag, ErrMAC, "")
	}

	var plain []byte
	if enc {
		plain = make([]byte, len(data))
		icv := s.icv()
		cipher.NewCBCDecrypter(s.enc, icv[:]).CryptBlocks(plain, data)
		n, ok := unpad(plain)
		if !ok {
			return nil, securityError(tag, ErrPadding, "")
		}
		plain = plain[:n]
	} else {
		plain = append([]byte(nil), data...)
	}
	s.mcv = full
	s.counter++
	return plain, nil
}

// parseLength reads a minimal BER definite length of at most three bytes and
// returns it with the size of the field.
func parseLength(b []byte) (l, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch {
	case b[0] < 0x80:
		return int(b[0]), 1, true
	case b[0] == 0x81 && len(b) >= 2 && b[1] >= 0x80:
		return int(b[1]), 2, true
	case b[0] == 0x82 && len(b) >= 3 && b[1] != 0:
		return int(b[1])<<8 | int(b[2]), 3, true
	}
	return 0, 0, false
}

// unpad returns the length of padded without its ISO/IEC 9797-1 method 2
// padding, which must lie within the last block: '80' followed by 0 to 15
// '00' bytes. len(padded) is a positive multiple of the block size.
func unpad(padded []byte) (int, bool) {
	i := len(padded) - 1
	last := len(padded) - aes.BlockSize
	for i >= last && padded[i] == 0 {
		i--
	}
	if i < last || padded[i] != 0x80 {
		return 0, false
	}
	return i, true
}

// UnwrapSegments applies [Session.Unwrap] to each segment in order and returns
// the concatenated plaintext: the ConfigureISDP, StoreMetadata,
// ReplaceSessionKeys request or profile package the sequence carries. An error
// is a [*SegmentError] whose Index says which segment failed; the segments
// before it have advanced the session. No segments give an empty result.
func (s *Session) UnwrapSegments(tag byte, segments [][]byte) ([]byte, error) {
	total := 0
	for _, seg := range segments {
		total += len(seg) // an upper bound on the plaintext
	}
	out := make([]byte, 0, total)
	for i, seg := range segments {
		p, err := s.Unwrap(tag, seg)
		if err != nil {
			var se *SegmentError
			if errors.As(err, &se) {
				se.Index = i
			}
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}
