package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Pools: the inventory view of the profiles table. A pool is the set of profiles of one operator
// and profile type in one region ("" for none); ES2+ DownloadOrder by profileType (SGP.22 §5.3.1)
// draws from the operator's pools of that type. Profiles imported by the inventory carry a
// profile_inventory row with their region and IMSI; profiles without one (imported singly) are in
// the pool of region "".

// profileInventoryRow holds the pool attributes of an imported profile.
type profileInventoryRow struct {
	// ProfileICCID is the profile's ICCID (named so that gorm reads Profile as belongs-to).
	ProfileICCID string      `gorm:"column:iccid;primaryKey"`
	Profile      *profileRow `gorm:"foreignKey:ProfileICCID;references:ICCID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
	Region       string      `gorm:"not null"`
	// IMSI is unique: two profiles with one IMSI would be one subscriber to the network.
	IMSI      string    `gorm:"column:imsi;not null;uniqueIndex:idx_profile_inventory_imsi"`
	BatchID   string    `gorm:"column:batch_id;not null;index:idx_profile_inventory_batch"`
	CreatedAt time.Time `gorm:"not null"`
}

func (profileInventoryRow) TableName() string { return "profile_inventory" }

// poolThresholdRow is the low-water mark of one pool and its alert latch.
type poolThresholdRow struct {
	OperatorID  string       `gorm:"primaryKey"`
	Operator    *operatorRow `gorm:"foreignKey:OperatorID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
	ProfileType string       `gorm:"primaryKey"`
	Region      string       `gorm:"primaryKey"`
	LowWater    int          `gorm:"not null"`
	Low         bool         `gorm:"not null"`
	UpdatedAt   time.Time    `gorm:"not null"`
}

func (poolThresholdRow) TableName() string { return "pool_thresholds" }

// PoolKey names a pool.
type PoolKey struct {
	OperatorID  string
	ProfileType string
	// Region is the operator's label for where the profiles may be used; "" for none.
	Region string
}

// String formats the key as "operator/profileType/region".
func (k PoolKey) String() string { return k.OperatorID + "/" + k.ProfileType + "/" + k.Region }

// PoolProfile is a profile to import into a pool.
type PoolProfile struct {
	Profile
	Region string
	// IMSI is the profile's IMSI, unique across all pools.
	IMSI string
	// BatchID names the import the profile came with.
	BatchID string
}

// ImportProfiles inserts the profiles and their pool attributes in one transaction: all of them or,
// on any error, none. As with CreateProfiles, an empty State means Available; an ICCID or IMSI that
// exists already (or twice in ps) gives ErrDuplicate.
func (db *DB) ImportProfiles(ctx context.Context, ps []PoolProfile) error {
	_, err := write(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, tx.ImportProfiles(ctx, ps) })
	return err
}

// ImportProfiles is DB.ImportProfiles inside tx, for an import made of several calls in one
// transaction; on error the caller must roll tx back.
func (tx *Tx) ImportProfiles(ctx context.Context, ps []PoolProfile) error {
	if len(ps) == 0 {
		return nil
	}
	profiles := make([]Profile, len(ps))
	rows := make([]profileInventoryRow, len(ps))
	now := tx.db.now()
	for i, p := range ps {
		if p.IMSI == "" {
			return fmt.Errorf("store: import profile %s: empty IMSI", p.ICCID)
		}
		profiles[i] = p.Profile
		rows[i] = profileInventoryRow{ProfileICCID: p.ICCID, Region: p.Region, IMSI: p.IMSI, BatchID: p.BatchID, CreatedAt: now}
	}
	if err := tx.CreateProfiles(ctx, profiles); err != nil {
		return err
	}
	if err := tx.q(ctx).Omit(clause.Associations).CreateInBatches(&rows, 2*createBatch).Error; err != nil {
		return fmt.Errorf("store: import %d profiles: %w", len(rows), translate(err))
	}
	return nil
}

// lookupBatch is the number of values per IN (…) list; SQLite allows 32766 bind parameters per
// statement and PostgreSQL 65535.
const lookupBatch = 1000

// ExistingICCIDs returns those of iccids that are in the database, in no particular order.
func (db *DB) ExistingICCIDs(ctx context.Context, iccids []string) ([]string, error) {
	return db.existing(ctx, &profileRow{}, "iccid", iccids)
}

