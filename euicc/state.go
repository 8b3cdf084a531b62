package euicc

import (
	"bytes"
	"fmt"
	"slices"
)

// State is what a card keeps across power cycles: its Profiles, pending notifications, the next
// notification sequence number and the default SM-DP+ address. It encodes to JSON (octet strings
// in base64), so a command can keep it in a file. The RSP session, the pending challenge and
// one-time keys are not part of it: they do not survive a reset of a real card either. A card
// started from a State takes its default SM-DP+ address from it, not from
// Config.DefaultDpAddress.
type State struct {
	Profiles         []Profile      `json:"profiles"`
	Notifications    []Notification `json:"notifications"`
	NextSeqNumber    int64          `json:"nextSeqNumber"`
	DefaultDpAddress string         `json:"defaultDpAddress,omitempty"`
}

// State returns a copy of the card's content, for Config.State of a later card.
func (c *ISDR) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := State{
		Profiles:         make([]Profile, 0, len(c.profiles)),
		Notifications:    make([]Notification, 0, len(c.notifications)),
		NextSeqNumber:    c.nextSeq,
		DefaultDpAddress: c.defaultDp,
	}
	for _, p := range c.profiles {
		q := Profile{
			ICCID:         bytes.Clone(p.ICCID),
			AID:           bytes.Clone(p.AID),
			Enabled:       p.Enabled,
			Metadata:      bytes.Clone(p.Metadata),
			ConfigureISDP: bytes.Clone(p.ConfigureISDP),
			Size:          p.Size,
		}
		if p.Nickname != nil {
			n := *p.Nickname
			q.Nickname = &n
		}
		st.Profiles = append(st.Profiles, q)
	}
	for _, n := range c.notifications {
		st.Notifications = append(st.Notifications, Notification{SeqNumber: n.SeqNumber, Pending: bytes.Clone(n.Pending)})
	}
	return st
}

// restore loads st into a new card, checking that it is consistent.
func (c *ISDR) restore(st *State) error {
	enabled := 0
	var profiles []*Profile
	for i := range st.Profiles {
		p := st.Profiles[i]
		p.ICCID, p.AID = bytes.Clone(p.ICCID), bytes.Clone(p.AID)
		p.Metadata, p.ConfigureISDP = bytes.Clone(p.Metadata), bytes.Clone(p.ConfigureISDP)
		if err := p.decode(); err != nil {
			return fmt.Errorf("euicc: state: Profile %d: %w", i, err)
		}
		for _, q := range profiles {
			if bytes.Equal(q.ICCID, p.ICCID) || bytes.Equal(q.AID, p.AID) {
				return fmt.Errorf("euicc: state: Profile %d: ICCID or ISD-P AID used twice", i)
			}
		}
		if p.Enabled {
			enabled++
		}
		profiles = append(profiles, &p)
	}
	if enabled > 1 {
		return fmt.Errorf("euicc: state: %d Profiles enabled", enabled)
	}
	next := max(st.NextSeqNumber, 1)
	var notifications []Notification
	for i, n := range st.Notifications {
		n.Pending = bytes.Clone(n.Pending)
		if _, err := n.decode(); err != nil {
			return fmt.Errorf("euicc: state: notification %d: %w", i, err)
		}
		if slices.ContainsFunc(notifications, func(m Notification) bool { return m.SeqNumber == n.SeqNumber }) {
			return fmt.Errorf("euicc: state: notification sequence number %d used twice", n.SeqNumber)
		}
		next = max(next, n.SeqNumber+1)
		notifications = append(notifications, n)
	}
	c.profiles, c.notifications, c.nextSeq, c.defaultDp = profiles, notifications, next, st.DefaultDpAddress
	if c.freeNonVolatileMemory() == 0 && len(profiles) > 0 {
		var used int64
		for _, p := range profiles {
			used += p.Size
		}
		if used > c.cfg.FreeNonVolatileMemory {
			return fmt.Errorf("euicc: state: the Profiles take %d bytes, more than the card's %d", used, c.cfg.FreeNonVolatileMemory)
		}
	}
	return nil
}
