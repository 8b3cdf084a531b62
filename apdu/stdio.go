package apdu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// lpac's "stdio" APDU driver (LPAC_APDU=stdio) writes one JSON request per line and reads exactly
// one JSON reply line per request:
//
//	{"type":"apdu","payload":{"func":"connect","param":null}}
//	{"type":"apdu","payload":{"func":"logic_channel_open","param":"a0000005591010ffffffff8900000100"}}
//	{"type":"apdu","payload":{"func":"transmit","param":"81e2910003bf2e00"}}
//	{"type":"apdu","payload":{"func":"logic_channel_close","param":"01"}}
//	{"type":"apdu","payload":{"func":"disconnect","param":null}}
//
// answered by {"type":"apdu","payload":{"ecode":N}}, with "data" (R-APDU and SW1 SW2 in hex)
// added for transmit. Its other output lines ("progress", "lpa") share the stream.

// The functions of lpac's stdio APDU driver.
const (
	funcConnect      = "connect"
	funcDisconnect   = "disconnect"
	funcChannelOpen  = "logic_channel_open"
	funcChannelClose = "logic_channel_close"
	funcTransmit     = "transmit"
)

// maxStdioLine bounds one line of the stdio protocol; lpac's own "lpa" lines (a profile list,
// say) are the longest.
const maxStdioLine = 16 << 20

// stdioLine is one line of the stdio protocol, request or reply, before its payload is decoded.
type stdioLine struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type stdioRequest struct {
	Type    string              `json:"type"`
	Payload stdioRequestPayload `json:"payload"`
}

type stdioRequestPayload struct {
	Func  string  `json:"func"`
	Param *string `json:"param"`
}

type stdioReply struct {
	Type    string            `json:"type"`
	Payload stdioReplyPayload `json:"payload"`
}

type stdioReplyPayload struct {
	Ecode *int    `json:"ecode"`
	Data  *string `json:"data,omitempty"`
}

// ServeStdio answers lpac's stdio APDU driver on behalf of card: lpac's stdout is in, lpac's
// stdin is out. Each line whose "type" is "apdu" gets exactly one reply line on out:
//
//   - connect, disconnect: {"type":"apdu","payload":{"ecode":0}}
//   - logic_channel_open (param: the AID): ecode is the channel opened, with the AID selected, or
//     -1 on failure
//   - logic_channel_close (param: the channel): ecode 0, or -1 on failure
//   - transmit (param: the C-APDU): {"type":"apdu","payload":{"ecode":0,"data":"…"}}, data
//     being the R-APDU with SW1 SW2 in upper-case hexadecimal
//
// An apdu line with an unknown function or a malformed payload or parameter is answered with
// ecode -1, as is a line that is not valid JSON but mentions "apdu", since lpac waits for a reply
// to each of its requests. Every other line, such as lpac's "progress" and "lpa" lines, is copied
// to other (which may be nil). Hex is accepted in either case.
//
// Channels opened through this session and still open are closed on disconnect and when the
// session ends. ServeStdio returns nil at the end of in, or an error if reading or writing fails
// or ctx is done; in the last case the goroutine reading in remains blocked until in returns.
func ServeStdio(ctx context.Context, card *Card, in io.Reader, out io.Writer, other io.Writer) error {
	if other == nil {
		other = io.Discard
	}
	s := &stdioServer{card: card, out: out, other: other, opened: make(map[byte]bool)}
	defer s.closeChannels(context.WithoutCancel(ctx))
	lines, stop := readLines(in)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("apdu: stdio: %w", ctx.Err())
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if l.err != nil {
				return fmt.Errorf("apdu: stdio: read: %w", l.err)
			}
			if err := s.handle(ctx, l.line); err != nil {
				return err
			}
		}
	}
}

type stdioServer struct {
	card   *Card
	out    io.Writer
	other  io.Writer
	opened map[byte]bool // channels opened in this session and not closed yet
}

