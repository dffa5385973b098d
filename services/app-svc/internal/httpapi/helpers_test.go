package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/pkg/secrets"
	"github.com/wfagent/gateway/pkg/testkit"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

const (
	testJWTSecret = "app-svc-test-supabase-jwt-secret-0123456789"
	testBodyLimit = 64 << 10
)

// helloPipeline is DESIGN §6's example, verbatim.
const helloPipeline = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

// env is app-svc's handler chain on a fresh, migrated database, with the
// real token verifier and the App limit table (in memory: the limiter is
// not the subject here).
type env struct {
	t      testing.TB
	engine *gin.Engine
	store  *store.Store
	admin  *pgxpool.Pool // superuser: counts rows past row level security
	codec  *workflows.Codec
	auth   auth.Config
}

type envOption func(*ratelimit.Table)

// withLimits replaces the App table's limits (RATE_LIMITS syntax).
func withLimits(spec string) envOption {
	return func(t *ratelimit.Table) {
		var err error
		if *t, err = t.ApplyOverrides(spec); err != nil {
			panic(err)
		}
	}
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var ac auth.Config
	if err := config.Load(&ac, config.WithEnviron([]string{"SUPABASE_JWT_SECRET=" + testJWTSecret}), config.WithDotEnv("")); err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, _, err := httpx.NewEngine(httpx.Options{Service: "app-svc-test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	table := ratelimit.DefaultTable(ratelimit.App)
	for _, o := range opts {
		o(&table)
	}
	st := store.New(pool, 5*time.Second)
	codec := workflows.NewCodec(sealer)
	Register(engine, Deps{
		DB: st, Codec: codec, Auth: verifier.Middleware(),
		Limit:        ratelimit.Middleware(ratelimit.NewMemory(), table, ratelimit.ByUser, ratelimit.Options{Logger: log}),
		MaxBodyBytes: testBodyLimit,
	})
	return &env{t: t, engine: engine, store: st, admin: pool, codec: codec, auth: ac}
}

// token is a Supabase-shaped access token for a user.
func (e *env) token(user uuid.UUID) string {
	e.t.Helper()
	tok, err := auth.MintDevToken(e.auth, "development", user.String(), user.String()[:8]+"@example.com", time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// req is one request; body is sent as is when it is a string or []byte,
// else as JSON. Content-Type defaults to application/json with a body.
type req struct {
	method, path string
	token        string
	body         any
	header       map[string]string
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.body, dst); err != nil {
		t.Fatalf("response %d is not JSON (%v): %s", r.code, err, r.body)
	}
}

// errorCode is the "error" of an error body.
func (r resp) errorCode() string {
	var b struct{ Error string }
	_ = json.Unmarshal(r.body, &b)
	return b.Error
}

// do serves the request and checks every JSON response against the
// OpenAPI document's schema for its route and status.
func (e *env) do(r req) resp {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		if k == "Content-Length" && v == "" {
			hr.ContentLength = -1 // streamed: the limit must hold while reading
		}
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	e.engine.ServeHTTP(w, hr)
	out := resp{code: w.Code, header: w.Header(), body: w.Body.Bytes()}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		if tmpl := e.template(r.method, hr.URL.Path); tmpl != "" {
			if err := apidoc.CheckResponse(r.method, tmpl, w.Code, out.body); err != nil {
				e.t.Errorf("response does not match openapi.json: %v\n%s", err, out.body)
			}
		}
	}
	return out
}

// template finds the OpenAPI path template of a request path.
func (e *env) template(method, path string) string {
	want := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range e.engine.Routes() {
		if r.Method != method {
			continue
		}
		segs := strings.Split(strings.Trim(r.Path, "/"), "/")
		if matchRoute(segs, want) {
			return apidoc.TemplateOf(r.Path)
		}
	}
	return ""
}

func matchRoute(route, path []string) bool {
	for i, s := range route {
		if strings.HasPrefix(s, "*") {
			return true
		}
		if i >= len(path) || (!strings.HasPrefix(s, ":") && s != path[i]) {
			return false
		}
	}
	return len(route) == len(path)
}

// count counts rows past row level security.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.admin.QueryRow(context.Background(), `select count(*) from `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// createHello stores DESIGN §6's workflow for the token's user.
func (e *env) createHello(token string) workflowJSON {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/api/app/workflows", token: token, body: helloPipeline})
	if r.code != http.StatusCreated {
		e.t.Fatalf("create hello: %d %s", r.code, r.body)
	}
	var w workflowJSON
	r.json(e.t, &w)
	return w
}

func want(t testing.TB, r resp, code int, errCode string) {
	t.Helper()
	if r.code != code || (errCode != "" && r.errorCode() != errCode) {
		t.Fatalf("got %d %s, want %d %s", r.code, r.body, code, errCode)
	}
}

func authMint(cfg auth.Config, user uuid.UUID) (string, error) {
	return auth.MintDevToken(cfg, "development", user.String(), "", time.Hour)
}

// verify returns the raw claims of a token, as the middleware would.
func (e *env) verify(tok string) ([]byte, error) {
	v, err := auth.NewVerifier(context.Background(), e.auth)
	if err != nil {
		return nil, err
	}
	u, err := v.Verify(context.Background(), tok)
	if err != nil {
		return nil, err
	}
	return u.RawClaims, nil
}
