package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/config"
)

func TestTableMatch(t *testing.T) {
	tests := []struct {
		layer    Layer
		fullPath string
		want     string // "" = global only
	}{
		{Public, "/api/public/health", "health"},
		{Public, "/api/public/health/deep", "health"},
		{Public, "/health", "health"}, // service registered without the prefix
		{Public, "/api/public/healthz", ""},
		{Public, "/api/public/info", "info"},
		{Public, "/api/public/docs/*any", "docs"},
		{Public, "/api/public/openapi.json", "docs"},
		{Public, "/api/public/metrics", ""},
		{Public, "", ""}, // no route matched (404)
		{App, "/api/app/chat/stream", "chat"},
		{App, "/api/app/sessions/:id/messages", "sessions"},
		{App, "/api/app/workflows", "workflows"},
		{App, "/api/app/workflows/:id", "workflows"},
		{App, "/api/app/workflows/:workflow_id/execute", "workflow_execute"},
		{App, "/api/app/executions/:id/events", "executions"},
		{App, "/api/app/profile", ""},
		{MCP, "/api/mcp/tools", "tools"},
		{MCP, "/api/mcp/tools/:name/invoke", "invoke"},
		{MCP, "/api/mcp/invoke", "invoke"},
	}
	for _, tt := range tests {
		t.Run(string(tt.layer)+tt.fullPath, func(t *testing.T) {
			p, ok := DefaultTable(tt.layer).Match(tt.fullPath)
			if ok != (tt.want != "") || p.Name != tt.want {
				t.Fatalf("Match(%q) = %q, %v; want %q", tt.fullPath, p.Name, ok, tt.want)
			}
		})
	}
}

func TestDefaultTablesAreTheOriginalDesign(t *testing.T) {
	want := map[Layer]map[string]string{
		Public: {"global": "1000/hour", "health": "100/minute", "info": "60/minute", "docs": "10/minute"},
		App: {"global": "10000/hour", "chat": "100/hour", "sessions": "1000/hour", "workflows": "500/hour",
			"workflow_execute": "100/hour", "executions": "200/hour"},
		MCP: {"global": "50000/hour", "invoke": "1000/hour", "tools": "5000/hour"},
	}
	for layer, policies := range want {
		tbl := DefaultTable(layer)
		got := map[string]string{"global": tbl.Global.Limit.String()}
		for _, p := range tbl.Policies {
			got[p.Name] = p.Limit.String()
		}
		for name, lim := range policies {
			if got[name] != lim {
				t.Errorf("%s.%s = %q, want %q", layer, name, got[name], lim)
			}
		}
	}
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    Limit
		wantErr bool
	}{
		{"100/hour", Limit{100, time.Hour}, false},
		{"100/h", Limit{100, time.Hour}, false},
		{"5/second", Limit{5, time.Second}, false},
		{"10/15m", Limit{10, 15 * time.Minute}, false},
		{"7/day", Limit{7, 24 * time.Hour}, false},
		{"off", Limit{}, false},
		{"100", Limit{}, true},
		{"0/hour", Limit{}, true},
		{"-1/hour", Limit{}, true},
		{"10/fortnight", Limit{}, true},
		{"10/10ms", Limit{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLimit(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseLimit(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	var cfg Config
	err := config.Load(&cfg, config.WithDotEnv(""), config.WithEnviron([]string{
		"RATE_LIMITS=public.health=200/minute, public.global=5000/hour, app.reports@/reports|/exports=50/hour, mcp.tools=off",
	}))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := cfg.Table(Public)
	if p, _ := pub.Match("/api/public/health"); p.Limit != (Limit{200, time.Minute}) || pub.Global.Limit != (Limit{5000, time.Hour}) {
		t.Fatalf("public overrides not applied: %+v / %+v", p, pub.Global)
	}
	if DefaultTable(Public).Policies[0].Limit != (Limit{100, time.Minute}) {
		t.Fatal("overrides changed the defaults")
	}
	app, _ := cfg.Table(App)
	if p, ok := app.Match("/api/app/exports/:id"); !ok || p.Name != "reports" || p.Limit != (Limit{50, time.Hour}) {
		t.Fatalf("added policy: %+v %v", p, ok)
	}
	mcp, _ := cfg.Table(MCP)
	if _, ok := mcp.Match("/api/mcp/tools"); ok {
		t.Fatal("policy switched off still matches")
	}

	bad := []struct{ spec, want string }{
		{"public.health", "layer.name"},
		{"health=1/hour", "layer.policy"},
		{"edge.health=1/hour", "layer must be"},
		{"public.nope=1/hour", "give routes"},
		{"public.global@/x=1/hour", "no routes"},
		{"public.x@nope=1/hour", "must start with /"},
		{"public.Bad-Name@/x=1/hour", "lower-case"},
		{"public.health=lots", "<requests>/<period>"},
	}
	for _, tt := range bad {
		t.Run(tt.spec, func(t *testing.T) {
			err := Config{Storage: "memory", CheckTimeout: 50 * time.Millisecond, Overrides: tt.spec}.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "RATE_LIMITS") {
				t.Fatalf("error %v, want one naming RATE_LIMITS and %q", err, tt.want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	var cfg Config
	if err := config.Load(&cfg, config.WithDotEnv(""), config.WithEnviron(nil)); err != nil {
		t.Fatal(err)
	}
	if cfg.Storage != "redis" || cfg.FailClosed || cfg.CheckTimeout != 50*time.Millisecond {
		t.Fatalf("defaults %+v", cfg)
	}
	tiers, err := cfg.TierMultipliers()
	if err != nil || tiers["standard"] != 1 || tiers["enterprise"] != 20 {
		t.Fatalf("tiers %v %v", tiers, err)
	}
	bad := []struct {
		name string
		cfg  Config
		want string
	}{
		{"storage", Config{Storage: "disk", CheckTimeout: time.Millisecond}, "RATE_LIMIT_STORAGE"},
		{"timeout", Config{Storage: "memory", CheckTimeout: 0}, "RATE_LIMIT_CHECK_TIMEOUT"},
		{"tiers", Config{Storage: "memory", CheckTimeout: time.Millisecond, Tiers: "gold=lots"}, "RATE_LIMIT_TIERS"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := (Config{Storage: "redis"}).Open(nil); err == nil {
		t.Fatal("redis storage without a client")
	}
	if l, err := (Config{Storage: "memory"}).Open(nil); err != nil || l == nil {
		t.Fatal(err)
	}
}

func TestMemoMatchAgreesWithMatch(t *testing.T) {
	tbl := DefaultTable(App)
	match := memoMatch(tbl)
	for _, route := range []string{"", "/api/app/workflows", "/api/app/workflows/:id/execute", "/api/app/chat/stream", "/api/app/unknown", "/api/app/workflows"} {
		for range 2 { // the second call is served from the memo
			wantP, wantOK := tbl.Match(route)
			gotP, gotOK := match(route)
			if gotOK != wantOK || gotP.Name != wantP.Name || gotP.Limit != wantP.Limit {
				t.Fatalf("%q: memo (%v %+v), Match (%v %+v)", route, gotOK, gotP, wantOK, wantP)
			}
		}
	}
}
