package es2plus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/smdpp/smdpp/store"
)

// Operator is one ES2+ function requester as the deployment configures it: who it is, where its
// HandleDownloadProgressInfo callbacks go, and the credentials it authenticates with.
type Operator struct {
	// ID is the operator's functionRequesterIdentifier (SGP.22 §6.5.1.3) and its store ID.
	ID   string
	Name string
	// CallbackURL is the base URL of the operator's ES2+ endpoint (see store.Operator).
	CallbackURL string
	// JWKS holds the public keys that sign the operator's bearer tokens; nil for none.
	JWKS jwk.Set
	// ClientCertSHA256 are the SHA-256 fingerprints of the operator's TLS client certificates.
	ClientCertSHA256 [][sha256.Size]byte
}

// Registry is the set of configured operators, read once from a JSON file (LoadRegistry) and
// then read-only, so it is safe for concurrent use.
//
// The file holds one object with an "operators" array; unknown keys are refused:
//
//	{"operators": [{
//	    "id": "mno1",                                 // functionRequesterIdentifier, mandatory
//	    "name": "MNO One",
//	    "callbackUrl": "https://bss.mno1.example",    // http(s) base URL, optional
//	    "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "…", "y": "…"}]},
//	    "clientCertSHA256": ["3f:a1:…"]               // 64 hex digits, ':' allowed
//	}]}
//
// Each operator needs a JWKS, a client certificate fingerprint, or both. JWKS keys must be
// public RSA (2048 bits at least), EC or OKP keys, each with a "kid" unique within the set: a
// symmetric ("oct") key would put a shared secret in the file and is refused.
type Registry struct {
	ops   map[string]*Operator
	certs map[[sha256.Size]byte]string
}

// registryFile is the JSON shape of the operators file.
type registryFile struct {
	Operators []operatorFile `json:"operators"`
}

type operatorFile struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	CallbackURL      string          `json:"callbackUrl"`
	JWKS             json.RawMessage `json:"jwks"`
	ClientCertSHA256 []string        `json:"clientCertSHA256"`
}

// LoadRegistry reads and checks the operators file at path (format: see Registry).
func LoadRegistry(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("es2plus: operators file: %w", err)
	}
	r, err := ParseRegistry(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return r, nil
}

// ParseRegistry reads and checks an operators file's content (format: see Registry).
func ParseRegistry(data []byte) (*Registry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f registryFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("es2plus: operators file: %w", err)
	}
	if dec.More() {
		return nil, errors.New("es2plus: operators file: trailing data after the JSON object")
	}
	r := &Registry{ops: map[string]*Operator{}, certs: map[[sha256.Size]byte]string{}}
	for i, of := range f.Operators {
		op, err := of.operator()
		if err != nil {
			return nil, fmt.Errorf("es2plus: operators file: operator %d (%q): %w", i, of.ID, err)
		}
		if _, dup := r.ops[op.ID]; dup {
			return nil, fmt.Errorf("es2plus: operators file: operator %q appears twice", op.ID)
		}
		for _, fp := range op.ClientCertSHA256 {
			if other, dup := r.certs[fp]; dup {
				return nil, fmt.Errorf("es2plus: operators file: client certificate %x is given for both %q and %q", fp, other, op.ID)
			}
			r.certs[fp] = op.ID
		}
		r.ops[op.ID] = op
	}
	return r, nil
}

func (of operatorFile) operator() (*Operator, error) {
	if err := checkIdentifier(of.ID); err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	op := &Operator{ID: of.ID, Name: of.Name, CallbackURL: of.CallbackURL}
	if of.CallbackURL != "" {
		u, err := url.Parse(of.CallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("callbackUrl %q is not an http(s) URL with a host and no user information", of.CallbackURL)
		}
	}
	if len(of.JWKS) > 0 && string(of.JWKS) != "null" {
		set, err := parseJWKS(of.JWKS)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
		op.JWKS = set
	}
	for _, s := range of.ClientCertSHA256 {
		fp, err := parseFingerprint(s)
		if err != nil {
			return nil, fmt.Errorf("clientCertSHA256: %w", err)
		}
		op.ClientCertSHA256 = append(op.ClientCertSHA256, fp)
	}
	if op.JWKS == nil && len(op.ClientCertSHA256) == 0 {
		return nil, errors.New("no credentials: give jwks, clientCertSHA256 or both")
	}
	return op, nil
}

