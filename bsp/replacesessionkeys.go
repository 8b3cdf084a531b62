package bsp

import (
	"bytes"
	"fmt"
)

// ReplaceSessionKeysRequest (SGP.22 §5.5.4) is
//
//	ReplaceSessionKeysRequest ::= [38] SEQUENCE { -- tag 'BF26'
//	    initialMacChainingValue OCTET STRING,   -- '80'
//	    ppkEnc OCTET STRING,                    -- '81'
//	    ppkCmac OCTET STRING                    -- '82'
//	}
//
// With AES-128 every field is 16 bytes, so the DER encoding is one fixed
// layout of 57 bytes.
const replaceSessionKeysRequestSize = 3 + 3*(2+keySize)

// MarshalReplaceSessionKeysRequest returns the DER ReplaceSessionKeysRequest
// (tag 'BF26', SGP.22 §5.5.4) that delivers ppk: the plaintext the SM-DP+
// wraps with [Session.WrapSegments] under tag '87' into secondSequenceOf87,
// before calling [Session.ReplaceSessionKeys] with the same ppk and wrapping the
// profile under tag '86'.
func MarshalReplaceSessionKeysRequest(ppk SessionKeys) []byte {
	out := make([]byte, 0, replaceSessionKeysRequestSize)
	out = append(out, 0xBF, 0x26, replaceSessionKeysRequestSize-3)
	out = append(out, 0x80, keySize)
	out = append(out, ppk.InitialMCV[:]...)
	out = append(out, 0x81, keySize)
	out = append(out, ppk.SEnc[:]...)
	out = append(out, 0x82, keySize)
	return append(out, ppk.SMAC[:]...)
}

// ParseReplaceSessionKeysRequest reads the DER ReplaceSessionKeysRequest that
// the eUICC obtains by unwrapping secondSequenceOf87, and returns the PPK for
// [Session.ReplaceSessionKeys]. Each field must be 16 bytes and nothing may
// follow the request.
func ParseReplaceSessionKeysRequest(der []byte) (SessionKeys, error) {
	if len(der) != replaceSessionKeysRequestSize {
		return SessionKeys{}, fmt.Errorf("bsp: ReplaceSessionKeysRequest is %d bytes, want %d", len(der), replaceSessionKeysRequestSize)
	}
	if !bytes.Equal(der[:3], []byte{0xBF, 0x26, replaceSessionKeysRequestSize - 3}) {
		return SessionKeys{}, fmt.Errorf("bsp: ReplaceSessionKeysRequest header %X, want BF26%02X", der[:3], replaceSessionKeysRequestSize-3)
	}
	var k SessionKeys
	fields := []struct {
		tag byte
		dst *[keySize]byte
	}{
		{0x80, &k.InitialMCV},
		{0x81, &k.SEnc},
		{0x82, &k.SMAC},
	}
	rest := der[3:]
	for _, f := range fields {
		if rest[0] != f.tag || rest[1] != keySize {
			return SessionKeys{}, fmt.Errorf("bsp: ReplaceSessionKeysRequest: got %X, want %02X%02X", rest[:2], f.tag, keySize)
		}
		copy(f.dst[:], rest[2:2+keySize])
		rest = rest[2+keySize:]
	}
	return k, nil
}
