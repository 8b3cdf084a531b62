// Package smds is the SM-DP+ side of ES12 (SGP.22 §5.8): RegisterEvent when an operator's
// ConfirmOrder names an SM-DS, so the eUICC's LPA discovers the pending download, and
// DeleteEvent when the order ends. Both go through the store's durable outbox, written in the
// transaction of the order change and delivered by progress.Deliverer with its retries; they
// are keyed "smds:"+ICCID so they keep their own order and never wait behind operator callbacks.
package smds

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Outbox kinds of the two ES12 functions.
const (
	KindRegisterEvent = "es12.RegisterEvent"
	KindDeleteEvent   = "es12.DeleteEvent"
)

// Path is where ES12 functions live on an SM-DS (SGP.22 §6.5).
const Path = "/gsma/rsp2/es12/"

// RequestHeader is the ES12 request header (SGP.22 §6.5.1.3).
type RequestHeader struct {
	FunctionRequesterIdentifier string `json:"functionRequesterIdentifier"`
	FunctionCallIdentifier      string `json:"functionCallIdentifier"`
}

// RegisterEventRequest is ES12.RegisterEvent: an event for the eUICC eid, pointing at this
// SM-DP+ with eventId, which the LPA later presents as matchingId.
type RegisterEventRequest struct {
	Header              RequestHeader `json:"header"`
	EID                 string        `json:"eid"`
	RSPServerAddress    string        `json:"rspServerAddress"`
	EventID             string        `json:"eventId"`
	ForwardingIndicator bool          `json:"forwardingIndicator"`
}

// DeleteEventRequest is ES12.DeleteEvent.
type DeleteEventRequest struct {
	Header  RequestHeader `json:"header"`
	EID     string        `json:"eid"`
	EventID string        `json:"eventId"`
}

// message is an outbox payload: where to POST and what.
type message struct {
	URL  string          `json:"url"`
	Body json.RawMessage `json:"body"`
}

// Registrar writes ES12 calls into the outbox.
type Registrar struct {
	// address is this SM-DP+'s address, the rspServerAddress of its events.
	address string
}

// NewRegistrar returns a Registrar for the SM-DP+ at address.
func NewRegistrar(address string) *Registrar { return &Registrar{address: address} }

// Register writes RegisterEvent for an order inside tx.
func (r *Registrar) Register(ctx context.Context, tx *store.Tx, p store.Profile) error {
	return r.enqueue(ctx, tx, p, KindRegisterEvent, "registerEvent", func(h RequestHeader) any {
		return RegisterEventRequest{Header: h, EID: p.EID, RSPServerAddress: r.address, EventID: p.MatchingID}
	})
}

// Delete writes DeleteEvent for an order that had an event, inside tx.
func (r *Registrar) Delete(ctx context.Context, tx *store.Tx, p store.Profile) error {
	return r.enqueue(ctx, tx, p, KindDeleteEvent, "deleteEvent", func(h RequestHeader) any {
		return DeleteEventRequest{Header: h, EID: p.EID, EventID: p.MatchingID}
	})
}

func (r *Registrar) enqueue(ctx context.Context, tx *store.Tx, p store.Profile, kind, function string, body func(RequestHeader) any) error {
	if p.SMDSAddress == "" {
		return nil
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("smds: functionCallIdentifier: %w", err)
	}
	b, err := json.Marshal(body(RequestHeader{FunctionRequesterIdentifier: r.address, FunctionCallIdentifier: "ES12-" + hex.EncodeToString(id[:])}))
	if err != nil {
		return fmt.Errorf("smds: %w", err)
	}
	payload, err := json.Marshal(message{URL: "https://" + p.SMDSAddress + Path + function, Body: b})
	if err != nil {
		return fmt.Errorf("smds: %w", err)
	}
	_, err = tx.EnqueueOutbox(ctx, store.OutboxMessage{OperatorID: p.OperatorID, ICCID: "smds:" + p.ICCID, Kind: kind, Payload: payload})
	return err
}

// Sender delivers ES12 messages (a progress.Sender for both kinds). The SM-DS must answer 200
// with header.functionExecutionStatus Executed-Success; any other answer is retried, except a
// DeleteEvent for an event the SM-DS no longer has, which is done.
type Sender struct {
	Client *http.Client
}

// Send POSTs one outbox message.
func (s *Sender) Send(ctx context.Context, m store.OutboxMessage) error {
	var msg message
	if err := json.Unmarshal(m.Payload, &msg); err != nil {
		return fmt.Errorf("smds: outbox message %d: %w", m.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, msg.URL, bytes.NewReader(msg.Body))
	if err != nil {
		return fmt.Errorf("smds: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.AdminProtocolHeader, web.AdminProtocol)
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("smds: POST %s: %w", msg.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("smds: POST %s: HTTP %s", msg.URL, resp.Status)
	}
	var out web.Response
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return fmt.Errorf("smds: POST %s: answer: %w", msg.URL, err)
	}
	st := out.Header.FunctionExecutionStatus
	switch {
	case st.Status == status.ExecutedSuccess || st.Status == status.ExecutedWithWarning:
		return nil
	case m.Kind == KindDeleteEvent && st.StatusCodeData != nil && st.StatusCodeData.ReasonCode == status.ReasonUnknown:
		return nil
	}
	return fmt.Errorf("smds: POST %s: %s %+v", msg.URL, st.Status, st.StatusCodeData)
}
