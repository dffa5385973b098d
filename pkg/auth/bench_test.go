package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify is the cost of verifying one token per algorithm, keys
// already fetched (the steady state), remote check off.
func BenchmarkVerify(b *testing.B) {
	testKeys(b)
	f := newFakeSupabase(b, rsaA, ecA)
	v := newTestVerifier(b, f)
	iss := f.URL + "/auth/v1"
	cases := []struct {
		name string
		m    jwt.SigningMethod
		key  any
		kid  string
	}{
		{"HS256", jwt.SigningMethodHS256, []byte(testSecret), ""},
		{"ES256", ecA.alg, ecA.priv, ecA.kid},
		{"RS256", rsaA.alg, rsaA.priv, rsaA.kid},
	}
	for _, c := range cases {
		raw := sign(b, c.m, c.key, c.kid, goodClaims(iss))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(b.Context(), raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAPIKeyAuthenticate is a cached key check (the hot path).
func BenchmarkAPIKeyAuthenticate(b *testing.B) {
	k, _ := GenerateAPIKey()
	s := NewMemoryKeyStore()
	s.Put(k.Hash, APIKey{ID: "k", Active: true})
	a := NewAPIKeyAuth(s, APIKeyOptions{Required: true, CacheTTL: 30e9})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(b.Context(), k.Plaintext); err != nil {
			b.Fatal(err)
		}
	}
}