// parseJWKS accepts a JWK set of public asymmetric keys, each with a unique kid.
func parseJWKS(raw json.RawMessage) (jwk.Set, error) {
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, err
	}
	if set.Len() == 0 {
		return nil, errors.New("no keys")
	}
	kids := map[string]bool{}
	for i := range set.Len() {
		key, _ := set.Key(i)
		kid, ok := key.KeyID()
		if !ok || kid == "" {
			return nil, fmt.Errorf("key %d has no kid", i)
		}
		if kids[kid] {
			return nil, fmt.Errorf("kid %q appears twice", kid)
		}
		kids[kid] = true
		switch key.KeyType() {
		case jwa.RSA(), jwa.EC(), jwa.OKP():
		default:
			return nil, fmt.Errorf("key %q: key type %s is not allowed (public RSA, EC or OKP keys only)", kid, key.KeyType())
		}
		if private, err := jwk.IsPrivateKey(key); err != nil || private {
			return nil, fmt.Errorf("key %q is a private key: give only the public part", kid)
		}
		if key.KeyType() == jwa.RSA() {
			if rk, ok := key.(jwk.RSAPublicKey); ok {
				if n, ok := rk.N(); !ok || len(n)*8 < 2048 {
					return nil, fmt.Errorf("key %q: RSA keys must have at least 2048 bits", kid)
				}
			}
		}
	}
	return set, nil
}

// parseFingerprint reads 64 hex digits, optionally separated by ':' (as openssl prints them).
func parseFingerprint(s string) ([sha256.Size]byte, error) {
	var fp [sha256.Size]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(b) != sha256.Size {
		return fp, fmt.Errorf("%q is not a SHA-256 fingerprint (64 hex digits)", s)
	}
	copy(fp[:], b)
	return fp, nil
}

// checkIdentifier accepts the identifiers the ES2+ header carries: 1 to 256 characters, none of
// them a control character.
func checkIdentifier(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxIdentifier {
		return fmt.Errorf("longer than %d bytes", maxIdentifier)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return errors.New("contains a control character")
	}
	return nil
}

// maxIdentifier bounds functionRequesterIdentifier and functionCallIdentifier.
const maxIdentifier = 256

// Operator returns the operator with the given ID.
func (r *Registry) Operator(id string) (*Operator, bool) {
	op, ok := r.ops[id]
	return op, ok
}

// Operators returns every operator, ordered by ID.
func (r *Registry) Operators() []*Operator {
	out := make([]*Operator, 0, len(r.ops))
	for _, op := range r.ops {
		out = append(out, op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// byClientCert returns the ID of the operator a client certificate fingerprint belongs to.
func (r *Registry) byClientCert(fp [sha256.Size]byte) (string, bool) {
	id, ok := r.certs[fp]
	return id, ok
}

// Sync makes the store's operators agree with the registry: it creates the operators the store
// lacks and updates the name and callback URL of the others, keeping their re-download limit.
// Operators in the store but not in the registry are left alone (their profiles refer to them).
func (r *Registry) Sync(ctx context.Context, db *store.DB) error {
	return db.InTx(ctx, func(tx *store.Tx) error {
		for _, op := range r.Operators() {
			cur, err := tx.GetOperator(ctx, op.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				if _, err := tx.CreateOperator(ctx, store.Operator{ID: op.ID, Name: op.Name, CallbackURL: op.CallbackURL}); err != nil {
					return fmt.Errorf("es2plus: sync operator %s: %w", op.ID, err)
				}
			case err != nil:
				return fmt.Errorf("es2plus: sync operator %s: %w", op.ID, err)
			case cur.Name != op.Name || cur.CallbackURL != op.CallbackURL:
				cur.Name, cur.CallbackURL = op.Name, op.CallbackURL
				if _, err := tx.UpdateOperator(ctx, cur); err != nil {
					return fmt.Errorf("es2plus: sync operator %s: %w", op.ID, err)
				}
			}
		}
		return nil
	})
}
