package es2plus

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Authenticator tells which operator an ES2+ request comes from. SGP.22 §2.6.6 leaves ES2+
// authentication to the deployment (mutual TLS or a token); this package offers bearer JWTs
// (JWTAuthenticator) and pinned client certificates (ClientCertAuthenticator), and Any to accept
// either.
type Authenticator interface {
	// Authenticate returns the ID of the operator r comes from. It returns ErrNoCredentials when
	// r carries no credentials of the kind it reads, and another error when they are invalid.
	Authenticate(r *http.Request) (operatorID string, err error)
}

// ErrNoCredentials reports a request without credentials of the kind an Authenticator reads.
var ErrNoCredentials = errors.New("es2plus: no credentials")

// JWTAuthenticator accepts "Authorization: Bearer <JWT>" signed by a key of the operator's JWKS.
//
// The operator is the token's iss claim when that is a configured operator ID, else its sub
// claim; the signature must verify with that operator's keys (a key's own alg, or one inferred
// from the key when it has none; never "none" and never a symmetric key). The token's header
// must name the key by its kid. exp is required, exp and nbf are checked with a clock skew, and
// aud must contain the configured audience.
type JWTAuthenticator struct {
	reg      *Registry
	audience string
	skew     time.Duration
	now      func() time.Time
}

var _ Authenticator = (*JWTAuthenticator)(nil)

// JWTOption configures a JWTAuthenticator.
type JWTOption func(*JWTAuthenticator)

// WithClockSkew sets how far exp and nbf may be off (default one minute).
func WithClockSkew(d time.Duration) JWTOption { return func(a *JWTAuthenticator) { a.skew = d } }

// WithJWTClock sets the clock tokens are checked against (default time.Now).
func WithJWTClock(now func() time.Time) JWTOption { return func(a *JWTAuthenticator) { a.now = now } }

// NewJWTAuthenticator returns an Authenticator for the bearer tokens of reg's operators, which
// must name audience (usually the SM-DP+ address) in their aud claim.
func NewJWTAuthenticator(reg *Registry, audience string, opts ...JWTOption) (*JWTAuthenticator, error) {
	if audience == "" {
		return nil, errors.New("es2plus: JWT audience is empty")
	}
	a := &JWTAuthenticator{reg: reg, audience: audience, skew: time.Minute, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// maxTokenLength bounds the bearer tokens parsed (the server's header limit is larger).
const maxTokenLength = 8 << 10

// Authenticate implements Authenticator.
func (a *JWTAuthenticator) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoCredentials
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLength {
		return "", errors.New("es2plus: bearer token empty or too long")
	}
	// The unverified claims only choose whose keys to verify with; the identity is read again
	// from the verified token.
	unverified, err := jwt.ParseInsecure([]byte(token))
	if err != nil {
		return "", fmt.Errorf("es2plus: bearer token: %w", err)
	}
	op, ok := a.operatorOf(unverified)
	if !ok {
		return "", errors.New("es2plus: bearer token: neither iss nor sub is a configured operator")
	}
	if op.JWKS == nil {
		return "", fmt.Errorf("es2plus: bearer token: operator %s has no JWKS", op.ID)
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeySet(op.JWKS, jws.WithInferAlgorithmFromKey(true)),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(a.now)),
		jwt.WithAcceptableSkew(a.skew),
		jwt.WithAudience(a.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if err != nil {
		return "", fmt.Errorf("es2plus: bearer token for %s: %w", op.ID, err)
	}
	if verified, ok := a.operatorOf(tok); !ok || verified.ID != op.ID {
		return "", errors.New("es2plus: bearer token: verified claims name another operator")
	}
	return op.ID, nil
}

func (a *JWTAuthenticator) operatorOf(tok jwt.Token) (*Operator, bool) {
	if iss, ok := tok.Issuer(); ok {
		if op, ok := a.reg.Operator(iss); ok {
			return op, true
		}
	}
	if sub, ok := tok.Subject(); ok {
		return a.reg.Operator(sub)
	}
	return nil, false
}

// ClientCertAuthenticator maps the TLS client certificate, by its SHA-256 fingerprint, to an
// operator. The ES2+ listener must ask for client certificates (tls.RequestClientCert, or
// tls.VerifyClientCertIfGiven with the operators' CAs); the TLS handshake proves possession of
// the key, and the pinned fingerprint replaces chain validation. The certificate must also be
// within its validity period.
type ClientCertAuthenticator struct {
	reg *Registry
	now func() time.Time
}

var _ Authenticator = (*ClientCertAuthenticator)(nil)

// NewClientCertAuthenticator returns an Authenticator for reg's pinned client certificates.
func NewClientCertAuthenticator(reg *Registry) *ClientCertAuthenticator {
	return &ClientCertAuthenticator{reg: reg, now: time.Now}
}

// Authenticate implements Authenticator.
func (a *ClientCertAuthenticator) Authenticate(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", ErrNoCredentials
	}
	cert := r.TLS.PeerCertificates[0]
	id, ok := a.reg.byClientCert(sha256.Sum256(cert.Raw))
	if !ok {
		return "", fmt.Errorf("es2plus: client certificate %q is not configured for any operator", cert.Subject)
	}
	if now := a.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return "", fmt.Errorf("es2plus: client certificate of %s is outside its validity period", id)
	}
	return id, nil
}

// Any accepts a request that at least one of auths authenticates. Every authenticator that finds
// credentials must accept them and name the same operator: a request with one invalid
// credential, or credentials of two operators, is refused.
func Any(auths ...Authenticator) Authenticator { return anyAuth(auths) }

type anyAuth []Authenticator

func (as anyAuth) Authenticate(r *http.Request) (string, error) {
	id := ""
	for _, a := range as {
		got, err := a.Authenticate(r)
		switch {
		case errors.Is(err, ErrNoCredentials):
			continue
		case err != nil:
			return "", err
		case id != "" && got != id:
			return "", fmt.Errorf("es2plus: credentials of two operators (%s and %s)", id, got)
		}
		id = got
	}
	if id == "" {
		return "", ErrNoCredentials
	}
	return id, nil
}

type operatorKey struct{}

// withOperator records the authenticated operator in the request context.
func withOperator(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, operatorKey{}, id)
}

// OperatorID returns the operator the request was authenticated as, or "" outside Routes.
func OperatorID(ctx context.Context) string {
	id, _ := ctx.Value(operatorKey{}).(string)
	return id
}
