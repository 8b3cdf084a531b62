package lpa

import (
	"context"
	"errors"
	"fmt"

	"github.com/smdpp/smdpp/es9plus/wire"
	"github.com/smdpp/smdpp/rsp"
)

// NotificationResult is the outcome of delivering one pending notification.
type NotificationResult struct {
	SeqNumber int64
	// Operation is the NotificationEvent bit the notification reports (rsp.NotificationInstall,
	// …), or -1 if none is set.
	Operation int
	Address   string
	// Delivered reports that ES9+.HandleNotification accepted it, Removed that the eUICC then
	// deleted it from its list.
	Delivered bool
	Removed   bool
	Err       error
	Timings   []Timing
}

// ProcessNotifications delivers the eUICC's pending notifications: it retrieves them all with
// ES10b.RetrieveNotificationsList (SGP.22 §5.7.10), sends each to the ES9+.HandleNotification of
// its notificationAddress (§5.6.4), and removes each one the server accepted (HTTP 204) with
// ES10b.RemoveNotificationFromList (§5.7.11). A notification that cannot be delivered stays on the card;
// the others are still tried. The error joins the failures of all of them.
func (l *LPA) ProcessNotifications(ctx context.Context) ([]NotificationResult, error) {
	req, err := encodeRequest(FunctionRetrieveNotificationsList, &rsp.RetrieveNotificationsListRequest{})
	if err != nil {
		return nil, err
	}
	resp, err := l.es10(ctx, FunctionRetrieveNotificationsList, req)
	if err != nil {
		return nil, err
	}
	var list rsp.RetrieveNotificationsListResponse
	if err := list.Unmarshal(resp); err != nil {
		return nil, &CardError{Function: FunctionRetrieveNotificationsList, Err: fmt.Errorf("%w: %v", ErrMalformedResponse, err)}
	}
	if e := list.NotificationsListResultError; e != nil {
		if *e == rsp.NotificationsListResultErrorNoResultAvailable {
			return nil, nil
		}
		return nil, &CardError{Function: FunctionRetrieveNotificationsList, Err: fmt.Errorf("notificationsListResultError %d", *e)}
	}
	out := make([]NotificationResult, 0, len(list.NotificationList))
	var errs []error
	for i := range list.NotificationList {
		r := l.deliver(ctx, &list.NotificationList[i])
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("notification %d: %w", r.SeqNumber, r.Err))
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func (l *LPA) deliver(ctx context.Context, n *rsp.PendingNotification) NotificationResult {
	md := n.Notification()
	r := NotificationResult{SeqNumber: md.SeqNumber, Operation: -1, Address: md.NotificationAddress}
	for bit := 0; bit < md.ProfileManagementOperation.BitLength; bit++ {
		if md.ProfileManagementOperation.At(bit) == 1 {
			r.Operation = bit
			break
		}
	}
	der, err := n.Marshal()
	if err != nil {
		r.Err = &CardError{Function: FunctionRetrieveNotificationsList, Err: fmt.Errorf("re-encode notification: %w", err)}
		return r
	}
	if err := l.es9(ctx, md.NotificationAddress, FunctionHandleNotification,
		&wire.HandleNotificationRequest{PendingNotification: der}, nil, &r.Timings); err != nil {
		r.Err = err
		return r
	}
	r.Delivered = true
	if err := l.notificationSent(ctx, md.SeqNumber); err != nil {
		r.Err = err
		return r
	}
	r.Removed = true
	return r
}
