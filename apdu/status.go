package apdu

import (
	"errors"
	"fmt"
)

// Status words (SW1 SW2) used by this package, named as in ISO/IEC 7816-4 ("Status bytes").
const (
	SWNoError                 uint16 = 0x9000 // normal processing
	SWWrongLength             uint16 = 0x6700 // wrong length (Lc/Le inconsistent with the command)
	SWLogicalChannelNotSupp   uint16 = 0x6881 // logical channel not supported or not open
	SWSecureMessagingNotSupp  uint16 = 0x6882 // secure messaging not supported
	SWCommandChainingNotSupp  uint16 = 0x6884 // command chaining not supported
	SWConditionsNotSatisfied  uint16 = 0x6985 // conditions of use not satisfied
	SWWrongData               uint16 = 0x6A80 // incorrect parameters in the command data field
	SWFunctionNotSupported    uint16 = 0x6A81 // function not supported
	SWFileNotFound            uint16 = 0x6A82 // file or application not found
	SWNotEnoughMemory         uint16 = 0x6A84 // not enough memory space
	SWIncorrectP1P2           uint16 = 0x6A86 // incorrect parameters P1-P2
	SWInstructionNotSupported uint16 = 0x6D00 // instruction code not supported or invalid
	SWClassNotSupported       uint16 = 0x6E00 // class not supported
	SWUnknown                 uint16 = 0x6F00 // no precise diagnosis
)

// SWError is an error carrying an ISO/IEC 7816-4 status word. An Applet returns it (possibly
// wrapped) to make the card answer with that status word instead of the default 6F00; the ES10
// client returns it (wrapped) when the card answers a command with an error status.
type SWError struct {
	SW uint16
}

// Error returns the status word in hexadecimal, e.g. "status word 6A80".
func (e SWError) Error() string {
	return fmt.Sprintf("status word %04X", e.SW)
}

// StatusWord returns the status word carried by err (an SWError or *SWError anywhere in its
// chain) and whether there was one.
func StatusWord(err error) (uint16, bool) {
	var v SWError
	if errors.As(err, &v) {
		return v.SW, true
	}
	var p *SWError
	if errors.As(err, &p) && p != nil {
		return p.SW, true
	}
	return 0, false
}

// appletStatus maps an Applet error to the status word the card answers with: the SWError's
// status word when it is an error or warning status (SW1 62 to 6F), 6F00 otherwise. An Applet
// cannot make the card claim success (9000) or announce data (61xx) through an error.
func appletStatus(err error) uint16 {
	sw, ok := StatusWord(err)
	if !ok || sw>>8 < 0x62 || sw>>8 > 0x6F {
		return SWUnknown
	}
	return sw
}

// swBytes returns a response APDU consisting of sw alone.
func swBytes(sw uint16) []byte {
	return []byte{byte(sw >> 8), byte(sw)}
}
