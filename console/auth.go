package console

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// AdminUser is the user name the administrator signs in with.
const AdminUser = "admin"

// Principal is who a console session acts for: one operator, or the administrator.
type Principal struct {
	// OperatorID is the operator (the ES2+ functionRequesterIdentifier, store.Operator.ID); empty
	// for the administrator.
	OperatorID string
	// Admin is set for the administrator, who sees every operator's data.
	Admin bool
}

// User is the name the principal signs in with.
func (p Principal) User() string {
	if p.Admin {
		return AdminUser
	}
	return p.OperatorID
}

// scope is the operator ID every query of the principal is limited to; "" (everything) for the
// administrator.
func (p Principal) scope() string {
	if p.Admin {
		return ""
	}
	return p.OperatorID
}

// ErrBadCredentials is the error of an Authenticator for an unknown user or a wrong password; the
// console never says which.
var ErrBadCredentials = errors.New("console: wrong user name or password")

// Authenticator checks the user name and password of a sign-in. It returns ErrBadCredentials
// (possibly wrapped) when they are wrong; any other error is a failure of the check itself.
type Authenticator interface {
	Authenticate(ctx context.Context, user, password string) (Principal, error)
}

// PasswordAuthenticator checks console passwords against hashes: one per operator, and one for
// the administrator (user name AdminUser).
type PasswordAuthenticator struct {
	operators map[string]passwordHash
	admin     passwordHash // nil: no administrator sign-in
}

var _ Authenticator = (*PasswordAuthenticator)(nil)

// NewPasswordAuthenticator returns an Authenticator for the given password hashes: operators maps
// an operator ID to the hash of its console password, adminHash is the hash of the
// administrator's password ("" for no administrator). A hash is a bcrypt hash ("$2a$…", "$2b$…",
// "$2y$…", as HashPassword and htpasswd -B make) or an argon2id hash in the PHC string format
// ("$argon2id$v=19$m=65536,t=3,p=4$salt$hash", base64 without padding). A malformed hash, an
// empty operator ID or an operator called AdminUser is an error.
func NewPasswordAuthenticator(operators map[string]string, adminHash string) (*PasswordAuthenticator, error) {
	a := &PasswordAuthenticator{operators: make(map[string]passwordHash, len(operators))}
	for id, h := range operators {
		if id == "" || id == AdminUser {
			return nil, fmt.Errorf("console: operator ID %q cannot sign in to the console", id)
		}
		ph, err := parseHash(h)
		if err != nil {
			return nil, fmt.Errorf("console: password hash of operator %s: %w", id, err)
		}
		a.operators[id] = ph
	}
	if adminHash != "" {
		ph, err := parseHash(adminHash)
		if err != nil {
			return nil, fmt.Errorf("console: administrator password hash: %w", err)
		}
		a.admin = ph
	}
	return a, nil
}

// dummyHash is checked for unknown users, so that the time a refusal takes does not tell whether
// the user exists. Its cost is bcrypt's default, that of HashPassword.
var dummyHash = func() passwordHash {
	h, err := bcrypt.GenerateFromPassword([]byte("console-dummy-password"), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return bcryptHash(h)
}()

// Authenticate implements Authenticator.
func (a *PasswordAuthenticator) Authenticate(_ context.Context, user, password string) (Principal, error) {
	var (
		h passwordHash
		p Principal
	)
	if user == AdminUser {
		h, p = a.admin, Principal{Admin: true}
	} else if user != "" {
		h, p = a.operators[user], Principal{OperatorID: user}
	}
	if h == nil {
		dummyHash.verify(password)
		return Principal{}, ErrBadCredentials
	}
	if !h.verify(password) {
		return Principal{}, ErrBadCredentials
	}
	return p, nil
}

// HashPassword returns the bcrypt hash (default cost) of a console password, for the
// configuration NewPasswordAuthenticator reads. Passwords longer than 72 bytes are refused,
// since bcrypt would ignore the rest.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("console: empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("console: hashing the password: %w", err)
	}
	return string(h), nil
}

// passwordHash is one stored password hash.
type passwordHash interface {
	verify(password string) bool
}

func parseHash(s string) (passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("bcrypt hash: %w", err)
		}
		return bcryptHash(s), nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	}
	return nil, errors.New("neither a bcrypt ($2a$, $2b$, $2y$) nor an argon2id ($argon2id$) hash")
}

type bcryptHash []byte

func (h bcryptHash) verify(password string) bool {
	return bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
}

// argon2idHash is an argon2id hash in the PHC string format (RFC 9106 parameters).
type argon2idHash struct {
	memory     uint32 // KiB
	time       uint32
	threads    uint8
	salt, hash []byte
}

func parseArgon2id(s string) (argon2idHash, error) {
	var h argon2idHash
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[2] != "v=19" {
		return h, errors.New(`argon2id hash: want "$argon2id$v=19$m=…,t=…,p=…$salt$hash"`)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &threads); err != nil {
		return h, fmt.Errorf("argon2id parameters %q: %w", parts[3], err)
	}
	if h.memory < 8 || h.time < 1 || threads < 1 || threads > 255 || h.memory > 4<<20 {
		return h, fmt.Errorf("argon2id parameters %q out of range", parts[3])
	}
	h.threads = uint8(threads)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errors.New("argon2id salt: want at least 8 bytes, base64 without padding")
	}
	if h.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.hash) < 16 {
		return h, errors.New("argon2id hash: want at least 16 bytes, base64 without padding")
	}
	return h, nil
}

func (h argon2idHash) verify(password string) bool {
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.hash)))
	return subtle.ConstantTimeCompare(got, h.hash) == 1
}
