package apdu

// Instruction bytes (INS) the card implements.
const (
	insManageChannel byte = 0x70 // ISO/IEC 7816-4 MANAGE CHANNEL
	insSelect        byte = 0xA4 // ISO/IEC 7816-4 SELECT
	insGetResponse   byte = 0xC0 // ISO/IEC 7816-4 GET RESPONSE
	insStoreData     byte = 0xE2 // GlobalPlatform STORE DATA, which carries ES10x (SGP.22 §5.7)
)

// STORE DATA P1 values defined by SGP.22 §5.7 for ES10x: bit 8 marks the last block.
const (
	p1MoreBlocks byte = 0x11
	p1LastBlock  byte = 0x91
)

// maxChannel is the highest logical channel number a CLA byte can address (ISO/IEC 7816-4
// further interindustry class: channels 4 to 19).
const maxChannel = 19

// maxResponseChunk is the most data one short response APDU carries (Le = 00).
const maxResponseChunk = 256

// isdrAID is the AID of the ISD-R, the root security domain of the eUICC.
var isdrAID = [...]byte{0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00}

// ISDRAID returns the AID of the ISD-R, A0000005591010FFFFFFFF8900000100, as a fresh slice.
func ISDRAID() []byte {
	aid := isdrAID
	return aid[:]
}

// command is a parsed short command APDU (ISO/IEC 7816-4, "Command-response pairs").
type command struct {
	cla, ins, p1, p2 byte
	data             []byte // command data field; nil when Lc is absent
	le               int    // Ne: -1 when Le is absent, otherwise 1 to 256
}

// parseCommand splits a short command APDU into header, data and Le. It reports false when the
// length fields are inconsistent with the APDU length, or the APDU uses extended lengths, which
// this card does not support.
func parseCommand(b []byte) (command, bool) {
	if len(b) < 4 {
		return command{}, false
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3], le: -1}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2: Le only
		c.le = leValue(body[0])
	case body[0] == 0: // an extended-length APDU (Lc or Le of three bytes)
		return command{}, false
	default:
		lc := int(body[0])
		switch len(body) {
		case 1 + lc: // case 3
			c.data = body[1:]
		case 2 + lc: // case 4
			c.data = body[1 : 1+lc]
			c.le = leValue(body[1+lc])
		default:
			return command{}, false
		}
	}
	return c, true
}

// leValue decodes a short Le field: 00 means 256.
func leValue(b byte) int {
	if b == 0 {
		return maxResponseChunk
	}
	return int(b)
}

// class is a decoded CLA byte (ISO/IEC 7816-4, "Class byte"; GlobalPlatform uses the same coding
// with bit 8 set for its proprietary commands).
type class struct {
	proprietary bool // bit 8: a GlobalPlatform (or other proprietary) command such as STORE DATA
	channel     byte // logical channel number, 0 to 19
	sm          bool // secure messaging indicated
	chaining    bool // command chaining (bit 5): not the last command of a chain
}

// decodeCLA decodes a CLA byte in the first (channels 0–3) or further (channels 4–19) coding. It
// reports false for the classes ISO/IEC 7816-4 reserves (001x xxxx, 101x xxxx as used here, and
// FF, which is not a valid CLA).
func decodeCLA(cla byte) (class, bool) {
	if cla == 0xFF {
		return class{}, false
	}
	switch cla & 0x60 {
	case 0x00: // x00x xxxx: first interindustry coding
		return class{
			proprietary: cla&0x80 != 0,
			chaining:    cla&0x10 != 0,
			sm:          cla&0x0C != 0,
			channel:     cla & 0x03,
		}, true
	case 0x40, 0x60: // x1xx xxxx: further interindustry coding
		return class{
			proprietary: cla&0x80 != 0,
			sm:          cla&0x20 != 0,
			chaining:    cla&0x10 != 0,
			channel:     4 + cla&0x0F,
		}, true
	}
	return class{}, false // x01x xxxx: reserved for future use
}

// claFor encodes the CLA byte of a command on channel ch (0 to 19) without secure messaging or
// chaining: first interindustry coding for channels 0–3, further coding for 4–19, with bit 8 set
// for a proprietary (GlobalPlatform) command.
func claFor(proprietary bool, ch byte) byte {
	b := ch & 0x03
	if ch > 3 {
		b = 0x40 | (ch-4)&0x0F
	}
	if proprietary {
		b |= 0x80
	}
	return b
}
