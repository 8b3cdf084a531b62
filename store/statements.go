package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Hand-written SQL for the statements every download runs: reading a profile, its compare-and-set
// transition, the usage event and the operator's progress message. Through gorm these cost more in reflection and statement
// building than in the database (a fifth of the server's database CPU under load), and SQLite
// compiles every statement again on each execution, so short SQL is cheaper to parse as well.
// They run on gorm's connections and inside its transactions (see conn).

// profileColumns are the profiles columns scanProfile reads, in its order, without package.
const profileColumns = "iccid, operator_id, profile_type, state, eid, matching_id, confirmation_code_hash, " +
	"cc_attempts, download_attempts, smds_address, last_error_reason, last_bpp_command_id, " +
	"euicc_certificate, version, created_at, updated_at"

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanProfile reads one row of profileColumns, followed by package when withPackage.
func scanProfile(row rowScanner, withPackage bool) (profileRow, error) {
	var r profileRow
	dest := []any{&r.ICCID, &r.OperatorID, &r.ProfileType, &r.State, &r.EID, &r.MatchingID,
		&r.ConfirmationCodeHash, &r.CCAttempts, &r.DownloadAttempts, &r.SMDSAddress, &r.LastErrorReason,
		&r.LastBppCommandID, &r.EUICCCertificate, &r.Version, &r.CreatedAt, &r.UpdatedAt}
	if withPackage {
		dest = append(dest, &r.Package)
	}
	err := row.Scan(dest...)
	return r, err
}

// rebind turns the ? placeholders of query into PostgreSQL's $1, $2, … on that backend. The
// queries here have no ? inside literals.
func (db *DB) rebind(query string) string {
	if db.backend != BackendPostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// conn is the database/sql pool or transaction tx's statements run on.
func (tx *Tx) conn() gorm.ConnPool { return tx.g.Statement.ConnPool }

// translateSQL is translate for errors from the driver itself, which gorm has not seen: the
// dialect turns constraint violations into gorm's errors first.
func (tx *Tx) translateSQL(err error) error {
	if t, ok := tx.g.Dialector.(gorm.ErrorTranslator); ok && err != nil && err != sql.ErrNoRows {
		err = t.Translate(err)
	}
	return translate(err)
}

// selectProfile reads the profile whose column key (iccid or matching_id) equals value, with its
// package or without, and on PostgreSQL with the row locked FOR UPDATE when lock is set.
func (tx *Tx) selectProfile(ctx context.Context, key, value string, withPackage, lock bool) (profileRow, error) {
	q := "SELECT " + profileColumns
	if withPackage {
		q += ", package"
	}
	q += " FROM profiles WHERE " + key + " = ?"
	if lock && tx.db.backend == BackendPostgres {
		q += " FOR UPDATE"
	}
	r, err := scanProfile(tx.conn().QueryRowContext(ctx, tx.db.rebind(q), value), withPackage)
	return r, tx.translateSQL(err)
}

// updateProfile writes cols (column → value) to the profile iccid if its version is still
// version, and reports how many rows it changed (0 or 1).
func (tx *Tx) updateProfile(ctx context.Context, iccid string, version int64, cols []column) (int64, error) {
	var b strings.Builder
	b.WriteString("UPDATE profiles SET ")
	args := make([]any, 0, len(cols)+2)
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
		b.WriteString(" = ?")
		args = append(args, c.value)
	}
	b.WriteString(" WHERE iccid = ? AND version = ?")
	args = append(args, iccid, version)
	res, err := tx.conn().ExecContext(ctx, tx.db.rebind(b.String()), args...)
	if err != nil {
		return 0, tx.translateSQL(err)
	}
	n, err := res.RowsAffected()
	return n, tx.translateSQL(err)
}

// column is one column of an UPDATE.
type column struct {
	name  string
	value any
}

// insert writes one row of table, args in the order of columns, and returns its id. On SQLite it
// reads LastInsertId: gorm's INSERT … RETURNING, which SQLite runs like a trigger, opened a
// statement journal (a 64 KB buffer mapped and unmapped) for every insert. pgx has no
// LastInsertId, so PostgreSQL uses RETURNING.
func (tx *Tx) insert(ctx context.Context, table, columns string, args ...any) (int64, error) {
	q := "INSERT INTO " + table + " (" + columns + ") VALUES (?" + strings.Repeat(", ?", len(args)-1) + ")"
	if tx.db.backend == BackendPostgres {
		var id int64
		err := tx.conn().QueryRowContext(ctx, tx.db.rebind(q+" RETURNING id"), args...).Scan(&id)
		return id, tx.translateSQL(err)
	}
	res, err := tx.conn().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, tx.translateSQL(err)
	}
	id, err := res.LastInsertId()
	return id, tx.translateSQL(err)
}