// ExistingIMSIs returns those of imsis that belong to an imported profile, in no particular order.
func (db *DB) ExistingIMSIs(ctx context.Context, imsis []string) ([]string, error) {
	return db.existing(ctx, &profileInventoryRow{}, "imsi", imsis)
}

func (db *DB) existing(ctx context.Context, model any, col string, values []string) ([]string, error) {
	var out []string
	for chunk := range slices.Chunk(values, lookupBatch) {
		var found []string
		if err := db.reader.WithContext(ctx).Model(model).Where(col+" IN ?", chunk).Pluck(col, &found).Error; err != nil {
			return nil, fmt.Errorf("store: look up %d %s values: %w", len(chunk), col, translate(err))
		}
		out = append(out, found...)
	}
	return out, nil
}

// PoolOf returns the pool the profile iccid belongs to, or ErrNotFound.
func (db *DB) PoolOf(ctx context.Context, iccid string) (PoolKey, error) {
	return read(ctx, db, func(tx *Tx) (PoolKey, error) { return tx.PoolOf(ctx, iccid) })
}

// PoolOf is DB.PoolOf inside tx.
func (tx *Tx) PoolOf(ctx context.Context, iccid string) (PoolKey, error) {
	var k struct{ OperatorID, ProfileType, Region string }
	err := tx.q(ctx).Raw(`SELECT p.operator_id, p.profile_type, COALESCE(i.region, '') AS region
FROM profiles p LEFT JOIN profile_inventory i ON i.iccid = p.iccid WHERE p.iccid = ?`, iccid).Scan(&k).Error
	if err != nil {
		return PoolKey{}, fmt.Errorf("store: pool of %s: %w", iccid, translate(err))
	}
	if k.OperatorID == "" {
		return PoolKey{}, fmt.Errorf("store: pool of %s: %w", iccid, ErrNotFound)
	}
	return PoolKey(k), nil
}

// PoolLevel is the state of one pool: how many of its profiles are in each state, and its
// threshold if one is set.
type PoolLevel struct {
	PoolKey
	// Counts holds the number of profiles per state; states without profiles are absent.
	Counts map[State]int
	// Available is Counts[StateAvailable].
	Available int
	// Total is the number of profiles in the pool.
	Total int
	// Threshold is the pool's low-water mark, nil when none is set.
	Threshold *PoolThreshold
}

// PoolLevels returns the level of every pool of the operator (of every operator when operatorID is
// empty), ordered by operator, profile type and region. A pool with a threshold but no profiles is
// included.
func (db *DB) PoolLevels(ctx context.Context, operatorID string) ([]PoolLevel, error) {
	q := `SELECT p.operator_id, p.profile_type, COALESCE(i.region, '') AS region, p.state, COUNT(*) AS n
FROM profiles p LEFT JOIN profile_inventory i ON i.iccid = p.iccid`
	var args []any
	if operatorID != "" {
		q += " WHERE p.operator_id = ?"
		args = append(args, operatorID)
	}
	q += " GROUP BY p.operator_id, p.profile_type, COALESCE(i.region, ''), p.state"
	var rows []struct {
		OperatorID, ProfileType, Region, State string
		N                                      int
	}
	if err := db.reader.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: pool levels: %w", translate(err))
	}
	thresholds, err := db.ListPoolThresholds(ctx, operatorID)
	if err != nil {
		return nil, err
	}
	levels := map[PoolKey]*PoolLevel{}
	level := func(k PoolKey) *PoolLevel {
		l := levels[k]
		if l == nil {
			l = &PoolLevel{PoolKey: k, Counts: map[State]int{}}
			levels[k] = l
		}
		return l
	}
	for _, r := range rows {
		l := level(PoolKey{r.OperatorID, r.ProfileType, r.Region})
		l.Counts[State(r.State)] += r.N
		l.Total += r.N
	}
	for _, th := range thresholds {
		level(th.PoolKey).Threshold = &th
	}
	out := make([]PoolLevel, 0, len(levels))
	for _, l := range levels {
		l.Available = l.Counts[StateAvailable]
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b PoolLevel) int { return comparePoolKeys(a.PoolKey, b.PoolKey) })
	return out, nil
}

