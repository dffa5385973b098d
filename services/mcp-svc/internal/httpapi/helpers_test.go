package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/pkg/testkit"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// quiet keeps the access log out of test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// ownerID owns the "owned" key.
const ownerID = "00000000-0000-4000-8000-0000000000aa"

// signingSecret is API_SECRET_KEY in these tests.
const signingSecret = "test-signing-secret-0123456789abcdef"

// testKeys are MCP_API_KEYS of the test server, by name; the plaintext is
// "key-<name>-" padded with x to 40 characters.
var testKeys = []struct {
	name   string
	fields string
}{
	{"all", `"scopes": ["tools:read", "tools:execute", "health:check"]`},
	{"read", `"scopes": ["tools:read"]`},
	{"exec", `"scopes": ["tools:execute"]`},
	{"health", `"scopes": ["health:check"]`},
	{"owned", `"scopes": ["tools:read", "tools:execute", "health:check"], "owner_id": "` + ownerID + `"`},
	{"disabled", `"scopes": ["tools:read"], "active": false`},
	{"expired", `"scopes": ["tools:read"], "expires_at": "2020-01-01T00:00:00Z"`},
	{"basic", `"scopes": ["tools:read", "tools:execute"], "rate_limit_tier": "basic"`},
	{"premium", `"scopes": ["tools:read", "tools:execute"], "rate_limit_tier": "premium"`},
}

func keyOf(name string) string { k := "key-" + name + "-"; return k + strings.Repeat("x", 40-len(k)) }

func envKeysJSON() string {
	var b strings.Builder
	b.WriteString("[")
	for i, k := range testKeys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"key": %q, "client_name": %q, %s}`, keyOf(k.name), k.name, k.fields)
	}
	b.WriteString("]")
	return b.String()
}

// options adjust a test server.
type options struct {
	limits      string // RATE_LIMITS for the mcp layer, e.g. "mcp.tools=4/minute"
	tiers       string // RATE_LIMIT_TIERS
	keyOptional bool   // MCP_API_KEY_REQUIRED=false
	sigRequired bool
	api         tools.WorkflowAPI
	origins     []string
	checks      map[string]health.Check
}

type testServer struct {
	*httptest.Server
	engine *gin.Engine
	t      testing.TB
}

// newServer runs the MCP layer as main wires it: env keys, the Redis
// limiter and replay guard under a prefix of its own, the httpx engine.
func newServer(t testing.TB, o options) *testServer {
	t.Helper()
	rdb, _ := testkit.Redis(t)
	prefix := testkit.Unique("mcptest:")
	store, err := auth.NewEnvKeyStore(envKeysJSON(), false)
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	keys := auth.NewAPIKeyAuth(store, auth.APIKeyOptions{Required: !o.keyOptional, CacheTTL: time.Second, Logger: quiet})
	sigs, err := auth.NewSignatureVerifier(signingSecret, auth.NewRedisReplayGuard(rdb, prefix+"replay:"), auth.SignatureOptions{Required: o.sigRequired, Logger: quiet})
	if err != nil {
		t.Fatalf("signatures: %v", err)
	}
	lim, err := ratelimit.NewRedis(rdb, prefix)
	if err != nil {
		t.Fatalf("limiter: %v", err)
	}
	cfg := ratelimit.Config{Overrides: o.limits, Tiers: "basic=0.5,standard=1,premium=2"}
	if o.tiers != "" {
		cfg.Tiers = o.tiers
	}
	table, err := cfg.Table(ratelimit.MCP)
	if err != nil {
		t.Fatalf("table: %v", err)
	}
	tiers, err := cfg.TierMultipliers()
	if err != nil {
		t.Fatalf("tiers: %v", err)
	}
	reg, err := tools.New(o.api, quiet)
	if err != nil {
		t.Fatalf("tools: %v", err)
	}
	e, _, err := httpx.NewEngine(httpx.Options{Service: "mcp-svc-test", Logger: quiet, Probes: httpx.NewProbes(nil, time.Second)})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	Register(e, Deps{
		Version: "test", Logger: quiet, Registry: reg, Keys: keys, KeysRequired: !o.keyOptional, Signatures: sigs,
		Limiter: lim, Table: table, Tiers: tiers, LimitOptions: ratelimit.Options{CheckTimeout: time.Second, Logger: quiet},
		Origins: o.origins, Checks: o.checks, CheckTimeout: time.Second,
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, engine: e, t: t}
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; headers are name, value pairs.
func (s *testServer) do(method, path, body string, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// rpc posts one JSON-RPC message to the MCP endpoint.
func (s *testServer) rpc(method, params string, headers ...string) response {
	s.t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `"`
	if params != "" {
		body += `,"params":` + params
	}
	body += "}"
	h := append([]string{"Accept", "application/json, text/event-stream", "MCP-Protocol-Version", "2025-06-18"}, headers...)
	return s.do(http.MethodPost, MCPPath, body, h...)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// wantMCPError checks a response is the MCP error shape with status and
// code, every field present and sane, and the document's schema.
func wantMCPError(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.body)
	}
	var b ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("not the MCP error shape: %v: %s", err, r.body)
	}
	m := r.json(t)
	for _, f := range []string{"success", "error", "message", "error_type", "details", "error_id", "request_id", "retryable", "retry_after", "timestamp", "recovery_suggestions", "support_info"} {
		if _, ok := m[f]; !ok {
			t.Errorf("field %q missing: %s", f, r.body)
		}
	}
	switch {
	case b.Success:
		t.Errorf("success = true")
	case b.Error != code:
		t.Errorf("error = %q, want %q", b.Error, code)
	case b.Details.Status != status:
		t.Errorf("details.status = %d, want %d", b.Details.Status, status)
	case !uuidRE.MatchString(b.ErrorID):
		t.Errorf("error_id = %q", b.ErrorID)
	case b.RequestID == "" || b.RequestID != r.header.Get("X-Request-ID"):
		t.Errorf("request_id = %q, header %q", b.RequestID, r.header.Get("X-Request-ID"))
	case len(b.RecoverySuggestions) == 0:
		t.Errorf("no recovery_suggestions")
	case b.SupportInfo.Documentation == "":
		t.Errorf("no support_info")
	case b.Retryable != (status == 429 || status >= 502):
		t.Errorf("retryable = %v for %d", b.Retryable, status)
	case (b.RetryAfter != nil) != (status == 429):
		t.Errorf("retry_after = %v for %d", b.RetryAfter, status)
	}
	if _, err := time.Parse(time.RFC3339, b.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", b.Timestamp, err)
	}
	if status == 429 && r.header.Get("Retry-After") != fmt.Sprint(*b.RetryAfter) {
		t.Errorf("Retry-After %q, retry_after %d", r.header.Get("Retry-After"), *b.RetryAfter)
	}
	return m
}

// checkDoc validates a body against the OpenAPI document.
func checkDoc(t *testing.T, method, path string, r response) {
	t.Helper()
	if err := apidoc.CheckResponse(method, path, r.status, r.body); err != nil {
		t.Errorf("OpenAPI: %v", err)
	}
}

// sign returns the signature headers for a request.
func sign(method, uri, body string, at time.Time) []string {
	ts := at.Unix()
	return []string{auth.HeaderTimestamp, fmt.Sprint(ts), auth.HeaderSignature, auth.Sign([]byte(signingSecret), method, uri, ts, []byte(body))}
}

func owner() uuid.UUID { return uuid.MustParse(ownerID) }
