package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

func TestGenerateAPIKey(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k, err := GenerateAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		body := strings.TrimPrefix(k.Plaintext, APIKeyPrefix)
		if !strings.HasPrefix(k.Plaintext, APIKeyPrefix) || len(body) != 43 || strings.Trim(body, base62) != "" {
			t.Fatalf("key %q: want wfa_ + 43 base62 characters", k.Plaintext)
		}
		sum := sha256.Sum256([]byte(k.Plaintext))
		if k.Hash != hex.EncodeToString(sum[:]) || !strings.HasPrefix(k.Plaintext, k.Prefix) || len(k.Prefix) != 12 {
			t.Fatalf("hash %s / prefix %s do not belong to the key", k.Hash, k.Prefix)
		}
		if seen[k.Plaintext] {
			t.Fatal("duplicate key")
		}
		seen[k.Plaintext] = true
	}
}

func TestEnvKeyStore(t *testing.T) {
	plain := "wfa_0123456789abcdefghijABCDEFGHIJ0123456789x"
	hashed, _ := GenerateAPIKey()
	owner := uuid.NewString()
	raw := fmt.Sprintf(`[
	  {"key": %q, "client_name": "CI Bot", "scopes": ["tools:read","tools:execute"], "rate_limit_tier": "premium", "expires_at": "2099-01-01"},
	  {"key_hash": %q, "client_name": "CI Bot", "owner_id": %q, "active": false, "description": "ignored"}
	]`, plain, hashed.Hash, owner)
	s, err := NewEnvKeyStore(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	if dump := fmt.Sprintf("%+v", s.byHash); strings.Contains(dump, plain) {
		t.Fatal("the store holds a plaintext key")
	}
	k, err := s.LookupAPIKey(t.Context(), HashAPIKey(plain))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != "env-ci-bot" || k.Tier != "premium" || !k.HasScope(ScopeToolsExecute) || k.ExpiresAt.Year() != 2099 || !k.Active || k.Owner.Valid {
		t.Fatalf("key %+v", k)
	}
	k2, err := s.LookupAPIKey(t.Context(), hashed.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID != "env-ci-bot-2" || k2.Active || k2.Owner.UUID.String() != owner || k2.Tier != "standard" ||
		!k2.HasScope(ScopeToolsRead) || k2.HasScope(ScopeToolsExecute) {
		t.Fatalf("key with defaults %+v", k2)
	}
	if _, err := s.LookupAPIKey(t.Context(), HashAPIKey("nope")); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("unknown key: %v", err)
	}

	t.Run("object form of the original design", func(t *testing.T) {
		s, err := NewEnvKeyStore(`{"dev-key-1": {"client_name": "dev", "scopes": ["health:check"], "active": true, "expires_at": null}}`, false)
		if err != nil {
			t.Fatal(err)
		}
		if k, err := s.LookupAPIKey(t.Context(), HashAPIKey("dev-key-1")); err != nil || !k.HasScope(ScopeHealthCheck) || !k.ExpiresAt.IsZero() {
			t.Fatalf("key %+v, err %v", k, err)
		}
	})

	bad := []struct {
		name, raw  string
		production bool
		want       string
	}{
		{"not JSON", `keys`, false, "JSON object or list"},
		{"unknown scope", `{"k": {"client_name": "x", "scopes": ["admin"]}}`, false, "unknown scope"},
		{"key and key_hash", `[{"key": "a", "key_hash": "b"}]`, false, "not both"},
		{"bad hash", `[{"key_hash": "abc"}]`, false, "64 hex"},
		{"short key in production", `{"tiny1": {"client_name": "x"}}`, true, "shorter than 32"},
		{"duplicate", `[{"key": "same"}, {"key": "same"}]`, false, "twice"},
		{"bad expiry", `{"k": {"expires_at": "soon"}}`, false, "expires_at"},
	}
	for _, tt := range bad {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			_, err := NewEnvKeyStore(tt.raw, tt.production)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "tiny1") {
				t.Fatal("the error quotes the key")
			}
		})
	}
}

// keyFixture is a store with one key of each state and their plaintexts.
type keyFixture struct {
	store                               *MemoryKeyStore
	reader, executor, disabled, expired string
}

func newKeyFixture(t *testing.T) keyFixture {
	t.Helper()
	f := keyFixture{store: NewMemoryKeyStore()}
	add := func(dst *string, k APIKey) {
		n, err := GenerateAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		*dst = n.Plaintext
		k.Prefix = n.Prefix
		f.store.Put(n.Hash, k)
	}
	add(&f.reader, APIKey{ID: "k-reader", ClientName: "reader", Scopes: []string{ScopeToolsRead}, Tier: "standard", Active: true})
	add(&f.executor, APIKey{ID: "k-exec", ClientName: "executor", Scopes: []string{ScopeToolsRead, ScopeToolsExecute}, Tier: "premium", Active: true})
	add(&f.disabled, APIKey{ID: "k-off", ClientName: "gone", Scopes: []string{ScopeToolsRead}, Active: false})
	add(&f.expired, APIKey{ID: "k-old", ClientName: "old", Scopes: []string{ScopeToolsRead}, Active: true, ExpiresAt: time.Now().Add(-time.Minute)})
	return f
}

