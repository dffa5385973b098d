package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/config"
)

const (
	testSecret         = "legacy-hs256-secret-for-tests-0123456789"
	testInternalSecret = "internal-service-secret-for-tests-987654321"
	testAnonKey        = "anon-key-for-tests"
)

// signingKey is one asymmetric key with its kid and algorithm.
type signingKey struct {
	kid  string
	alg  jwt.SigningMethod
	priv any
}

func (k signingKey) public() any {
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		return &p.PublicKey
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	}
	panic("unknown key type")
}

// jwk renders the public half as a JWKS member.
func (k signingKey) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	switch p := k.public().(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": k.kid, "alg": k.alg.Alg(), "use": "sig",
			"n": b64(p.N.Bytes()), "e": b64(big.NewInt(int64(p.E)).Bytes())}
	case *ecdsa.PublicKey:
		b, err := p.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		return map[string]any{"kty": "EC", "kid": k.kid, "alg": k.alg.Alg(), "use": "sig", "crv": "P-256",
			"x": b64(b[1:33]), "y": b64(b[33:65])}
	}
	panic("unknown key type")
}

var (
	keysOnce sync.Once
	rsaA     signingKey
	rsaB     signingKey
	ecA      signingKey
	ecB      signingKey
)

// testKeys generates the RSA and EC keys once per test binary: RSA
// generation is the slow part of these tests.
func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func(kid string, alg jwt.SigningMethod, rsaKey bool) signingKey {
			var priv any
			var err error
			if rsaKey {
				priv, err = rsa.GenerateKey(rand.Reader, 2048)
			} else {
				priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			}
			if err != nil {
				panic(err)
			}
			return signingKey{kid: kid, alg: alg, priv: priv}
		}
		rsaA = gen("rsa-a", jwt.SigningMethodRS256, true)
		rsaB = gen("rsa-b", jwt.SigningMethodRS256, true)
		ecA = gen("ec-a", jwt.SigningMethodES256, false)
		ecB = gen("ec-b", jwt.SigningMethodES256, false)
	})
}

// fakeSupabase serves the JWKS and GoTrue's /auth/v1/user.
type fakeSupabase struct {
	*httptest.Server
	mu         sync.Mutex
	keys       []signingKey
	users      map[string]map[string]any // by session_id; nil value: revoked
	status     int                       // forced status for /user, 0: normal
	jwksHits   atomic.Int32
	userHits   atomic.Int32
	lastAPIKey atomic.Value
}

func newFakeSupabase(t testing.TB, keys ...signingKey) *fakeSupabase {
	t.Helper()
	f := &fakeSupabase{keys: keys, users: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/v1/.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		f.jwksHits.Add(1)
		f.mu.Lock()
		set := make([]map[string]any, 0, len(f.keys))
		for _, k := range f.keys {
			set = append(set, k.jwk())
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": set})
	})
	mux.HandleFunc("GET /auth/v1/user", f.user)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSupabase) setKeys(keys ...signingKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = keys
}

// user answers like GoTrue: the user object, or 403 session_not_found.
func (f *fakeSupabase) user(w http.ResponseWriter, r *http.Request) {
	f.userHits.Add(1)
	f.lastAPIKey.Store(r.Header.Get("apikey"))
	f.mu.Lock()
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	var c claims
	raw := BearerToken(r)
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		http.Error(w, `{"code":401,"error_code":"bad_jwt","msg":"invalid JWT"}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	u, ok := f.users[c.SessionID]
	f.mu.Unlock()
	if !ok || u == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":403,"error_code":"session_not_found","msg":"Session from session_id claim in JWT does not exist"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(u)
}

// goTrueUserJSON is GoTrue's user object for the tests' users.
func goTrueUserJSON(id, email string, confirmed, anonymous bool) map[string]any {
	var confirmedAt any
	if confirmed {
		confirmedAt = "2024-05-01T10:00:00.000000Z"
	}
	return map[string]any{
		"id": id, "aud": "authenticated", "role": "authenticated", "email": email,
		"email_confirmed_at": confirmedAt, "phone": "", "confirmed_at": confirmedAt,
		"last_sign_in_at": "2024-05-01T10:00:00.000000Z", "app_metadata": map[string]any{"provider": "email", "providers": []string{"email"}},
		"user_metadata": map[string]any{}, "identities": []any{}, "created_at": "2024-05-01T10:00:00Z",
		"updated_at": "2024-05-01T10:00:00Z", "is_anonymous": anonymous,
	}
}

// loadConfig reads Config the way services do, from environment pairs.
func loadConfig(t testing.TB, env ...string) Config {
	t.Helper()
	var c Config
	if err := config.Load(&c, config.WithEnviron(env), config.WithDotEnv("")); err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

// newTestVerifier builds a verifier against f with HS256 + JWKS.
func newTestVerifier(t testing.TB, f *fakeSupabase, env ...string) *Verifier {
	t.Helper()
	base := []string{"SUPABASE_URL=" + f.URL, "SUPABASE_JWT_SECRET=" + testSecret, "SUPABASE_ANON_KEY=" + testAnonKey,
		"JWT_SECRET_KEY=" + testInternalSecret}
	cfg := loadConfig(t, append(base, env...)...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := NewVerifier(ctx, cfg, WithHTTPClient(f.Client()))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// goodClaims are what GoTrue puts in an access token.
func goodClaims(iss string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": iss, "sub": uuid.NewString(), "aud": "authenticated",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"email": "ada@example.com", "phone": "", "role": "authenticated", "aal": "aal1",
		"session_id": uuid.NewString(), "is_anonymous": false,
		"amr":           []any{map[string]any{"method": "password", "timestamp": now.Unix()}},
		"app_metadata":  map[string]any{"provider": "email", "providers": []any{"email"}},
		"user_metadata": map[string]any{"full_name": "Ada"},
	}
}

// sign mints a token; kid "" leaves it out.
func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// segment base64url-encodes a raw JSON segment.
func segment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
