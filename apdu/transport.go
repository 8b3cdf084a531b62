package apdu

import (
	"context"
	"fmt"
)

// Transport carries command APDUs from an LPA to a card: the APDU interface of lpac's drivers
// (a PC/SC reader, a modem, or the stdio bridge), which ES10 needs.
type Transport interface {
	// Transmit sends one command APDU and returns the response APDU, data followed by SW1 SW2.
	// An error means the APDU could not be exchanged, not that the card answered with an error
	// status.
	Transmit(ctx context.Context, capdu []byte) (rapdu []byte, err error)
	// OpenLogicalChannel opens a logical channel with the application aid selected on it and
	// returns the channel number.
	OpenLogicalChannel(ctx context.Context, aid []byte) (channel byte, err error)
	// CloseLogicalChannel closes a channel returned by OpenLogicalChannel.
	CloseLogicalChannel(ctx context.Context, channel byte) error
}

// CardTransport is a Transport to a Card in the same process.
type CardTransport struct {
	card *Card
}

var _ Transport = (*CardTransport)(nil)

// NewCardTransport returns a Transport to card.
func NewCardTransport(card *Card) *CardTransport {
	return &CardTransport{card: card}
}

// Transmit passes capdu to the card; it fails only when ctx is already done.
func (t *CardTransport) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("apdu: transmit: %w", err)
	}
	return t.card.Transmit(ctx, capdu), nil
}

// OpenLogicalChannel opens a channel on the card and selects aid on it (see
// Card.OpenLogicalChannel).
func (t *CardTransport) OpenLogicalChannel(ctx context.Context, aid []byte) (byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("apdu: open logical channel: %w", err)
	}
	return t.card.OpenLogicalChannel(ctx, aid)
}

// CloseLogicalChannel closes a channel on the card (see Card.CloseLogicalChannel).
func (t *CardTransport) CloseLogicalChannel(ctx context.Context, channel byte) error {
	return t.card.CloseLogicalChannel(ctx, channel)
}
