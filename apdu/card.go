package apdu

import (
	"bytes"
	"context"
	"fmt"
	"sync"
)

// Applet is the ES10x handler of the ISD-R (SGP.22 §5.7): given one complete ES10x request, the
// DER of e.g. GetEuiccChallengeRequest (BF2E…) or AuthenticateServerRequest (BF38…), it returns
// the complete DER response. A returned error makes the card answer with a status word instead:
// the one of an SWError in the error's chain (SW1 62 to 6F), otherwise 6F00. The Card calls
// Process with its lock held, one request at a time, and does not keep request after it returns.
type Applet interface {
	Process(ctx context.Context, request []byte) ([]byte, error)
}

// Card is a virtual UICC hosting the ISD-R: it decodes command APDUs as a physical eUICC would and
// passes ES10x requests to an Applet. It implements MANAGE CHANNEL, SELECT by AID of the ISD-R,
// STORE DATA (reassembled into one request per SGP.22 §5.7) and GET RESPONSE, each with the status
// words of ISO/IEC 7816-4. A Card is safe for concurrent use; commands are processed one at a time.
type Card struct {
	applet     Applet
	channels   int // logical channels besides the basic channel: 1 to maxChannel
	maxRequest int // largest reassembled STORE DATA request accepted, in bytes
	mu         sync.Mutex
	state      [maxChannel + 1]channelState
}

// channelState is what the card remembers about one logical channel.
type channelState struct {
	open     bool
	selected bool   // the ISD-R is the current application
	pending  []byte // response data not yet fetched with GET RESPONSE
	request  []byte // STORE DATA blocks received so far
	blocks   int    // number of STORE DATA blocks received; 0 when no sequence is in progress
}

// CardOption configures a Card.
type CardOption func(*Card)

// WithLogicalChannels sets how many logical channels the card supports besides the basic channel
// 0 (ISO/IEC 7816-4 allows 1 to 19; default 3). Values out of range are clamped.
//
// lpac encodes the channel in CLA as 0x80|channel, which is right only for channels 1 to 3; a card
// meant for lpac should keep the default.
func WithLogicalChannels(n int) CardOption {
	return func(c *Card) { c.channels = min(max(n, 1), maxChannel) }
}

// WithMaxRequest sets the largest ES10x request the card reassembles from STORE DATA blocks, in
// bytes (default 1 MiB); a longer sequence is rejected with 6A84.
func WithMaxRequest(n int) CardOption {
	return func(c *Card) { c.maxRequest = max(n, 1) }
}

// NewCard returns a powered-on card whose ISD-R is served by applet, with only the basic channel
// open and no application selected. It panics if applet is nil.
func NewCard(applet Applet, opts ...CardOption) *Card {
	if applet == nil {
		panic("apdu: NewCard with nil Applet")
	}
	c := &Card{applet: applet, channels: 3, maxRequest: 1 << 20}
	for _, o := range opts {
		o(c)
	}
	c.reset()
	return c
}

// Reset simulates a card reset: every logical channel is closed, and the basic channel is left
// open with no application selected and no pending data.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset()
}

func (c *Card) reset() {
	c.state = [maxChannel + 1]channelState{}
	c.state[0].open = true
}

// Transmit processes one command APDU and returns the response APDU: the response data, if any,
// followed by SW1 SW2. It never fails and never panics on malformed input (unless the Applet
// panics); errors are reported with a status word as a card would.
func (c *Card) Transmit(ctx context.Context, capdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transmit(ctx, capdu)
}

