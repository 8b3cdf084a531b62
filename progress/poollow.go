package progress

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smdpp/smdpp/store"
)

// PoolLowKind is the outbox kind of a pool low-water alert to an operator, and PoolLowPath where
// it is POSTed beside the operator's ES2+ endpoint. It is this server's extension, not an SGP.22
// function: SGP.22 leaves inventory to the SM-DP+, and operators want to refill a pool before
// DownloadOrder starts failing with 8.2.5/3.7.
const (
	PoolLowKind = "smdpp.PoolLow"
	PoolLowPath = "/smdpp/poolLow"
)

// PoolLow is a pool of the operator's profiles that fell below its low-water mark.
type PoolLow struct {
	OperatorID  string `json:"operatorId"`
	ProfileType string `json:"profileType"`
	Region      string `json:"region,omitempty"`
	// Available profiles are left; LowWater is the mark the operator set.
	Available int    `json:"available"`
	LowWater  int    `json:"lowWater"`
	Timestamp string `json:"timestamp"`
}

// EnqueuePoolLow writes a pool alert into the outbox inside tx, the transaction that latches the
// alert (an inventory.LowWaterHook). Alerts of one pool keep their order; an operator without a
// callback URL is not told.
func (n *Notifier) EnqueuePoolLow(ctx context.Context, tx *store.Tx, p PoolLow, at time.Time) error {
	op, err := tx.GetOperator(ctx, p.OperatorID)
	if err != nil {
		return fmt.Errorf("progress: operator of pool %s/%s: %w", p.OperatorID, p.ProfileType, err)
	}
	if op.CallbackURL == "" {
		return nil
	}
	p.Timestamp = at.UTC().Truncate(time.Second).Format(TimestampFormat)
	payload, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	key := "pool:" + p.OperatorID + "/" + p.ProfileType + "/" + p.Region
	if _, err := tx.EnqueueOutbox(ctx, store.OutboxMessage{OperatorID: p.OperatorID, ICCID: key, Kind: PoolLowKind, Payload: payload}); err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	return nil
}
