package auth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// pemOf is the PEM of a public key: what an attacker has, and what an
// HS256 "signature" made with it would use as secret in an alg-confusion
// attack.
func pemOf(t *testing.T, pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// mutate applies fn to the claims of goodClaims.
func mutate(iss string, fn func(jwt.MapClaims)) jwt.MapClaims {
	c := goodClaims(iss)
	fn(c)
	return c
}

// reencodePayload swaps a signed token's payload for another, keeping the
// header and signature.
func reencodePayload(t *testing.T, tok string, fn func(map[string]any)) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	nb, _ := json.Marshal(m)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(nb) + "." + parts[2]
}

func TestVerifyRefusesCraftedTokens(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA, ecA)
	v := newTestVerifier(t, f)
	iss := f.URL + "/auth/v1"
	good := func(t *testing.T) string { return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, goodClaims(iss)) }

	tests := []struct {
		name     string
		token    func(t *testing.T) string
		want     error // the sentinel that decides the response code
		cause    error // the precise reason, when there is one to check
		wantCode string
	}{
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"alg none with an empty signature but a kid", func(t *testing.T) string {
			return segment(`{"alg":"none","typ":"JWT","kid":"rsa-a"}`) + "." + strings.Split(good(t), ".")[1] + "."
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"HS256 signed with the RSA public key (alg confusion)", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pemOf(t, rsaA.public()), rsaA.kid, goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"HS256 signed with the EC public key (alg confusion)", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pemOf(t, ecA.public()), ecA.kid, goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"HS384 is not configured", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS384, []byte(testSecret), "", goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"RS512 is not configured", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS512, rsaA.priv, rsaA.kid, goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"PS256 is not configured", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodPS256, rsaA.priv, rsaA.kid, goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"HS256 with the wrong secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-sufficient-length-000"), "", goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"expired", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))
		}, ErrTokenExpired, jwt.ErrTokenExpired, "token_expired"},
		{"expired beyond the leeway", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-15 * time.Second).Unix() }))
		}, ErrTokenExpired, jwt.ErrTokenExpired, "token_expired"},
		{"expired and for another audience is invalid, not expired", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) {
				c["exp"], c["aud"] = time.Now().Add(-time.Hour).Unix(), "other"
			}))
		}, ErrInvalidToken, jwt.ErrTokenInvalidAudience, "invalid_token"},
		{"no exp", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { delete(c, "exp") }))
		}, ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing, "invalid_token"},
		{"exp is a string", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))
		}, ErrInvalidToken, jwt.ErrTokenMalformed, "invalid_token"},
		{"nbf in the future", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }))
		}, ErrInvalidToken, jwt.ErrTokenNotValidYet, "invalid_token"},
		{"iat in the future", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }))
		}, ErrInvalidToken, jwt.ErrTokenUsedBeforeIssued, "invalid_token"},
		{"wrong aud", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["aud"] = "anon" }))
		}, ErrInvalidToken, jwt.ErrTokenInvalidAudience, "invalid_token"},
		{"missing aud", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { delete(c, "aud") }))
		}, ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing, "invalid_token"},
		{"wrong iss", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["iss"] = "https://evil.supabase.co/auth/v1" }))
		}, ErrInvalidToken, jwt.ErrTokenInvalidIssuer, "invalid_token"},
		{"missing iss", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { delete(c, "iss") }))
		}, ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing, "invalid_token"},
		{"sub missing", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { delete(c, "sub") }))
		}, ErrInvalidToken, ErrSubjectNotUUID, "invalid_token"},
		{"sub not a UUID", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["sub"] = "user-42" }))
		}, ErrInvalidToken, ErrSubjectNotUUID, "invalid_token"},
		{"sub a UUID without hyphens", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["sub"] = strings.ReplaceAll(uuid.NewString(), "-", "") }))
		}, ErrInvalidToken, ErrSubjectNotUUID, "invalid_token"},
		{"sub the nil UUID", func(t *testing.T) string {
			return sign(t, rsaA.alg, rsaA.priv, rsaA.kid, mutate(iss, func(c jwt.MapClaims) { c["sub"] = uuid.Nil.String() }))
		}, ErrInvalidToken, ErrSubjectNotUUID, "invalid_token"},
		{"anon key (role anon, no sub, no aud)", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", jwt.MapClaims{
				"iss": "supabase", "ref": "abc", "role": "anon", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		}, ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing, "invalid_token"},
		{"tampered payload (sub swapped after signing)", func(t *testing.T) string {
			return reencodePayload(t, good(t), func(m map[string]any) { m["sub"] = uuid.NewString() })
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"tampered payload (role escalated)", func(t *testing.T) string {
			return reencodePayload(t, good(t), func(m map[string]any) { m["role"] = "service_role" })
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"tampered header (kid swapped to another key)", func(t *testing.T) string {
			p := strings.Split(good(t), ".")
			return segment(`{"alg":"ES256","kid":"ec-a","typ":"JWT"}`) + "." + p[1] + "." + p[2]
		}, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"ES256 signature under the kid of an RSA key", func(t *testing.T) string {
			return sign(t, ecA.alg, ecA.priv, rsaA.kid, goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenUnverifiable, "invalid_token"},
		{"truncated signature", func(t *testing.T) string { s := good(t); return s[:len(s)-12] }, ErrInvalidToken, jwt.ErrTokenSignatureInvalid, "invalid_token"},
		{"truncated to two segments", func(t *testing.T) string {
			p := strings.Split(good(t), ".")
			return p[0] + "." + p[1]
		}, ErrInvalidToken, jwt.ErrTokenMalformed, "invalid_token"},
		{"extra segment", func(t *testing.T) string { return good(t) + ".e30" }, ErrInvalidToken, jwt.ErrTokenMalformed, "invalid_token"},
		{"unknown kid", func(t *testing.T) string {
			return sign(t, rsaB.alg, rsaB.priv, "rsa-unknown", goodClaims(iss))
		}, ErrInvalidToken, jwt.ErrTokenUnverifiable, "invalid_token"},
		{"oversized", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", mutate(iss, func(c jwt.MapClaims) {
				c["user_metadata"] = map[string]any{"pad": strings.Repeat("x", 9000)}
			}))
		}, ErrInvalidToken, ErrTokenTooLarge, "invalid_token"},
		{"header not JSON", func(t *testing.T) string {
			p := strings.Split(good(t), ".")
			return segment("not json") + "." + p[1] + "." + p[2]
		}, ErrInvalidToken, jwt.ErrTokenMalformed, "invalid_token"},
		{"payload not JSON", func(t *testing.T) string {
			p := strings.Split(good(t), ".")
			return p[0] + "." + segment("{sub: nope") + "." + p[2]
		}, ErrInvalidToken, jwt.ErrTokenMalformed, "invalid_token"},
		{"not base64", func(*testing.T) string { return "@@@.###.$$$" }, ErrInvalidToken, jwt.ErrTokenMalformed, "invalid_token"},
		{"empty", func(*testing.T) string { return "" }, ErrMissingToken, nil, "missing_token"},
	}
	if len(tests) < 20 {
		t.Fatalf("only %d crafted tokens", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := v.Verify(context.Background(), tt.token(t))
			if err == nil {
				t.Fatalf("accepted (user %v)", u.ID)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Fatalf("error %v, want cause %v", err, tt.cause)
			}
			if got := AppError(err).Code; got != tt.wantCode {
				t.Fatalf("code %q, want %q", got, tt.wantCode)
			}
		})
	}
}

