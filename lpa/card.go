package lpa

import (
	"context"
	"fmt"

	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// The ES10b functions (SGP.22 §5.7) as CardError names them.
const (
	FunctionGetEUICCChallenge          = "GetEUICCChallenge"
	FunctionGetEUICCInfo               = "GetEUICCInfo"
	FunctionAuthenticateServer         = "AuthenticateServer"
	FunctionPrepareDownload            = "PrepareDownload"
	FunctionLoadBoundProfilePackage    = "LoadBoundProfilePackage"
	FunctionCancelSessionES10          = "CancelSession"
	FunctionRetrieveNotificationsList  = "RetrieveNotificationsList"
	FunctionRemoveNotificationFromList = "RemoveNotificationFromList"
)

// Tags of the ES10b responses the LPA forwards to the SM-DP+ without decoding them.
const (
	tagEUICCInfo1              tlv.Tag = 0xBF20
	tagAuthenticateServer      tlv.Tag = 0xBF38
	tagPrepareDownload         tlv.Tag = 0xBF21
	tagCancelSession           tlv.Tag = 0xBF41
	tagProfileInstallationRslt tlv.Tag = 0xBF37
)

// CardError is an ES10b function that failed on the card: the APDU exchange failed, the card
// answered with an error status word (see apdu.StatusWord), or its answer was malformed.
type CardError struct {
	Function string // ES10b function, e.g. FunctionAuthenticateServer
	Err      error
}

func (e *CardError) Error() string { return fmt.Sprintf("lpa: ES10b %s: %v", e.Function, e.Err) }

func (e *CardError) Unwrap() error { return e.Err }

// es10 sends one ES10b request to the card within the per-call timeout.
func (l *LPA) es10(ctx context.Context, function string, request []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	l.log.DebugContext(ctx, "ES10b request", "function", function, "bytes", len(request))
	resp, err := l.card.Call(ctx, request)
	if err != nil {
		return nil, &CardError{Function: function, Err: err}
	}
	return resp, nil
}

// es10Element calls function and checks that the answer is exactly one element with tag, which
// the LPA forwards as it is.
func (l *LPA) es10Element(ctx context.Context, function string, request []byte, tag tlv.Tag) ([]byte, error) {
	resp, err := l.es10(ctx, function, request)
	if err != nil {
		return nil, err
	}
	s := tlv.String(resp)
	if _, ok := s.ReadTagElement(tag); !ok || !s.Empty() {
		return nil, &CardError{Function: function, Err: fmt.Errorf("%w: not a single %s element", ErrMalformedResponse, tag)}
	}
	return resp, nil
}

type marshaler interface{ Marshal() ([]byte, error) }

func encodeRequest(function string, v marshaler) ([]byte, error) {
	b, err := v.Marshal()
	if err != nil {
		return nil, &CardError{Function: function, Err: fmt.Errorf("encode request: %w", err)}
	}
	return b, nil
}

// challengeAndInfo1 runs ES10b.GetEUICCChallenge and ES10b.GetEUICCInfo (EUICCInfo1), the inputs
// of ES9+.InitiateAuthentication.
func (l *LPA) challengeAndInfo1(ctx context.Context) (challenge, info1 []byte, err error) {
	req, err := encodeRequest(FunctionGetEUICCChallenge, &rsp.GetEuiccChallengeRequest{})
	if err != nil {
		return nil, nil, err
	}
	resp, err := l.es10(ctx, FunctionGetEUICCChallenge, req)
	if err != nil {
		return nil, nil, err
	}
	var ch rsp.GetEuiccChallengeResponse
	if err := ch.Unmarshal(resp); err != nil {
		return nil, nil, &CardError{Function: FunctionGetEUICCChallenge, Err: fmt.Errorf("%w: %v", ErrMalformedResponse, err)}
	}
	if req, err = encodeRequest(FunctionGetEUICCInfo, &rsp.GetEuiccInfo1Request{}); err != nil {
		return nil, nil, err
	}
	info1, err = l.es10Element(ctx, FunctionGetEUICCInfo, req, tagEUICCInfo1)
	if err != nil {
		return nil, nil, err
	}
	return ch.EuiccChallenge, info1, nil
}

// cancelOnCard runs ES10b.CancelSession and returns the eUICC's CancelSessionResponse as received.
func (l *LPA) cancelOnCard(ctx context.Context, transactionID []byte, reason rsp.CancelSessionReason) ([]byte, error) {
	req, err := encodeRequest(FunctionCancelSessionES10, &rsp.CancelSessionRequest{TransactionID: transactionID, Reason: reason})
	if err != nil {
		return nil, err
	}
	return l.es10Element(ctx, FunctionCancelSessionES10, req, tagCancelSession)
}

// notificationSent runs ES10b.RemoveNotificationFromList for seq.
func (l *LPA) notificationSent(ctx context.Context, seq int64) error {
	req, err := encodeRequest(FunctionRemoveNotificationFromList, &rsp.NotificationSentRequest{SeqNumber: seq})
	if err != nil {
		return err
	}
	resp, err := l.es10(ctx, FunctionRemoveNotificationFromList, req)
	if err != nil {
		return err
	}
	var r rsp.NotificationSentResponse
	if err := r.Unmarshal(resp); err != nil {
		return &CardError{Function: FunctionRemoveNotificationFromList, Err: fmt.Errorf("%w: %v", ErrMalformedResponse, err)}
	}
	if r.DeleteNotificationStatus != 0 {
		return &CardError{Function: FunctionRemoveNotificationFromList, Err: fmt.Errorf("seqNumber %d: deleteNotificationStatus %d", seq, r.DeleteNotificationStatus)}
	}
	return nil
}