func TestAPIKeyMiddleware(t *testing.T) {
	fx := newKeyFixture(t)
	e, logs, log := testEngine(t)
	a := NewAPIKeyAuth(fx.store, APIKeyOptions{Required: true, AllowQueryKey: true, CacheTTL: 30 * time.Second, Logger: log})
	noQuery := NewAPIKeyAuth(fx.store, APIKeyOptions{Required: true, Logger: log})
	ok := func(c *gin.Context) {
		k, _ := APIKeyFrom(c)
		c.String(http.StatusOK, k.ID)
	}
	e.GET("/api/mcp/tools", a.Middleware(), a.RequireScope(ScopeToolsRead), ok)
	e.POST("/api/mcp/invoke", a.Middleware(), a.RequireScope(ScopeToolsExecute), ok)
	e.GET("/strict/tools", noQuery.Middleware(), ok)

	tests := []struct {
		name    string
		method  string
		target  string
		header  map[string]string
		status  int
		code    string
		wantKey string
	}{
		{"X-API-Key", "GET", "/api/mcp/tools", map[string]string{"X-API-Key": fx.reader}, 200, "", "k-reader"},
		{"Authorization Bearer", "GET", "/api/mcp/tools", map[string]string{"Authorization": "Bearer " + fx.reader}, 200, "", "k-reader"},
		{"query api_key when allowed", "GET", "/api/mcp/tools?api_key=" + fx.reader, nil, 200, "", "k-reader"},
		{"X-API-Key wins over the query", "GET", "/api/mcp/tools?api_key=bogus", map[string]string{"X-API-Key": fx.executor}, 200, "", "k-exec"},
		{"query api_key when disabled", "GET", "/strict/tools?api_key=" + fx.reader, nil, 401, "missing_api_key", ""},
		{"no key", "GET", "/api/mcp/tools", nil, 401, "missing_api_key", ""},
		{"unknown key", "GET", "/api/mcp/tools", map[string]string{"X-API-Key": "wfa_notarealkeyatallnotarealkeyatallnotareal"}, 401, "invalid_api_key", ""},
		{"oversized key", "GET", "/api/mcp/tools", map[string]string{"X-API-Key": strings.Repeat("k", 300)}, 401, "invalid_api_key", ""},
		{"disabled key", "GET", "/api/mcp/tools", map[string]string{"X-API-Key": fx.disabled}, 401, "client_disabled", ""},
		{"expired key", "GET", "/api/mcp/tools", map[string]string{"X-API-Key": fx.expired}, 401, "key_expired", ""},
		{"wrong scope", "POST", "/api/mcp/invoke", map[string]string{"X-API-Key": fx.reader}, 403, "insufficient_scope", ""},
		{"right scope", "POST", "/api/mcp/invoke", map[string]string{"X-API-Key": fx.executor}, 200, "", "k-exec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			w, body := do(e, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				if w.Body.String() != tt.wantKey {
					t.Fatalf("handler saw key %q, want %q", w.Body, tt.wantKey)
				}
				return
			}
			if body.Error != tt.code {
				t.Fatalf("error %q, want %q", body.Error, tt.code)
			}
			if tt.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer realm=") {
				t.Fatalf("401 without WWW-Authenticate")
			}
		})
	}

	// Every request above was logged (access log, refusals, query warning):
	// no line may contain a key, nor a large piece of one.
	out := logs.String()
	if !strings.Contains(out, "api key refused") || !strings.Contains(out, `"path":"/api/mcp/tools?api_key=[REDACTED]"`) {
		t.Fatalf("expected refusal and access log lines, got:\n%s", out)
	}
	for _, plain := range []string{fx.reader, fx.executor, fx.disabled, fx.expired} {
		if strings.Contains(out, plain) || strings.Contains(out, plain[12:30]) {
			t.Fatalf("a plaintext key reached the log:\n%s", out)
		}
	}
}

func TestAPIKeyNotRequired(t *testing.T) {
	fx := newKeyFixture(t)
	e, _, log := testEngine(t)
	a := NewAPIKeyAuth(fx.store, APIKeyOptions{Required: false, Logger: log})
	e.GET("/t", a.Middleware(), a.RequireScope(ScopeToolsExecute), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	tests := []struct {
		name   string
		key    string
		status int
	}{
		{"no key passes", "", 204},
		{"a bad key is still refused", "nope", 401},
		{"a good key is still scope-checked", fx.reader, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/t", nil)
			if tt.key != "" {
				req.Header.Set("X-API-Key", tt.key)
			}
			if w, _ := do(e, req); w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
		})
	}
}