// With no legacy secret, HS256 is not even an accepted algorithm, so the
// alg-confusion token fails before any key is looked at.
func TestVerifyJWKSOnlyRefusesHS256(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA)
	cfg := loadConfig(t, "SUPABASE_URL="+f.URL)
	v, err := NewVerifier(t.Context(), cfg, WithHTTPClient(f.Client()))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string][]byte{"public key PEM": pemOf(t, rsaA.public()), "empty secret": {}} {
		t.Run(name, func(t *testing.T) {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, goodClaims(f.URL+"/auth/v1"))
			tok.Header["kid"] = rsaA.kid
			s, _ := tok.SignedString(key)
			if len(key) == 0 { // golang-jwt refuses an empty key; build the token by hand
				s = segment(`{"alg":"HS256","kid":"rsa-a"}`) + "." + strings.Split(sign(t, rsaA.alg, rsaA.priv, "", goodClaims(f.URL+"/auth/v1")), ".")[1] + ".AAAA"
			}
			if _, err := v.Verify(t.Context(), s); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
				t.Fatalf("error %v, want invalid signature", err)
			}
		})
	}
}

func TestVerifyAcceptsGoodTokens(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA, ecA)
	v := newTestVerifier(t, f)
	iss := f.URL + "/auth/v1"
	tests := []struct {
		name string
		m    jwt.SigningMethod
		key  any
		kid  string
	}{
		{"HS256 legacy secret", jwt.SigningMethodHS256, []byte(testSecret), ""},
		{"HS256 legacy secret with a kid", jwt.SigningMethodHS256, []byte(testSecret), "legacy"},
		{"ES256 from the JWKS", ecA.alg, ecA.priv, ecA.kid},
		{"RS256 from the JWKS", rsaA.alg, rsaA.priv, rsaA.kid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goodClaims(iss)
			raw := sign(t, tt.m, tt.key, tt.kid, c)
			u, err := v.Verify(t.Context(), raw)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if u.ID.String() != c["sub"] || u.Email != "ada@example.com" || u.Role != "authenticated" || u.AAL != "aal1" ||
				u.SessionID != c["session_id"] || u.IsAnonymous || u.Internal {
				t.Fatalf("user %+v does not match the claims", u)
			}
			if len(u.AMR) != 1 || u.AMR[0].Method != "password" || u.AppMetadata["provider"] != "email" || u.UserMetadata["full_name"] != "Ada" {
				t.Fatalf("amr/metadata %+v %+v %+v", u.AMR, u.AppMetadata, u.UserMetadata)
			}
			if want := strings.Split(raw, ".")[1]; base64.RawURLEncoding.EncodeToString(u.RawClaims) != want {
				t.Fatal("RawClaims is not the signed payload")
			}
		})
	}
	t.Run("anonymous user with RFC 8176 amr strings", func(t *testing.T) {
		c := goodClaims(iss)
		c["is_anonymous"], c["email"], c["amr"] = true, "", []any{"anonymous"}
		u, err := v.Verify(t.Context(), sign(t, ecA.alg, ecA.priv, ecA.kid, c))
		if err != nil || !u.IsAnonymous || u.AMR[0].Method != "anonymous" {
			t.Fatalf("user %+v, err %v", u, err)
		}
	})
	t.Run("expired within the leeway", func(t *testing.T) {
		c := goodClaims(iss)
		c["exp"] = time.Now().Add(-3 * time.Second).Unix()
		if _, err := v.Verify(t.Context(), sign(t, rsaA.alg, rsaA.priv, rsaA.kid, c)); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
}

// A key rotation needs no restart: a token under a new kid triggers a JWKS
// refresh, both keys verify while both are published, and a key removed
// from the JWKS stops verifying after the next background refresh.
func TestVerifyFollowsKeyRotation(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA)
	v := newTestVerifier(t, f, "AUTH_JWKS_REFRESH_INTERVAL=100ms")
	iss := f.URL + "/auth/v1"
	tokA := sign(t, rsaA.alg, rsaA.priv, rsaA.kid, goodClaims(iss))
	tokB := sign(t, ecB.alg, ecB.priv, ecB.kid, goodClaims(iss))
	if _, err := v.Verify(t.Context(), tokA); err != nil {
		t.Fatalf("old key refused before rotation: %v", err)
	}

	f.setKeys(rsaA, ecB) // rotation starts: new key published beside the old one
	if _, err := v.Verify(t.Context(), tokB); err != nil {
		t.Fatalf("new key refused during rotation: %v", err)
	}
	if _, err := v.Verify(t.Context(), tokA); err != nil {
		t.Fatalf("old key refused during rotation: %v", err)
	}

	f.setKeys(ecB) // rotation ends: old key withdrawn
	hits := f.jwksHits.Load()
	deadline := time.Now().Add(3 * time.Second)
	for f.jwksHits.Load() < hits+2 { // two refreshes: one may have started before setKeys
		if time.Now().After(deadline) {
			t.Fatal("no background JWKS refresh within 3s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := v.Verify(t.Context(), tokA); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of the removed key: error %v, want invalid_token", err)
	}
	if _, err := v.Verify(t.Context(), tokB); err != nil {
		t.Fatalf("new key refused after rotation: %v", err)
	}
}

// Tokens with random kids must not each cost a JWKS download.
func TestVerifyUnknownKIDRefreshIsRateLimited(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA)
	v := newTestVerifier(t, f)
	before := f.jwksHits.Load()
	for i := range 50 {
		tok := sign(t, rsaB.alg, rsaB.priv, "random-"+string(rune('a'+i%26))+uuid.NewString(), goodClaims(f.URL+"/auth/v1"))
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if got := f.jwksHits.Load() - before; got > 1 {
		t.Fatalf("%d JWKS downloads for 50 unknown kids, want at most 1", got)
	}
}

func TestInternalTokens(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA)
	v := newTestVerifier(t, f)
	cfg := loadConfig(t, "JWT_SECRET_KEY="+testInternalSecret)
	it, err := NewInternalTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	owner := uuid.New()

	t.Run("accepted by the same verifier", func(t *testing.T) {
		raw, err := it.Issue(owner, "owner@example.com", "mcp-svc")
		if err != nil {
			t.Fatal(err)
		}
		u, err := v.Verify(t.Context(), raw)
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if u.ID != owner || !u.Internal || u.Caller != "mcp-svc" || u.Role != "authenticated" {
			t.Fatalf("user %+v", u)
		}
		if time.Until(u.ExpiresAt) > cfg.InternalTTL {
			t.Fatalf("expires in %s, TTL is %s", time.Until(u.ExpiresAt), cfg.InternalTTL)
		}
	})

	refused := []struct {
		name string
		cfg  []string
	}{
		{"another secret", []string{"JWT_SECRET_KEY=some-other-internal-secret-0000000000000"}},
		{"another audience", []string{"JWT_SECRET_KEY=" + testInternalSecret, "AUTH_INTERNAL_AUDIENCE=billing"}},
		{"another issuer", []string{"JWT_SECRET_KEY=" + testInternalSecret, "AUTH_INTERNAL_ISSUER=someone-else"}},
	}
	for _, tt := range refused {
		t.Run("refused when minted with "+tt.name, func(t *testing.T) {
			other, err := NewInternalTokens(loadConfig(t, tt.cfg...))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := other.Issue(owner, "", "mcp-svc")
			if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v, want invalid_token", err)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		old, _ := NewInternalTokens(cfg)
		old.now = func() time.Time { return time.Now().Add(-time.Hour) }
		raw, _ := old.Issue(owner, "", "mcp-svc")
		if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("error %v, want token_expired", err)
		}
	})

	t.Run("a Supabase-signed token posing as internal", func(t *testing.T) {
		c := goodClaims(cfg.InternalIssuer)
		c["aud"] = cfg.InternalAudience
		raw := sign(t, jwt.SigningMethodHS256, []byte(testSecret), internalKID, c)
		if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("error %v, want invalid_token", err)
		}
	})

	t.Run("refused where JWT_SECRET_KEY is not configured", func(t *testing.T) {
		noInternal, err := NewVerifier(t.Context(), loadConfig(t, "SUPABASE_JWT_SECRET="+testSecret), WithHTTPClient(f.Client()))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := it.Issue(owner, "", "mcp-svc")
		if _, err := noInternal.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("error %v, want invalid_token", err)
		}
	})
}

