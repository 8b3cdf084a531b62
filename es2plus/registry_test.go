package es2plus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/store"
)

func TestExampleRegistry(t *testing.T) {
	reg, err := LoadRegistry(filepath.Join("testdata", "operators.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	ops := reg.Operators()
	if len(ops) != 2 || ops[0].ID != "mno1" || ops[1].ID != "mno2" {
		t.Fatalf("operators %+v", ops)
	}
	if ops[0].JWKS == nil || ops[0].JWKS.Len() != 1 || len(ops[0].ClientCertSHA256) != 1 || ops[0].CallbackURL == "" {
		t.Errorf("mno1 %+v", ops[0])
	}
	if ops[1].JWKS != nil || len(ops[1].ClientCertSHA256) != 1 {
		t.Errorf("mno2 %+v", ops[1])
	}
	if id, ok := reg.byClientCert(ops[1].ClientCertSHA256[0]); !ok || id != "mno2" {
		t.Errorf("byClientCert = %q, %v", id, ok)
	}
	if _, err := LoadRegistry(filepath.Join("testdata", "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
}

func jwkJSON(t *testing.T, raw any, kid string) string {
	t.Helper()
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		k.Set(jwk.KeyIDKey, kid)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseRegistry(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaSmall, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaOK, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub := jwkJSON(t, &ec.PublicKey, "k1")
	fp := strings.Repeat("ab", 32)
	op := func(fields string) string { return `{"operators":[{` + fields + `}]}` }
	tests := []struct {
		name, data, wantErr string
	}{
		{"valid", op(`"id":"a","jwks":{"keys":[` + pub + `]},"clientCertSHA256":["` + fp + `"],"callbackUrl":"https://a.example"`), ""},
		{"valid RSA", op(`"id":"a","jwks":{"keys":[` + jwkJSON(t, &rsaOK.PublicKey, "r1") + `]}`), ""},
		{"no operators", `{"operators":[]}`, ""},
		{"not JSON", `operators`, "invalid character"},
		{"trailing data", `{"operators":[]} {}`, "trailing data"},
		{"unknown key", op(`"id":"a","clientCertSHA256":["` + fp + `"],"secret":"x"`), "unknown field"},
		{"empty id", op(`"id":"","clientCertSHA256":["` + fp + `"]`), "id: empty"},
		{"control character in id", op(`"id":"a\u0000b","clientCertSHA256":["` + fp + `"]`), "control character"},
		{"duplicate id", `{"operators":[{"id":"a","clientCertSHA256":["` + fp + `"]},{"id":"a","clientCertSHA256":["` + strings.Repeat("cd", 32) + `"]}]}`, "appears twice"},
		{"no credentials", op(`"id":"a"`), "no credentials"},
		{"callback not a URL", op(`"id":"a","clientCertSHA256":["` + fp + `"],"callbackUrl":"bss.example"`), "callbackUrl"},
		{"callback with user", op(`"id":"a","clientCertSHA256":["` + fp + `"],"callbackUrl":"https://u:p@bss.example"`), "callbackUrl"},
		{"short fingerprint", op(`"id":"a","clientCertSHA256":["abcd"]`), "fingerprint"},
		{"fingerprint not hex", op(`"id":"a","clientCertSHA256":["` + strings.Repeat("zz", 32) + `"]`), "fingerprint"},
		{"fingerprint of two operators", `{"operators":[{"id":"a","clientCertSHA256":["` + fp + `"]},{"id":"b","clientCertSHA256":["` + strings.ToUpper(fp) + `"]}]}`, "both"},
		{"JWKS not a set", op(`"id":"a","jwks":{"keys":"x"}`), "jwks"},
		{"empty JWKS", op(`"id":"a","jwks":{"keys":[]}`), "no keys"},
		{"key without kid", op(`"id":"a","jwks":{"keys":[` + jwkJSON(t, &ec.PublicKey, "") + `]}`), "no kid"},
		{"duplicate kid", op(`"id":"a","jwks":{"keys":[` + pub + `,` + pub + `]}`), "kid \"k1\" appears twice"},
		{"symmetric key", op(`"id":"a","jwks":{"keys":[` + jwkJSON(t, []byte("0123456789abcdef0123456789abcdef"), "s1") + `]}`), "not allowed"},
		{"private key", op(`"id":"a","jwks":{"keys":[` + jwkJSON(t, ec, "p1") + `]}`), "private key"},
		{"small RSA key", op(`"id":"a","jwks":{"keys":[{"kty":"RSA","kid":"r1","e":"AQAB","n":"` +
			base64.RawURLEncoding.EncodeToString(rsaSmall.N.Bytes()) + `"}]}`), "2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRegistry([]byte(tt.data))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseRegistry: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ParseRegistry error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegistrySync(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, err := store.Open(ctx, b.NewDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.CreateOperator(ctx, store.Operator{ID: "mno1", Name: "old", RedownloadLimit: 7}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateOperator(ctx, store.Operator{ID: "legacy", Name: "kept"}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join("testdata", "operators.example.json"))
		if err != nil {
			t.Fatal(err)
		}
		reg, err := ParseRegistry(data)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a second Sync changes nothing
			if err := reg.Sync(ctx, db); err != nil {
				t.Fatal(err)
			}
		}
		ops, err := db.ListOperators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.Operator{}
		for _, o := range ops {
			got[o.ID] = o
		}
		if o := got["mno1"]; o.Name != "Example MNO One (bearer tokens and mutual TLS)" || o.CallbackURL != "https://bss.mno1.example/es2plus" || o.RedownloadLimit != 7 {
			t.Errorf("mno1 %+v", o)
		}
		if o := got["mno2"]; o.CallbackURL != "" || o.RedownloadLimit != store.DefaultRedownloadLimit {
			t.Errorf("mno2 %+v", o)
		}
		if o := got["legacy"]; o.Name != "kept" {
			t.Errorf("legacy %+v", o)
		}
	})
}