// handle answers or forwards one input line.
func (s *stdioServer) handle(ctx context.Context, line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	var msg stdioLine
	if err := json.Unmarshal(line, &msg); err != nil {
		if bytes.Contains(line, []byte(`"apdu"`)) {
			return s.reply(-1, nil)
		}
		return s.forward(line)
	}
	if msg.Type != "apdu" {
		return s.forward(line)
	}
	var req stdioRequestPayload
	if err := json.Unmarshal(msg.Payload, &req); err != nil || len(msg.Payload) == 0 || msg.Payload[0] != '{' {
		return s.reply(-1, nil)
	}
	var param []byte
	if req.Param != nil {
		p, err := hex.DecodeString(*req.Param)
		if err != nil {
			return s.reply(-1, nil)
		}
		param = p
	}
	switch req.Func {
	case funcConnect:
		return s.reply(0, nil)
	case funcDisconnect:
		s.closeChannels(ctx)
		return s.reply(0, nil)
	case funcChannelOpen:
		if req.Param == nil {
			return s.reply(-1, nil)
		}
		ch, err := s.card.OpenLogicalChannel(ctx, param)
		if err != nil {
			return s.reply(-1, nil)
		}
		s.opened[ch] = true
		return s.reply(int(ch), nil)
	case funcChannelClose:
		if len(param) != 1 {
			return s.reply(-1, nil)
		}
		if err := s.card.CloseLogicalChannel(ctx, param[0]); err != nil {
			return s.reply(-1, nil)
		}
		delete(s.opened, param[0])
		return s.reply(0, nil)
	case funcTransmit:
		if req.Param == nil {
			return s.reply(-1, nil)
		}
		return s.reply(0, s.card.Transmit(ctx, param))
	}
	return s.reply(-1, nil)
}

// reply writes one reply line; data, when not nil, is sent in upper-case hexadecimal.
func (s *stdioServer) reply(ecode int, data []byte) error {
	r := stdioReply{Type: "apdu", Payload: stdioReplyPayload{Ecode: &ecode}}
	if data != nil {
		h := strings.ToUpper(hex.EncodeToString(data))
		r.Payload.Data = &h
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("apdu: stdio: encode reply: %w", err)
	}
	if _, err := s.out.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("apdu: stdio: write reply: %w", err)
	}
	return nil
}

// forward copies a line that is not an APDU request to other.
func (s *stdioServer) forward(line []byte) error {
	if _, err := s.other.Write(append(bytes.Clone(line), '\n')); err != nil {
		return fmt.Errorf("apdu: stdio: copy line: %w", err)
	}
	return nil
}

// closeChannels closes the channels this session opened and left open.
func (s *stdioServer) closeChannels(ctx context.Context) {
	for ch := range s.opened {
		_ = s.card.CloseLogicalChannel(ctx, ch) // the channel may have been closed by a C-APDU
		delete(s.opened, ch)
	}
}

// lineResult is a line read by readLines, or the error that ended reading.
type lineResult struct {
	line []byte
	err  error
}

// readLines reads r line by line (without the line ending) in a goroutine, so that a reader can
// wait for a line and for a context at once. The channel is closed at the end of r. stop makes
// the goroutine exit once its current Read returns.
func readLines(r io.Reader) (lines <-chan lineResult, stop func()) {
	ch := make(chan lineResult)
	done := make(chan struct{})
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxStdioLine)
		for sc.Scan() {
			select {
			case ch <- lineResult{line: bytes.Clone(sc.Bytes())}:
			case <-done:
				return
			}
		}
		if err := sc.Err(); err != nil {
			select {
			case ch <- lineResult{err: err}:
			case <-done:
			}
		}
	}()
	var once sync.Once
	return ch, func() { once.Do(func() { close(done) }) }
}

// StdioTransport is a Transport that speaks lpac's stdio APDU protocol: it writes requests to w
// as lpac would (lower-case hex) and reads one reply line from r for each. With ServeStdio at the
// other end, our tools drive a card in another process exactly as lpac does.
//
// A StdioTransport is safe for concurrent use; requests are serialized. When a reply cannot be
// awaited (ctx done, r ended or failed) or a request cannot be written, requests and replies
// could pair up wrongly afterwards, so every later call fails.
type StdioTransport struct {
	w io.Writer

	mu    sync.Mutex
	lines <-chan lineResult
	err   error // sticky: the transport is out of step with its peer
}

var _ Transport = (*StdioTransport)(nil)

// NewStdioTransport returns a transport writing requests to w and reading replies from r. It
// reads r in a goroutine, which ends when r returns an error or EOF.
func NewStdioTransport(r io.Reader, w io.Writer) *StdioTransport {
	lines, _ := readLines(r)
	return &StdioTransport{w: w, lines: lines}
}

// Connect sends lpac's connect request.
func (t *StdioTransport) Connect(ctx context.Context) error {
	if _, _, err := t.call(ctx, funcConnect, nil, true); err != nil {
		return err
	}
	return nil
}