// countingStore counts lookups and can fail.
type countingStore struct {
	*MemoryKeyStore
	lookups int
	err     error
}

func (s *countingStore) LookupAPIKey(ctx context.Context, hash string) (*APIKey, error) {
	s.lookups++
	if s.err != nil {
		return nil, s.err
	}
	return s.MemoryKeyStore.LookupAPIKey(ctx, hash)
}

func TestAPIKeyCache(t *testing.T) {
	plain, _ := GenerateAPIKey()
	store := &countingStore{MemoryKeyStore: NewMemoryKeyStore()}
	store.Put(plain.Hash, APIKey{ID: "k1", Active: true, Scopes: []string{ScopeToolsRead}})
	a := NewAPIKeyAuth(store, APIKeyOptions{Required: true, CacheTTL: time.Minute}) // capped to 30s
	now := time.Now()
	a.cache.now = func() time.Time { return now }

	for range 5 {
		if _, err := a.Authenticate(t.Context(), plain.Plaintext); err != nil {
			t.Fatal(err)
		}
	}
	if store.lookups != 1 {
		t.Fatalf("%d store lookups for 5 uses, want 1", store.lookups)
	}

	t.Run("revocation visible within 30s", func(t *testing.T) {
		store.Put(plain.Hash, APIKey{ID: "k1", Active: false})
		now = now.Add(29 * time.Second)
		if _, err := a.Authenticate(t.Context(), plain.Plaintext); err != nil {
			t.Fatalf("still cached at 29s: %v", err)
		}
		now = now.Add(2 * time.Second)
		if _, err := a.Authenticate(t.Context(), plain.Plaintext); !errors.Is(err, ErrClientDisabled) {
			t.Fatalf("at 31s: %v, want client_disabled", err)
		}
	})

	t.Run("random keys do not grow the cache", func(t *testing.T) {
		before := a.cache.len()
		for range 1000 {
			k, _ := GenerateAPIKey()
			if _, err := a.Authenticate(t.Context(), k.Plaintext); !errors.Is(err, ErrInvalidAPIKey) {
				t.Fatal(err)
			}
		}
		if a.cache.len() != before {
			t.Fatalf("cache grew from %d to %d", before, a.cache.len())
		}
	})

	t.Run("bounded even for real keys", func(t *testing.T) {
		c := newKeyCache(time.Minute, 3)
		for i := range 10 {
			c.put(fmt.Sprint(i), APIKey{})
		}
		if c.len() != 3 {
			t.Fatalf("len %d, want 3", c.len())
		}
		if _, ok := c.get("9"); !ok {
			t.Fatal("most recent entry evicted")
		}
		if _, ok := c.get("0"); ok {
			t.Fatal("oldest entry kept")
		}
	})

	t.Run("store down", func(t *testing.T) {
		store.err = errors.New("connection refused")
		k, _ := GenerateAPIKey()
		_, err := a.Authenticate(t.Context(), k.Plaintext)
		if !errors.Is(err, ErrKeyStoreUnavailable) || AppError(err).Kind.HTTPStatus() != http.StatusServiceUnavailable {
			t.Fatalf("error %v, want a 503", err)
		}
	})
}

func TestAPIKeyConfigValidate(t *testing.T) {
	ok := APIKeyConfig{Required: true, CacheTTL: 30 * time.Second, SignatureWindow: 5 * time.Minute}
	with := func(fn func(*APIKeyConfig)) APIKeyConfig { c := ok; fn(&c); return c }
	tests := []struct {
		name       string
		cfg        APIKeyConfig
		production bool
		want       string
	}{
		{"defaults", ok, true, ""},
		{"keys optional in production", with(func(c *APIKeyConfig) { c.Required = false }), true, "MCP_API_KEY_REQUIRED"},
		{"cache beyond 30s", with(func(c *APIKeyConfig) { c.CacheTTL = time.Minute }), false, "MCP_API_KEY_CACHE_TTL"},
		{"signatures without secret", with(func(c *APIKeyConfig) { c.SignatureRequired = true }), false, "API_SECRET_KEY"},
		{"bad query flag", with(func(c *APIKeyConfig) { c.AllowQueryKey = "maybe" }), false, "MCP_ALLOW_QUERY_API_KEY"},
		{"bad keys", with(func(c *APIKeyConfig) { c.Keys = "[" }), false, "MCP_API_KEYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate(tt.production)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
	if ok.QueryKeyAllowed(true) || !ok.QueryKeyAllowed(false) || !with(func(c *APIKeyConfig) { c.AllowQueryKey = "true" }).QueryKeyAllowed(true) {
		t.Fatal("?api_key= must default off in production only, and be switchable on")
	}
}