func TestMintDevToken(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, rsaA)
	v := newTestVerifier(t, f)
	cfg := loadConfig(t, "SUPABASE_URL="+f.URL, "SUPABASE_JWT_SECRET="+testSecret)
	sub := uuid.NewString()

	raw, err := MintDevToken(cfg, "development", sub, "dev@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := v.Verify(t.Context(), raw)
	if err != nil || u.ID.String() != sub || u.Email != "dev@example.com" {
		t.Fatalf("dev token: user %+v, err %v", u, err)
	}

	tests := []struct {
		name string
		env  string
		sub  string
		cfg  Config
		want error
	}{
		{"production", "production", sub, cfg, ErrDevTokenInProduction},
		{"sub not a UUID", "development", "bob", cfg, ErrSubjectNotUUID},
	}
	for _, tt := range tests {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			if _, err := MintDevToken(tt.cfg, tt.env, tt.sub, "", time.Hour); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("refused without a secret", func(t *testing.T) {
		if _, err := MintDevToken(Config{}, "development", sub, "", time.Hour); err == nil {
			t.Fatal("minted without SUPABASE_JWT_SECRET")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	base := Config{Audience: "authenticated", MaxTokenBytes: 8192, InternalTTL: 5 * time.Minute, Leeway: 10 * time.Second}
	with := func(fn func(*Config)) Config { c := base; fn(&c); return c }
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"minimal", base, ""},
		{"alg none listed", with(func(c *Config) { c.Algorithms = []string{"none"} }), "AUTH_JWT_ALGORITHMS"},
		{"HS256 without secret", with(func(c *Config) { c.Algorithms = []string{"HS256"} }), "SUPABASE_JWT_SECRET is empty"},
		{"RS256 without JWKS", with(func(c *Config) { c.Algorithms = []string{"RS256"} }), "SUPABASE_URL"},
		{"short secret", with(func(c *Config) { c.JWTSecret = "short" }), "SUPABASE_JWT_SECRET"},
		{"same internal secret", with(func(c *Config) { c.JWTSecret, c.InternalSecret = testSecret, testSecret }), "must differ"},
		{"remote check without URL", with(func(c *Config) { c.RemoteVerify = true }), "SUPABASE_URL"},
		{"bad URL", with(func(c *Config) { c.SupabaseURL = "ftp:/x" }), "SUPABASE_URL"},
		{"empty audience", with(func(c *Config) { c.Audience = "" }), "AUTH_JWT_AUDIENCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
