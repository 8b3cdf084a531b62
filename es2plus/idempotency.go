package es2plus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Idempotency (SGP.22 §6.5.1.3 functionCallIdentifier): a call repeated by the same operator
// with the same functionCallIdentifier gets the first call's answer, byte for byte, and acts
// only once, also when the copies arrive at once on different replicas.
//
// The orders service runs its own transactions, so the answer cannot be recorded in the
// transaction that acts (as store.RecordFunctionCall suggests). Instead each call leaves two
// store.FunctionCall rows:
//
//   - the claim, under functionCallIdentifier + claimSuffix, written before acting: its unique
//     key lets exactly one of several concurrent copies act. Its ResponseJSON holds a digest of
//     the request, so a reused identifier with other parameters is refused instead of answered;
//   - the answer, under the functionCallIdentifier itself, written after acting: the bytes the
//     caller received.
//
// A copy that finds a claim without an answer waits up to the replay wait for it. A call that
// failed inside the server (an error without an SGP.22 status) leaves its claim without an
// answer, since whether it acted is then unknown; its copies are told so and the operator must
// check the order and use a new identifier. Identifiers hold no control characters, so the
// claim's key never collides with another call's.

// claimSuffix turns a functionCallIdentifier into the key of its claim.
const claimSuffix = "\x1fclaim"

// calls runs ES2+ calls at most once per (operator, functionCallIdentifier).
type calls struct {
	db   *store.DB
	wait time.Duration
	log  *slog.Logger
}

// claimRecord is the ResponseJSON of a claim row.
type claimRecord struct {
	RequestSHA256 string `json:"requestSHA256"`
}

// answer is a complete response body, sent as is (a first answer or its replay).
type answer struct {
	web.Response
	body []byte
}

// MarshalJSON returns the recorded body; the header set by web.FunctionHandler is not used.
func (a *answer) MarshalJSON() ([]byte, error) { return a.body, nil }

// inUse is the answer to an identifier that cannot be answered from the record (SGP.22 has no
// code of its own for it; 1.2 is the request, 3.3 "already in use").
func inUse(fci, why string) error {
	return status.New(status.SubjectRequest, status.ReasonAlreadyInUse, fmt.Sprintf("functionCallIdentifier %q %s", fci, why))
}

// once runs act unless the operator's call fci was made before, and answers with the first
// answer. function names the ES2+ function and req is the decoded request, whose digest must
// match the first call's.
func (c *calls) once(ctx context.Context, operatorID, fci, function string, req any, act func(context.Context) (any, error)) (*answer, error) {
	digest, err := requestDigest(req)
	if err != nil {
		return nil, err
	}
	claimed := false
	for range 3 {
		claim, err := c.db.GetFunctionCall(ctx, operatorID, fci+claimSuffix)
		if err == nil {
			return c.replay(ctx, operatorID, fci, function, digest, claim)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		rec, _ := json.Marshal(claimRecord{RequestSHA256: digest})
		_, err = c.db.RecordFunctionCall(ctx, store.FunctionCall{OperatorID: operatorID,
			FunctionCallIdentifier: fci + claimSuffix, Function: function, ResponseJSON: rec})
		if errors.Is(err, store.ErrDuplicate) {
			continue // a concurrent copy claimed it first: answer as its replay
		}
		if err != nil {
			return nil, err
		}
		claimed = true
		break
	}
	if !claimed {
		return nil, errors.New("es2plus: function call claim neither found nor recorded")
	}

	// Once claimed, the call runs to its end even if the caller goes away, so that its answer
	// can be recorded for the retry.
	ctx = context.WithoutCancel(ctx)
	resp, actErr := act(ctx)
	var body []byte
	if actErr != nil {
		h, internal := status.Header(actErr)
		if internal {
			return nil, actErr // outcome unknown: the claim stays unanswered
		}
		body, err = json.Marshal(web.Response{Header: h}) // what web.FunctionHandler writes
	} else {
		body, err = json.Marshal(resp)
	}
	if err != nil {
		return nil, fmt.Errorf("es2plus: encoding the %s answer: %w", function, err)
	}
	if _, err := c.db.RecordFunctionCall(ctx, store.FunctionCall{OperatorID: operatorID,
		FunctionCallIdentifier: fci, Function: function, ResponseJSON: body}); err != nil {
		// The caller still gets its answer; a retry will be told the outcome is unknown.
		c.log.ErrorContext(ctx, "recording an ES2+ answer failed", "function", function,
			"operator", operatorID, "functionCallIdentifier", fci, "error", err)
	}
	if actErr != nil {
		return nil, actErr
	}
	return &answer{body: body}, nil
}

// replay answers a call whose identifier was claimed before: with the recorded answer, once
// there is one.
func (c *calls) replay(ctx context.Context, operatorID, fci, function, digest string, claim store.FunctionCall) (*answer, error) {
	if claim.Function != function {
		return nil, inUse(fci, "was already used for "+claim.Function)
	}
	var rec claimRecord
	if err := json.Unmarshal(claim.ResponseJSON, &rec); err != nil || rec.RequestSHA256 != digest {
		return nil, inUse(fci, "was already used with other parameters")
	}
	web.AddLog(ctx, slog.Bool("replay", true))
	deadline := time.Now().Add(c.wait)
	pause := 10 * time.Millisecond
	for {
		ans, err := c.db.GetFunctionCall(ctx, operatorID, fci)
		if err == nil {
			return &answer{body: ans.ResponseJSON}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if time.Now().Add(pause).After(deadline) {
			return nil, inUse(fci, "belongs to a call still in progress or whose outcome is unknown: check the order, and use a new functionCallIdentifier")
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// requestDigest is SHA-256 of the request as decoded and encoded again, so that the same
// request written with other spacing or key order has the same digest.
func requestDigest(req any) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("es2plus: encoding the request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
