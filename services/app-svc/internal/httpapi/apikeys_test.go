package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/auth/pgkeys"
	"github.com/wfagent/gateway/pkg/testkit"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	tok := e.token(user)

	r := e.do(req{method: "POST", path: "/api/app/api-keys", token: tok,
		body: `{"name": "claude desktop", "scopes": ["tools:read", "tools:execute", "tools:read"], "expires_at": "2099-01-01T00:00:00Z"}`})
	want(t, r, http.StatusCreated, "")
	var created apiKeyJSON
	r.json(t, &created)
	if !strings.HasPrefix(created.Key, auth.APIKeyPrefix) || created.Prefix != created.Key[:len(created.Prefix)] ||
		strings.Join(created.Scopes, ",") != "tools:read,tools:execute" || created.Tier != "standard" || !created.Active ||
		created.ExpiresAt == nil || created.LastUsedAt != nil {
		t.Fatalf("created %s", r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatal("the key's one showing may be cached")
	}

	r = e.do(req{method: "GET", path: "/api/app/api-keys", token: tok})
	want(t, r, http.StatusOK, "")
	if strings.Contains(string(r.body), created.Key) || strings.Contains(string(r.body), auth.HashAPIKey(created.Key)) || strings.Contains(string(r.body), `"key"`) {
		t.Fatalf("list shows the key or its hash: %s", r.body)
	}
	var list struct {
		APIKeys []apiKeyJSON `json:"api_keys"`
	}
	r.json(t, &list)
	if len(list.APIKeys) != 1 || list.APIKeys[0].ID != created.ID || list.APIKeys[0].Prefix != created.Prefix {
		t.Fatalf("list %s", r.body)
	}

	// The database holds the hash, never the key.
	var stored int
	if err := e.admin.QueryRow(context.Background(), `select count(*) from api_keys k where k::text like '%' || $1 || '%'`, created.Key[len(auth.APIKeyPrefix):]).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("key in clear in the database: %d %v", stored, err)
	}

	// mcp-svc's view: the key authenticates, as its owner, until revoked.
	keys := pgkeys.New(e.mcpPool(t), pgkeys.Options{})
	a := auth.NewAPIKeyAuth(keys, auth.APIKeyOptions{Required: true})
	k, err := a.Authenticate(context.Background(), created.Key)
	if err != nil || k.ID != created.ID.String() || k.Owner.UUID != user || !k.HasScope(auth.ScopeToolsExecute) || k.ClientName != "claude desktop" {
		t.Fatalf("authenticate: %+v %v", k, err)
	}

	want(t, e.do(req{method: "DELETE", path: "/api/app/api-keys/" + created.ID.String(), token: tok}), 204, "")
	want(t, e.do(req{method: "DELETE", path: "/api/app/api-keys/" + created.ID.String(), token: tok}), 204, "")
	e.do(req{method: "GET", path: "/api/app/api-keys", token: tok}).json(t, &list)
	if len(list.APIKeys) != 1 || list.APIKeys[0].Active {
		t.Fatalf("after revoking: %+v", list)
	}
	if _, err := auth.NewAPIKeyAuth(keys, auth.APIKeyOptions{Required: true}).Authenticate(context.Background(), created.Key); !errors.Is(err, auth.ErrClientDisabled) {
		t.Fatalf("revoked key: %v, want ErrClientDisabled", err)
	}
}

// mcpPool connects as a role like mcp-svc's: a member of anon with no
// grant on any table, so only api_key_by_hash and api_keys_touch work.
func (e *env) mcpPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	role := testkit.Unique("mcp_")
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS",
		"GRANT anon TO " + role,
	} {
		if _, err := e.admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = e.admin.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = e.admin.Exec(context.Background(), "DROP ROLE "+role)
	})
	u, _ := url.Parse(e.admin.Config().ConnString())
	u.User = url.User(role)
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, "select count(*) from api_keys"); err == nil {
		t.Fatal("the mcp role reads api_keys directly")
	}
	return pool
}

func TestPostgresKeyStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	owner := uuid.New()
	insert := func(active bool, expires *time.Time) (string, uuid.UUID) {
		t.Helper()
		k, err := auth.GenerateAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		var id uuid.UUID
		err = e.store.AsService(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `insert into api_keys (user_id, client_name, key_hash, prefix, scopes, tier, active, expires_at)
				values ($1, 'c', decode($2, 'hex'), $3, '{tools:read}', 'premium', $4, $5) returning id`, owner, k.Hash, k.Prefix, active, expires).Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		return k.Plaintext, id
	}
	past := time.Now().Add(-time.Minute)
	activeKey, activeID := insert(true, nil)
	revokedKey, _ := insert(false, nil)
	expiredKey, _ := insert(true, &past)

	clock := time.Now()
	keys := pgkeys.New(e.mcpPool(t), pgkeys.Options{TouchInterval: time.Minute, Now: func() time.Time { return clock }})
	a := auth.NewAPIKeyAuth(keys, auth.APIKeyOptions{Required: true}) // no cache: every call reaches the store

	tests := []struct {
		name    string
		key     string
		wantErr error
	}{
		{"active", activeKey, nil},
		{"revoked", revokedKey, auth.ErrClientDisabled},
		{"expired", expiredKey, auth.ErrKeyExpired},
		{"unknown", "wfa_" + strings.Repeat("x", 43), auth.ErrInvalidAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := a.Authenticate(ctx, tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (k.Tier != "premium" || k.Owner.UUID != owner || k.Prefix == "") {
				t.Fatalf("key %+v", k)
			}
		})
	}
	t.Run("a malformed hash is simply unknown", func(t *testing.T) {
		if _, err := keys.LookupAPIKey(ctx, "zz"); !errors.Is(err, auth.ErrKeyNotFound) {
			t.Fatalf("err %v", err)
		}
	})

	lastUsed := func() *time.Time {
		var at *time.Time
		if err := e.admin.QueryRow(ctx, `select last_used_at from api_keys where id = $1`, activeID).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	t.Run("last use is batched", func(t *testing.T) {
		for range 20 {
			if _, err := a.Authenticate(ctx, activeKey); err != nil {
				t.Fatal(err)
			}
		}
		if keys.Pending() != 1 {
			t.Fatalf("%d keys pending, want 1 (revoked and expired keys are not stamped)", keys.Pending())
		}
		if lastUsed() != nil {
			t.Fatal("last_used_at written per request")
		}
		if err := keys.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if at := lastUsed(); at == nil || at.Sub(clock).Abs() > time.Millisecond {
			t.Fatalf("last_used_at %v, want %v", at, clock)
		}
		var stamped int
		if err := e.admin.QueryRow(ctx, `select count(*) from api_keys where last_used_at is not null`).Scan(&stamped); err != nil || stamped != 1 {
			t.Fatalf("%d keys stamped: %v", stamped, err)
		}
	})
	t.Run("at most once per key per interval", func(t *testing.T) {
		clock = clock.Add(30 * time.Second)
		_, _ = a.Authenticate(ctx, activeKey)
		if keys.Pending() != 0 {
			t.Fatal("queued again within the interval")
		}
		clock = clock.Add(31 * time.Second)
		_, _ = a.Authenticate(ctx, activeKey)
		if keys.Pending() != 1 {
			t.Fatal("not queued after the interval")
		}
	})
	t.Run("Run flushes on stop", func(t *testing.T) {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- keys.Run(runCtx) }()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if at := lastUsed(); keys.Pending() != 0 || at == nil || at.Sub(clock).Abs() > time.Millisecond {
			t.Fatalf("after Run: pending %d, last_used_at %v, want %v", keys.Pending(), at, clock)
		}
	})
}