// Disconnect sends lpac's disconnect request.
func (t *StdioTransport) Disconnect(ctx context.Context) error {
	if _, _, err := t.call(ctx, funcDisconnect, nil, true); err != nil {
		return err
	}
	return nil
}

// Transmit sends a transmit request and returns the R-APDU of the reply.
func (t *StdioTransport) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	_, data, err := t.call(ctx, funcTransmit, capdu, true)
	if err != nil {
		return nil, err
	}
	if len(data) < 2 {
		return nil, fmt.Errorf("apdu: stdio transmit: reply of %d bytes, no status word", len(data))
	}
	return data, nil
}

// OpenLogicalChannel sends a logic_channel_open request for aid and returns the channel of the
// reply.
func (t *StdioTransport) OpenLogicalChannel(ctx context.Context, aid []byte) (byte, error) {
	ecode, _, err := t.call(ctx, funcChannelOpen, aid, false)
	if err != nil {
		return 0, err
	}
	if ecode < 0 || ecode > maxChannel {
		return 0, fmt.Errorf("apdu: stdio %s %X: ecode %d", funcChannelOpen, aid, ecode)
	}
	return byte(ecode), nil
}

// CloseLogicalChannel sends a logic_channel_close request.
func (t *StdioTransport) CloseLogicalChannel(ctx context.Context, channel byte) error {
	_, _, err := t.call(ctx, funcChannelClose, []byte{channel}, true)
	return err
}

// call writes one request and reads its reply. param nil is sent as null. With mustBeZero, a
// non-zero ecode is an error.
func (t *StdioTransport) call(ctx context.Context, fn string, param []byte, mustBeZero bool) (int, []byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return 0, nil, t.err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, fmt.Errorf("apdu: stdio %s: %w", fn, err)
	}
	req := stdioRequest{Type: "apdu", Payload: stdioRequestPayload{Func: fn}}
	if param != nil {
		h := hex.EncodeToString(param)
		req.Payload.Param = &h
	}
	b, err := json.Marshal(req)
	if err != nil {
		return 0, nil, fmt.Errorf("apdu: stdio %s: encode request: %w", fn, err)
	}
	if _, err := t.w.Write(append(b, '\n')); err != nil {
		t.err = fmt.Errorf("apdu: stdio %s: write request: %w", fn, err)
		return 0, nil, t.err
	}
	var l lineResult
	select {
	case <-ctx.Done():
		t.err = fmt.Errorf("apdu: stdio %s: reply abandoned, transport unusable: %w", fn, ctx.Err())
		return 0, nil, t.err
	case r, ok := <-t.lines:
		switch {
		case !ok:
			t.err = fmt.Errorf("apdu: stdio %s: read reply: %w", fn, io.ErrUnexpectedEOF)
			return 0, nil, t.err
		case r.err != nil:
			t.err = fmt.Errorf("apdu: stdio %s: read reply: %w", fn, r.err)
			return 0, nil, t.err
		}
		l = r
	}
	ecode, data, err := parseReply(l.line)
	if err != nil {
		return 0, nil, fmt.Errorf("apdu: stdio %s: %w", fn, err)
	}
	if mustBeZero && ecode != 0 {
		return 0, nil, fmt.Errorf("apdu: stdio %s: ecode %d", fn, ecode)
	}
	return ecode, data, nil
}

// parseReply decodes {"type":"apdu","payload":{"ecode":N[,"data":"HEX"]}}.
func parseReply(line []byte) (int, []byte, error) {
	var msg stdioLine
	if err := json.Unmarshal(line, &msg); err != nil {
		return 0, nil, fmt.Errorf("malformed reply: %w", err)
	}
	if msg.Type != "apdu" {
		return 0, nil, fmt.Errorf("reply of type %q, want \"apdu\"", msg.Type)
	}
	var p stdioReplyPayload
	if len(msg.Payload) == 0 || msg.Payload[0] != '{' {
		return 0, nil, errors.New("reply without a payload object")
	}
	if err := json.Unmarshal(msg.Payload, &p); err != nil {
		return 0, nil, fmt.Errorf("malformed reply payload: %w", err)
	}
	if p.Ecode == nil {
		return 0, nil, errors.New("reply without ecode")
	}
	var data []byte
	if p.Data != nil {
		d, err := hex.DecodeString(*p.Data)
		if err != nil {
			return 0, nil, fmt.Errorf("reply data: %w", err)
		}
		data = d
	}
	return *p.Ecode, data, nil
}