func comparePoolKeys(a, b PoolKey) int {
	switch {
	case a.OperatorID != b.OperatorID:
		return cmpString(a.OperatorID, b.OperatorID)
	case a.ProfileType != b.ProfileType:
		return cmpString(a.ProfileType, b.ProfileType)
	}
	return cmpString(a.Region, b.Region)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// poolAvailableSQL counts, up to a limit, the Available profiles of one pool.
const poolAvailableSQL = `SELECT COUNT(*) FROM (SELECT 1 FROM profiles p LEFT JOIN profile_inventory i ON i.iccid = p.iccid
WHERE p.operator_id = ? AND p.profile_type = ? AND p.state = ? AND COALESCE(i.region, '') = ? LIMIT ?) AS a`

// CountAvailable returns the number of Available profiles in the pool, counting at most limit of
// them (limit ≤ 0: all).
func (db *DB) CountAvailable(ctx context.Context, k PoolKey, limit int) (int, error) {
	return read(ctx, db, func(tx *Tx) (int, error) { return tx.CountAvailable(ctx, k, limit) })
}

// CountAvailable is DB.CountAvailable inside tx.
func (tx *Tx) CountAvailable(ctx context.Context, k PoolKey, limit int) (int, error) {
	if limit <= 0 {
		limit = 1<<31 - 1
	}
	var n int
	err := tx.q(ctx).Raw(poolAvailableSQL, k.OperatorID, k.ProfileType, string(StateAvailable), k.Region, limit).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: count available in pool %s: %w", k, translate(err))
	}
	return n, nil
}

// PoolThreshold is the low-water mark of a pool: the pool is low when fewer than LowWater of its
// profiles are Available.
type PoolThreshold struct {
	PoolKey
	LowWater int
	// Low latches the alert: it is set by the check that first finds the pool low, and cleared by
	// the first check that finds it at or above LowWater again, so that one crossing raises one
	// alert.
	Low       bool
	UpdatedAt time.Time
}

func (r poolThresholdRow) domain() PoolThreshold {
	return PoolThreshold{PoolKey: PoolKey{r.OperatorID, r.ProfileType, r.Region}, LowWater: r.LowWater, Low: r.Low,
		UpdatedAt: r.UpdatedAt.UTC()}
}

// SetPoolThreshold sets the low-water mark of a pool (creating or replacing it) and clears its
// latch, so that the next check alerts if the pool is already low. LowWater must be positive; an
// unknown operator gives ErrNotFound.
func (db *DB) SetPoolThreshold(ctx context.Context, k PoolKey, lowWater int) (PoolThreshold, error) {
	return write(ctx, db, func(tx *Tx) (PoolThreshold, error) {
		if k.OperatorID == "" || k.ProfileType == "" || lowWater <= 0 {
			return PoolThreshold{}, fmt.Errorf("store: set threshold of pool %s: need an operator, a profile type and a positive low-water mark, got %d", k, lowWater)
		}
		r := poolThresholdRow{OperatorID: k.OperatorID, ProfileType: k.ProfileType, Region: k.Region,
			LowWater: lowWater, UpdatedAt: tx.db.now()}
		err := tx.q(ctx).Omit(clause.Associations).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "operator_id"}, {Name: "profile_type"}, {Name: "region"}},
			DoUpdates: clause.AssignmentColumns([]string{"low_water", "low", "updated_at"}),
		}).Create(&r).Error
		if err != nil {
			return PoolThreshold{}, fmt.Errorf("store: set threshold of pool %s: %w", k, translate(err))
		}
		return r.domain(), nil
	})
}

// DeletePoolThreshold removes the pool's low-water mark; ErrNotFound when it has none.
func (db *DB) DeletePoolThreshold(ctx context.Context, k PoolKey) error {
	_, err := write(ctx, db, func(tx *Tx) (struct{}, error) {
		res := tx.q(ctx).Where("operator_id = ? AND profile_type = ? AND region = ?", k.OperatorID, k.ProfileType, k.Region).
			Delete(&poolThresholdRow{})
		if res.Error != nil {
			return struct{}{}, fmt.Errorf("store: delete threshold of pool %s: %w", k, translate(res.Error))
		}
		if res.RowsAffected == 0 {
			return struct{}{}, fmt.Errorf("store: delete threshold of pool %s: %w", k, ErrNotFound)
		}
		return struct{}{}, nil
	})
	return err
}

