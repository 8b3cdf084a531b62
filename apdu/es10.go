package apdu

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// DefaultBlockSize is the most request bytes ES10 puts in one STORE DATA command unless
// WithBlockSize says otherwise; lpac uses the same value.
const DefaultBlockSize = 120

// ES10 is the LPA side of the ES10x interfaces (SGP.22 §5.7): it sends DER requests to the ISD-R
// on a logical channel of its own, segmented into STORE DATA commands, and collects the response
// with GET RESPONSE. It is safe for concurrent use; calls are serialized.
type ES10 struct {
	t           Transport
	channel     byte
	blockSize   int
	maxResponse int

	mu     sync.Mutex
	closed bool
}

// es10Config is what ES10Options set.
type es10Config struct {
	blockSize   int
	maxResponse int
}

// ES10Option configures an ES10 client.
type ES10Option func(*es10Config)

// WithBlockSize sets the most request bytes sent per STORE DATA command, 1 to 255 (default
// DefaultBlockSize, 120).
func WithBlockSize(n int) ES10Option {
	return func(c *es10Config) { c.blockSize = n }
}

// WithMaxResponse sets the longest response Call accepts before giving up on a card that keeps
// answering 61xx (default 1 MiB).
func WithMaxResponse(n int) ES10Option {
	return func(c *es10Config) { c.maxResponse = n }
}

// OpenES10 opens a logical channel to the ISD-R over t and returns a client using it. Close
// releases the channel.
func OpenES10(ctx context.Context, t Transport, opts ...ES10Option) (*ES10, error) {
	cfg := es10Config{blockSize: DefaultBlockSize, maxResponse: 1 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.blockSize < 1 || cfg.blockSize > 255 {
		return nil, fmt.Errorf("apdu: ES10 block size %d out of range 1-255", cfg.blockSize)
	}
	if cfg.maxResponse < 1 {
		return nil, fmt.Errorf("apdu: ES10 maximum response size %d", cfg.maxResponse)
	}
	ch, err := t.OpenLogicalChannel(ctx, ISDRAID())
	if err != nil {
		return nil, fmt.Errorf("apdu: ES10: open channel to ISD-R: %w", err)
	}
	if ch > maxChannel {
		_ = t.CloseLogicalChannel(ctx, ch) // best effort: the transport is already misbehaving
		return nil, fmt.Errorf("apdu: ES10: transport opened channel %d, beyond %d", ch, maxChannel)
	}
	return &ES10{t: t, channel: ch, blockSize: cfg.blockSize, maxResponse: cfg.maxResponse}, nil
}

// Channel returns the logical channel the client uses.
func (e *ES10) Channel() byte { return e.channel }

// Call sends one ES10x request, the complete DER such as BF2E00, and returns the complete DER
// response. The request goes in STORE DATA blocks of at most the block size (P1 11, and 91 on the
// last; P2 the block number); response data after each block, including what GET RESPONSE
// fetches after 61xx, is concatenated. The card must end with 9000 (or 91xx, normal processing
// with a pending proactive command, ETSI TS 102 221); any other status word is returned as an
// SWError in the error's chain.
func (e *ES10) Call(ctx context.Context, request []byte) ([]byte, error) {
	if len(request) == 0 {
		return nil, errors.New("apdu: ES10 call: empty request")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("apdu: ES10 call: client closed")
	}
	var resp []byte
	for block, off := 0, 0; off < len(request); block++ {
		n := min(e.blockSize, len(request)-off)
		p1 := p1MoreBlocks
		if off+n == len(request) {
			p1 = p1LastBlock
		}
		capdu := make([]byte, 0, 5+n)
		capdu = append(capdu, claFor(true, e.channel), insStoreData, p1, byte(block), byte(n))
		capdu = append(capdu, request[off:off+n]...)
		var err error
		if resp, err = e.exchange(ctx, capdu, resp); err != nil {
			return nil, fmt.Errorf("apdu: ES10 call %X: STORE DATA block %d: %w", request[:min(len(request), 3)], block, err)
		}
		off += n
	}
	return resp, nil
}

// exchange sends capdu, follows 61xx with GET RESPONSE, and appends all response data to out.
func (e *ES10) exchange(ctx context.Context, capdu, out []byte) ([]byte, error) {
	retried := false // one 6Cxx (wrong Le) retry per GET RESPONSE
	isGetResponse := false
	for {
		r, err := e.t.Transmit(ctx, capdu)
		if err != nil {
			return nil, err
		}
		if len(r) < 2 {
			return nil, fmt.Errorf("response APDU of %d bytes, no status word", len(r))
		}
		sw1, sw2 := r[len(r)-2], r[len(r)-1]
		switch {
		case sw1 == 0x90 && sw2 == 0x00, sw1 == 0x91:
			return e.appendData(out, r[:len(r)-2])
		case sw1 == 0x61:
			if out, err = e.appendData(out, r[:len(r)-2]); err != nil {
				return nil, err
			}
			capdu = []byte{claFor(true, e.channel), insGetResponse, 0x00, 0x00, sw2}
			isGetResponse, retried = true, false
		case sw1 == 0x6C && isGetResponse && !retried:
			// Wrong Le: ISO/IEC 7816-4 asks for the same command again with Le = SW2.
			capdu = []byte{capdu[0], insGetResponse, 0x00, 0x00, sw2}
			retried = true
		default:
			return nil, SWError{SW: uint16(sw1)<<8 | uint16(sw2)}
		}
	}
}

func (e *ES10) appendData(out, data []byte) ([]byte, error) {
	if len(out)+len(data) > e.maxResponse {
		return nil, fmt.Errorf("response longer than %d bytes", e.maxResponse)
	}
	return append(out, data...), nil
}

// Close closes the client's logical channel. Later calls fail.
func (e *ES10) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if err := e.t.CloseLogicalChannel(ctx, e.channel); err != nil {
		return fmt.Errorf("apdu: ES10: close channel %d: %w", e.channel, err)
	}
	return nil
}
