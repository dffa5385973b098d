package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/testkit"
)

const (
	jwtSecret = "app-svc-main-test-jwt-secret-0123456789abc"
	encKey    = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects output while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func baseEnv(dsn string) []string {
	return []string{"DATABASE_URL=" + dsn, "SUPABASE_JWT_SECRET=" + jwtSecret, "ENCRYPTION_KEY=" + encKey,
		"RATE_LIMIT_STORAGE=memory", "LOG_FORMAT=json",
		// No NATS: these tests leave the shared server's default stream alone
		// (executions_test.go runs serve against NATS on names of its own).
		"NATS_URL=nats://127.0.0.1:1"}
}

func runCmd(t *testing.T, environ []string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, environ, &out, &errOut)
	return out.String(), err
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	environ := baseEnv(testkit.NewDatabase(t))
	out, err := runCmd(t, environ, "migrate")
	if err != nil || !strings.Contains(out, "applied 00001") || !strings.Contains(out, "applied 00002") {
		t.Fatalf("first migrate: %v\n%s", err, out)
	}
	out, err = runCmd(t, environ, "migrate")
	if err != nil || strings.TrimSpace(out) != "migrations: up to date" {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}
}

func TestAPIKeyCreate(t *testing.T) {
	t.Parallel()
	dsn := testkit.NewDatabase(t)
	environ := baseEnv(dsn)
	if _, err := runCmd(t, environ, "migrate"); err != nil {
		t.Fatal(err)
	}
	owner := uuid.New()
	out, err := runCmd(t, environ, "apikey", "create", "--scopes", "tools:read,tools:execute", "--owner", owner.String(), "--name", "ops", "--tier", "premium", "--expires", "720h")
	if err != nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, auth.APIKeyPrefix) || len(key) != len(auth.APIKeyPrefix)+43 {
		t.Fatalf("last line %q is not a key:\n%s", key, out)
	}

	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var (
		gotOwner     uuid.UUID
		tier, name   string
		scopes       []string
		expires      time.Time
		plainInTable bool
	)
	hash, _ := hex.DecodeString(auth.HashAPIKey(key))
	err = pool.QueryRow(context.Background(), `select user_id, tier, client_name, scopes, expires_at, k::text like '%' || $2 || '%'
		from api_keys k where key_hash = $1`, hash, key[len(auth.APIKeyPrefix):]).Scan(&gotOwner, &tier, &name, &scopes, &expires, &plainInTable)
	if err != nil {
		t.Fatal(err)
	}
	if gotOwner != owner || tier != "premium" || name != "ops" || strings.Join(scopes, ",") != "tools:read,tools:execute" ||
		time.Until(expires) < 719*time.Hour || plainInTable {
		t.Fatalf("stored %v %s %s %v %v (plaintext stored: %v)", gotOwner, tier, name, scopes, expires, plainInTable)
	}

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"apikey"}, "usage"},
		{"no scopes", []string{"apikey", "create"}, "--scopes"},
		{"unknown scope", []string{"apikey", "create", "--scopes", "admin"}, "unknown scope"},
		{"owner not a UUID", []string{"apikey", "create", "--scopes", "tools:read", "--owner", "bob"}, "--owner"},
		{"unknown tier", []string{"apikey", "create", "--scopes", "tools:read", "--tier", "gold"}, "--tier"},
		{"unknown flag", []string{"apikey", "create", "--scope", "tools:read"}, "flag provided but not defined"},
		{"unknown command", []string{"rotate"}, "unknown command"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := runCmd(t, environ, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	environ := append(baseEnv(testkit.NewDatabase(t)), "PORT="+strconv.Itoa(port), "SHUTDOWN_TIMEOUT=5s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, environ, &log, &log) }()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	up := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !up; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, log.String())
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
		}
	}
	if !up {
		t.Fatalf("not serving /healthz within 10s\n%s", log.String())
	}
	var cfg auth.Config
	cfg.JWTSecret, cfg.Audience = jwtSecret, "authenticated"
	tok, err := auth.MintDevToken(cfg, "development", uuid.NewString(), "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/readyz", "", "", 200},
		{"GET", "/metrics", "", "", 200},
		{"GET", "/api/app/workflows", "", "", 401},
		{"GET", "/api/app/workflows", tok, "", 200}, // migrated at start (development)
		{"POST", "/api/app/sessions", tok, `{}`, 201},
		{"GET", "/api/app/files/x", tok, "", 501},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	for _, secret := range []string{jwtSecret, encKey} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log shows a secret")
		}
	}
	if !strings.Contains(log.String(), `"msg":"starting"`) {
		t.Errorf("no startup line:\n%s", log.String())
	}
}

func TestServeRefusesToStartWithoutAnEncryptionKey(t *testing.T) {
	t.Parallel()
	environ := []string{"SUPABASE_JWT_SECRET=" + jwtSecret, "RATE_LIMIT_STORAGE=memory", "PORT=" + strconv.Itoa(freePort(t))}
	if _, err := runCmd(t, environ, "serve"); err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEY is required") {
		t.Fatalf("err = %v", err)
	}
}
