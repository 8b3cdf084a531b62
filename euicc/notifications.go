package euicc

import (
	"bytes"
	"encoding/asn1"
	"fmt"

	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// Notification is a pending notification (SGP.22 §5.7.9 to §5.7.11): a ProfileInstallationResult
// or an OtherSignedNotification, kept until the LPA reports it sent.
type Notification struct {
	SeqNumber int64  `json:"seqNumber"`
	Pending   []byte `json:"pending"` // the PendingNotification DER (BF37… or 30…)
}

// decode returns the notification as the LPA retrieves it.
func (n Notification) decode() (rsp.PendingNotification, error) {
	var p rsp.PendingNotification
	if err := p.Unmarshal(n.Pending); err != nil {
		return p, err
	}
	if md := p.Notification(); md == nil || md.SeqNumber != n.SeqNumber {
		return p, fmt.Errorf("notification %d carries another sequence number", n.SeqNumber)
	}
	return p, nil
}

// event returns the NotificationEvent bit number of a metadata's single operation bit, or -1.
func event(md *rsp.NotificationMetadata) int {
	for i := 0; i < md.ProfileManagementOperation.BitLength; i++ {
		if md.ProfileManagementOperation.At(i) == 1 {
			return i
		}
	}
	return -1
}

// notify queues the OtherSignedNotification of Profile operation ev (rsp.NotificationEnable,
// …Disable, …Delete) for each notificationConfigurationInfo entry of p's metadata asking for it
// (SGP.22 §5.5.3, §5.7.10).
func (c *ISDR) notify(p *Profile, ev int) error {
	for _, nci := range p.md.NotificationConfigurationInfo {
		if nci.ProfileManagementOperation.At(ev) != 1 {
			continue
		}
		md := rsp.NotificationMetadata{
			SeqNumber:                  c.nextSeq,
			ProfileManagementOperation: tlv.NamedBits(ev),
			NotificationAddress:        nci.NotificationAddress,
			Iccid:                      bytes.Clone(p.ICCID),
		}
		tbs, err := md.Marshal()
		if err != nil {
			return fmt.Errorf("euicc: encoding NotificationMetadata: %w", err)
		}
		sig, err := c.sign(tbs)
		if err != nil {
			return err
		}
		der, err := (&rsp.PendingNotification{OtherSignedNotification: &rsp.OtherSignedNotification{
			TbsOtherNotification:       md,
			EuiccNotificationSignature: sig,
			EuiccCertificate:           bytes.Clone(c.cert.Raw),
			EumCertificate:             bytes.Clone(c.eum.Raw),
		}}).Marshal()
		if err != nil {
			return fmt.Errorf("euicc: encoding OtherSignedNotification: %w", err)
		}
		c.notifications = append(c.notifications, Notification{SeqNumber: c.nextSeq, Pending: der})
		c.nextSeq++
	}
	return nil
}

// matching returns the pending notifications whose operation is one of the bits of filter (all
// of them when filter is nil) and, when seq is not nil, whose sequence number is *seq.
func (c *ISDR) matching(filter *asn1.BitString, seq *int64) ([]rsp.PendingNotification, error) {
	var out []rsp.PendingNotification
	for _, n := range c.notifications {
		p, err := n.decode()
		if err != nil {
			return nil, fmt.Errorf("euicc: stored notification %d: %w", n.SeqNumber, err)
		}
		if seq != nil && n.SeqNumber != *seq {
			continue
		}
		if ev := event(p.Notification()); filter != nil && (ev < 0 || filter.At(ev) != 1) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// listNotification answers ES10b.ListNotification (SGP.22 §5.7.9).
func (c *ISDR) listNotification(req []byte) ([]byte, error) {
	var r rsp.ListNotificationRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	found, err := c.matching(r.ProfileManagementOperation, nil)
	if err != nil {
		return nil, err
	}
	list := make([]rsp.NotificationMetadata, 0, len(found))
	for i := range found {
		list = append(list, *found[i].Notification())
	}
	return (&rsp.ListNotificationResponse{NotificationMetadataList: list}).Marshal()
}

// retrieveNotificationsList answers ES10b.RetrieveNotificationsList (SGP.22 §5.7.10). A search
// by sequence number that finds nothing is answered with noResultAvailable.
func (c *ISDR) retrieveNotificationsList(req []byte) ([]byte, error) {
	var r rsp.RetrieveNotificationsListRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	found, err := c.matching(r.ProfileManagementOperation, r.SeqNumber)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 && r.SeqNumber != nil {
		e := rsp.NotificationsListResultErrorNoResultAvailable
		return (&rsp.RetrieveNotificationsListResponse{NotificationsListResultError: &e}).Marshal()
	}
	if found == nil {
		found = []rsp.PendingNotification{}
	}
	return (&rsp.RetrieveNotificationsListResponse{NotificationList: found}).Marshal()
}

// notificationSent answers ES10b.RemoveNotificationFromList (SGP.22 §5.7.11): ok(0) when the
// notification was pending, nothingToDelete(1) otherwise.
func (c *ISDR) notificationSent(req []byte) ([]byte, error) {
	var r rsp.NotificationSentRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	status := int64(1)
	for i, n := range c.notifications {
		if n.SeqNumber == r.SeqNumber {
			c.notifications = append(c.notifications[:i:i], c.notifications[i+1:]...)
			status = 0
			break
		}
	}
	return (&rsp.NotificationSentResponse{DeleteNotificationStatus: status}).Marshal()
}