// ListPoolThresholds returns the thresholds of the operator's pools (of all pools when operatorID
// is empty), ordered by operator, profile type and region.
func (db *DB) ListPoolThresholds(ctx context.Context, operatorID string) ([]PoolThreshold, error) {
	var rows []poolThresholdRow
	q := whereEqual(db.reader.WithContext(ctx), "operator_id", operatorID)
	if err := q.Order("operator_id, profile_type, region").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list pool thresholds: %w", translate(err))
	}
	out := make([]PoolThreshold, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// ThresholdCheck is the outcome of CheckPoolThreshold.
type ThresholdCheck struct {
	// Threshold is the pool's threshold after the check; the zero value when the pool has none.
	Threshold PoolThreshold
	// Available is the number of Available profiles when below Threshold.LowWater, else
	// Threshold.LowWater: the count stops there.
	Available int
	// Crossed reports that this check found the pool low and set its latch: the caller raises the
	// alert, once per crossing. Rearmed reports that it found the pool replenished and cleared it.
	Crossed, Rearmed bool
}

// CheckPoolThreshold compares the pool's Available profiles with its low-water mark and moves the
// latch: set when the pool is low and the latch clear (Crossed), cleared when the pool is no longer
// low and the latch set (Rearmed). The latch changes by compare-and-set, so of concurrent checks
// that find one crossing exactly one reports Crossed, provided the caller commits the alert in the
// same transaction. A pool without a threshold gives the zero ThresholdCheck.
func (tx *Tx) CheckPoolThreshold(ctx context.Context, k PoolKey) (ThresholdCheck, error) {
	var r poolThresholdRow
	err := tx.q(ctx).Where("operator_id = ? AND profile_type = ? AND region = ?", k.OperatorID, k.ProfileType, k.Region).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ThresholdCheck{}, nil
	}
	if err != nil {
		return ThresholdCheck{}, fmt.Errorf("store: check threshold of pool %s: %w", k, translate(err))
	}
	n, err := tx.CountAvailable(ctx, k, r.LowWater)
	if err != nil {
		return ThresholdCheck{}, err
	}
	c := ThresholdCheck{Available: n}
	low := n < r.LowWater
	if low != r.Low {
		res := tx.q(ctx).Model(&poolThresholdRow{}).
			Where("operator_id = ? AND profile_type = ? AND region = ? AND low = ?", k.OperatorID, k.ProfileType, k.Region, r.Low).
			Updates(map[string]any{"low": low, "updated_at": tx.db.now()})
		if res.Error != nil {
			return ThresholdCheck{}, fmt.Errorf("store: check threshold of pool %s: %w", k, translate(res.Error))
		}
		if res.RowsAffected == 1 {
			c.Crossed, c.Rearmed = low, !low
			r.Low = low
		} else if err := tx.q(ctx).Where("operator_id = ? AND profile_type = ? AND region = ?", k.OperatorID, k.ProfileType, k.Region).Take(&r).Error; err != nil {
			return ThresholdCheck{}, fmt.Errorf("store: check threshold of pool %s: %w", k, translate(err))
		}
	}
	c.Threshold = r.domain()
	return c, nil
}

// StaleReleased returns up to limit profiles that are Released, have never been downloaded
// (DownloadAttempts 0) and have not changed since before cutoff, oldest first, without their
// Package: the orders a return-to-pool policy may take back.
func (db *DB) StaleReleased(ctx context.Context, cutoff time.Time, limit int) ([]Profile, error) {
	if limit <= 0 {
		limit = DefaultFindLimit
	}
	var rows []profileRow
	err := db.reader.WithContext(ctx).Omit("package").
		Where("state = ? AND download_attempts = 0 AND updated_at < ?", string(StateReleased), cutoff.UTC().Truncate(time.Microsecond)).
		Order("updated_at, iccid").Limit(min(limit, MaxFindLimit)).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: stale released profiles: %w", translate(err))
	}
	out := make([]Profile, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}