// OpenLogicalChannel opens a logical channel and selects aid on it, as lpac's
// logic_channel_open does: MANAGE CHANNEL open on the basic channel, then SELECT by AID on the
// new channel. If the SELECT fails the channel is closed again. The error carries the status word.
func (c *Card) OpenLogicalChannel(ctx context.Context, aid []byte) (byte, error) {
	if len(aid) == 0 || len(aid) > 255 {
		return 0, fmt.Errorf("apdu: open logical channel: AID of %d bytes", len(aid))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.transmit(ctx, []byte{0x00, insManageChannel, 0x00, 0x00, 0x01})
	if sw := status(r); sw != SWNoError || len(r) != 3 {
		return 0, fmt.Errorf("apdu: open logical channel: MANAGE CHANNEL: %w", SWError{SW: sw})
	}
	ch := r[0]
	sel := append([]byte{claFor(false, ch), insSelect, 0x04, 0x00, byte(len(aid))}, aid...)
	if sw := status(c.transmit(ctx, append(sel, 0x00))); sw != SWNoError {
		c.state[ch] = channelState{}
		return 0, fmt.Errorf("apdu: open logical channel: SELECT %X on channel %d: %w", aid, ch, SWError{SW: sw})
	}
	return ch, nil
}

// CloseLogicalChannel closes logical channel ch (1 to 19) with MANAGE CHANNEL close, forgetting
// its selection and pending data. The error carries the status word.
func (c *Card) CloseLogicalChannel(ctx context.Context, ch byte) error {
	if ch == 0 || ch > maxChannel {
		return fmt.Errorf("apdu: close logical channel %d: not a logical channel number", ch)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sw := status(c.transmit(ctx, []byte{0x00, insManageChannel, 0x80, ch})); sw != SWNoError {
		return fmt.Errorf("apdu: close logical channel %d: %w", ch, SWError{SW: sw})
	}
	return nil
}

// status returns the status word that ends a response APDU of at least two bytes.
func status(rapdu []byte) uint16 {
	if len(rapdu) < 2 {
		return SWUnknown
	}
	return uint16(rapdu[len(rapdu)-2])<<8 | uint16(rapdu[len(rapdu)-1])
}

// transmit processes one command APDU with c.mu held. The checks follow the order of
// ISO/IEC 7816-4: length, class, instruction, then the class the instruction requires, and only
// a well-formed header reaches (and may change) the state of a channel.
func (c *Card) transmit(ctx context.Context, capdu []byte) []byte {
	cmd, ok := parseCommand(capdu)
	if !ok {
		return swBytes(SWWrongLength)
	}
	cls, ok := decodeCLA(cmd.cla)
	if !ok {
		return swBytes(SWClassNotSupported)
	}
	switch cmd.ins {
	case insManageChannel, insSelect:
		// Interindustry commands: CLA 0X or 4X.
		if cls.proprietary {
			return swBytes(SWClassNotSupported)
		}
	case insStoreData:
		// A GlobalPlatform command: CLA 8X or CX.
		if !cls.proprietary {
			return swBytes(SWClassNotSupported)
		}
	case insGetResponse:
		// Accepted with either class: ISO/IEC 7816-4 lets the LPA repeat the CLA of the command
		// whose response it fetches (lpac sends 80 C0 after STORE DATA).
	default:
		return swBytes(SWInstructionNotSupported)
	}
	if cls.sm {
		return swBytes(SWSecureMessagingNotSupp)
	}
	if cls.chaining {
		return swBytes(SWCommandChainingNotSupp)
	}
	if int(cls.channel) > c.channels || !c.state[cls.channel].open {
		return swBytes(SWLogicalChannelNotSupp)
	}
	st := &c.state[cls.channel]
	// Response data must be fetched by the very next command on the channel, and a STORE DATA
	// sequence is broken by any other command on it.
	if cmd.ins != insGetResponse {
		st.pending = nil
	}
	if cmd.ins != insStoreData {
		st.resetRequest()
	}
	switch cmd.ins {
	case insManageChannel:
		return c.manageChannel(cls.channel, cmd)
	case insSelect:
		return c.selectApplication(st, cmd)
	case insGetResponse:
		return getResponse(st, cmd)
	default:
		return c.storeData(ctx, st, cmd)
	}
}

// manageChannel opens or closes a logical channel (ISO/IEC 7816-4 MANAGE CHANNEL), issued on
// channel from.
//
//	00 70 00 00 01  open the lowest free channel; the response is its number
//	00 70 00 ch     open channel ch
//	00 70 80 ch     close channel ch (ch = 00: the channel of CLA)
func (c *Card) manageChannel(from byte, cmd command) []byte {
	if cmd.data != nil {
		return swBytes(SWWrongLength)
	}
	switch cmd.p1 {
	case 0x00:
		ch := int(cmd.p2)
		switch {
		case ch == 0:
			for ch = 1; ch <= c.channels && c.state[ch].open; ch++ {
			}
			if ch > c.channels {
				return swBytes(SWFunctionNotSupported) // no free channel left
			}
		case ch > maxChannel:
			return swBytes(SWIncorrectP1P2)
		case ch > c.channels:
			return swBytes(SWLogicalChannelNotSupp)
		case c.state[ch].open:
			return swBytes(SWConditionsNotSatisfied)
		}
		// Opened from the basic channel, a channel starts with no application selected (this card
		// has no default application); opened from another channel, it inherits that channel's.
		c.state[ch] = channelState{open: true, selected: from != 0 && c.state[from].selected}
		if cmd.p2 != 0 {
			return swBytes(SWNoError)
		}
		return []byte{byte(ch), 0x90, 0x00}
	case 0x80:
		ch := int(cmd.p2)
		if ch == 0 {
			ch = int(from)
		}
		switch {
		case ch == 0 || ch > maxChannel:
			return swBytes(SWIncorrectP1P2) // the basic channel cannot be closed
		case ch > c.channels || !c.state[ch].open:
			return swBytes(SWLogicalChannelNotSupp)
		}
		c.state[ch] = channelState{}
		return swBytes(SWNoError)
	}
	return swBytes(SWIncorrectP1P2)
}

// fci is the File Control Information answered to SELECT of the ISD-R: the DF name (84) and the
// GlobalPlatform proprietary data (A5) with the maximum length of a command data field (9F65).
var fci = append(append([]byte{0x6F, 0x18, 0x84, 0x10}, isdrAID[:]...), 0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF)

// selectApplication implements SELECT by DF name (P1 04) of the ISD-R. P2 chooses the response
// (bits 4-3: FCI, FCP, FMD, or none with 0C) and the occurrence (bits 2-1: first, last, next,
// previous); as the ISD-R is the only application, there is no next or previous one. A failed
// SELECT leaves the current selection unchanged.
func (c *Card) selectApplication(st *channelState, cmd command) []byte {
	if cmd.p1 != 0x04 || cmd.p2&0xF0 != 0 {
		return swBytes(SWIncorrectP1P2)
	}
	if cmd.p2&0x02 != 0 || !bytes.Equal(cmd.data, isdrAID[:]) {
		return swBytes(SWFileNotFound)
	}
	st.selected = true
	if cmd.p2&0x0C == 0x0C {
		return swBytes(SWNoError)
	}
	return respond(st, fci, cmd.le)
}

// storeData implements GlobalPlatform STORE DATA as SGP.22 §5.7 uses it for ES10x: blocks with
// P1 11 are collected in order of P2 (block number, from 0, modulo 256), and the block with P1 91
// completes the request, which goes to the Applet. Block 0 always starts a new request, dropping
// an unfinished one (unless 256 blocks have been received, when P2 has wrapped around); any other
// block out of sequence is rejected with 6A86 and drops the unfinished request.
func (c *Card) storeData(ctx context.Context, st *channelState, cmd command) []byte {
	if !st.selected {
		st.resetRequest()
		return swBytes(SWConditionsNotSatisfied)
	}
	if cmd.p1 != p1MoreBlocks && cmd.p1 != p1LastBlock {
		st.resetRequest()
		return swBytes(SWIncorrectP1P2)
	}
	if len(cmd.data) == 0 {
		st.resetRequest()
		return swBytes(SWWrongLength)
	}
	if cmd.p2 != byte(st.blocks) {
		st.resetRequest()
		if cmd.p2 != 0 {
			return swBytes(SWIncorrectP1P2)
		}
	}
	if len(st.request)+len(cmd.data) > c.maxRequest {
		st.resetRequest()
		return swBytes(SWNotEnoughMemory)
	}
	st.request = append(st.request, cmd.data...)
	st.blocks++
	if cmd.p1 == p1MoreBlocks {
		return swBytes(SWNoError)
	}
	req := st.request
	st.resetRequest()
	resp, err := c.applet.Process(ctx, req)
	if err != nil {
		return swBytes(appletStatus(err))
	}
	return respond(st, bytes.Clone(resp), cmd.le)
}

// getResponse implements GET RESPONSE (CLA C0 00 00 Le): the next at most Le bytes of the
// response data left by the previous command on the channel.
//
// Without such data the card answers 6985. ISO/IEC 7816-4 lists 6985 "conditions of use not
// satisfied" for a command not allowed in the current state; 6F00 "no precise diagnosis" is for
// internal faults, and nothing is wrong inside the card here.
func getResponse(st *channelState, cmd command) []byte {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return swBytes(SWIncorrectP1P2)
	}
	if cmd.data != nil {
		return swBytes(SWWrongLength)
	}
	if len(st.pending) == 0 {
		return swBytes(SWConditionsNotSatisfied)
	}
	return nextChunk(st, cmd.le)
}

// respond makes data the response of the current command and returns its first chunk.
func respond(st *channelState, data []byte, le int) []byte {
	st.pending = data
	return nextChunk(st, le)
}

// nextChunk returns the next min(Ne, 256) bytes of the pending response data (256 when Le is
// absent), followed by 9000 when nothing is left, or 61xx when xx more bytes wait for GET
// RESPONSE (61 00: 256 or more).
func nextChunk(st *channelState, le int) []byte {
	n := maxResponseChunk
	if le > 0 && le < n {
		n = le
	}
	n = min(n, len(st.pending))
	out := make([]byte, n, n+2)
	copy(out, st.pending)
	st.pending = st.pending[n:]
	if len(st.pending) == 0 {
		st.pending = nil
		return append(out, 0x90, 0x00)
	}
	left := len(st.pending)
	if left >= maxResponseChunk {
		left = 0
	}
	return append(out, 0x61, byte(left))
}

func (s *channelState) resetRequest() {
	s.request = nil
	s.blocks = 0
}
