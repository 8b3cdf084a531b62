package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Row structs: the tables. They never leave this package; see the domain types in the other
// files for their meaning.

type schemaVersionRow struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	AppliedAt time.Time `gorm:"not null"`
}

func (schemaVersionRow) TableName() string { return "schema_versions" }

type operatorRow struct {
	ID              string    `gorm:"primaryKey"`
	Name            string    `gorm:"not null"`
	CallbackURL     string    `gorm:"not null"`
	RedownloadLimit int       `gorm:"not null"`
	CreatedAt       time.Time `gorm:"not null"`
	UpdatedAt       time.Time `gorm:"not null"`
}

func (operatorRow) TableName() string { return "operators" }

type profileRow struct {
	ICCID      string       `gorm:"column:iccid;primaryKey;index:idx_profiles_pool,priority:4"`
	OperatorID string       `gorm:"not null;index:idx_profiles_operator_state,priority:1;index:idx_profiles_pool,priority:1"`
	Operator   *operatorRow `gorm:"foreignKey:OperatorID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
	// idx_profiles_pool ends with iccid so that AllocateProfile's ORDER BY iccid LIMIT 1 reads
	// the first entry of the index instead of sorting the whole pool.
	ProfileType          string    `gorm:"not null;index:idx_profiles_pool,priority:2"`
	State                string    `gorm:"not null;index:idx_profiles_operator_state,priority:2;index:idx_profiles_pool,priority:3"`
	EID                  *string   `gorm:"column:eid;index:idx_profiles_eid"`
	MatchingID           *string   `gorm:"column:matching_id;uniqueIndex:idx_profiles_matching_id"`
	ConfirmationCodeHash []byte    `gorm:"column:confirmation_code_hash"`
	CCAttempts           int       `gorm:"column:cc_attempts;not null"`
	DownloadAttempts     int       `gorm:"column:download_attempts;not null"`
	SMDSAddress          string    `gorm:"column:smds_address;not null"`
	Package              []byte    `gorm:"column:package"`
	LastErrorReason      *int      `gorm:"column:last_error_reason"`
	LastBppCommandID     *int      `gorm:"column:last_bpp_command_id"`
	EUICCCertificate     []byte    `gorm:"column:euicc_certificate"`
	Version              int64     `gorm:"not null"`
	CreatedAt            time.Time `gorm:"not null"`
	UpdatedAt            time.Time `gorm:"not null"`
}

func (profileRow) TableName() string { return "profiles" }

type functionCallRow struct {
	OperatorID             string    `gorm:"primaryKey"`
	FunctionCallIdentifier string    `gorm:"primaryKey"`
	Function               string    `gorm:"not null"`
	ResponseJSON           []byte    `gorm:"column:response_json"`
	CreatedAt              time.Time `gorm:"not null;index:idx_function_calls_created_at"`
}

func (functionCallRow) TableName() string { return "function_calls" }

type outboxRow struct {
	ID            int64      `gorm:"primaryKey;autoIncrement;index:idx_outbox_pending,priority:2,where:delivered_at IS NULL"`
	OperatorID    string     `gorm:"not null"`
	ICCID         string     `gorm:"column:iccid;not null;index:idx_outbox_pending,priority:1,where:delivered_at IS NULL"`
	Kind          string     `gorm:"not null"`
	Payload       []byte     `gorm:"column:payload"`
	Attempts      int        `gorm:"not null"`
	NextAttemptAt time.Time  `gorm:"not null;index:idx_outbox_due,where:delivered_at IS NULL"`
	DeliveredAt   *time.Time `gorm:"column:delivered_at"`
	LastError     string     `gorm:"not null"`
	CreatedAt     time.Time  `gorm:"not null"`
}

func (outboxRow) TableName() string { return "outbox_messages" }

type eventRow struct {
	ID         int64     `gorm:"primaryKey;autoIncrement"`
	At         time.Time `gorm:"not null;index:idx_events_operator_at,priority:2"`
	OperatorID string    `gorm:"not null;index:idx_events_operator_at,priority:1"`
	ICCID      string    `gorm:"column:iccid;not null;index:idx_events_iccid"`
	EID        string    `gorm:"column:eid;not null"`
	Kind       string    `gorm:"not null"`
	Detail     string    `gorm:"not null"`
}

func (eventRow) TableName() string { return "events" }

// migrate brings the schema to SchemaVersion in one transaction, and does nothing when the
// database already records SchemaVersion (PostgreSQL DDL is
// transactional; on SQLite the writer's IMMEDIATE transaction excludes other writers). On
// PostgreSQL an advisory lock keyed by the current schema makes replicas starting together
// migrate one after the other.
func (db *DB) migrate(ctx context.Context) error {
	return db.writer.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		if db.backend == BackendPostgres {
			if err := g.Exec("SELECT pg_advisory_xact_lock(hashtext('smdpp.store.migrate.' || current_schema()))").Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if err := g.AutoMigrate(&schemaVersionRow{}); err != nil {
			return err
		}
		var current int
		if err := g.Model(&schemaVersionRow{}).Select("COALESCE(MAX(version), 0)").Scan(&current).Error; err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		switch {
		case current > SchemaVersion:
			return fmt.Errorf("database schema version %d is newer than this build's %d", current, SchemaVersion)
		case current == SchemaVersion:
			return nil
		}
		if err := g.AutoMigrate(&operatorRow{}, &profileRow{}, &functionCallRow{}, &outboxRow{}, &eventRow{},
			&profileInventoryRow{}, &poolThresholdRow{}); err != nil {
			return err
		}
		return g.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&schemaVersionRow{Version: SchemaVersion, AppliedAt: db.now()}).Error
	})
}
