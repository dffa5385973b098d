package apidoc

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestDocumentIsValid(t *testing.T) {
	if err := Validate(); err != nil {
		t.Fatalf("openapi.json:\n%v", err)
	}
	var d struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type, Scheme, BearerFormat, In, Name string
			} `json:"securitySchemes"`
			Schemas map[string]struct {
				Required []string `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(JSON(), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Servers) != 1 || d.Servers[0].URL != "/" {
		t.Errorf("servers = %+v, want one with url /", d.Servers)
	}
	if s := d.Components.SecuritySchemes["bearerAuth"]; s.Type != "http" || s.Scheme != "bearer" || s.BearerFormat != "JWT" {
		t.Errorf("bearerAuth = %+v", s)
	}
	if s := d.Components.SecuritySchemes["apiKeyAuth"]; s.Type != "apiKey" || s.In != "header" || s.Name != "X-API-Key" {
		t.Errorf("apiKeyAuth = %+v", s)
	}
	if got := d.Components.Schemas["Error"].Required; !slices.Equal(got, []string{"error", "message", "request_id"}) {
		t.Errorf("Error.required = %v", got)
	}
}

// Validate must be able to fail: each broken variant of the document is caught.
func TestValidateCatchesBrokenDocuments(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"version 3.0", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`, "want 3.1.x"},
		{"no title", `{"openapi":"3.1.0","info":{"version":"1"},"paths":{}}`, "info.title"},
		{"dangling ref", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"a","responses":{"200":{"$ref":"#/components/responses/Nope"}}}}}}`, "does not resolve"},
		{"undeclared path param", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a/{id}":{"get":{"operationId":"a","responses":{"200":{"description":"ok"}}}}}}`, `path parameter "id"`},
		{"duplicate operationId", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"x","responses":{"200":{"description":"ok"}}}},"/b":{"get":{"operationId":"x","responses":{"200":{"description":"ok"}}}}}}`, "already used"},
		{"example off schema", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"a","responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"object","required":["n"]},"example":{}}}}}}}}}`, `missing required "n"`},
		{"no responses", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"a"}}}}`, "no responses"},
	}
	saved := tree
	t.Cleanup(func() { tree = saved })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decode([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			tree = v
			err = Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	ops := Operations()
	for _, want := range []Operation{
		{http.MethodGet, "/api/public/health"},
		{http.MethodGet, "/api/public/docs/{asset}"},
		{http.MethodGet, "/api/public/metrics"},
	} {
		if !slices.Contains(ops, want) {
			t.Errorf("Operations() lacks %s", want)
		}
	}
	byPathThenMethod := func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	}
	if !slices.IsSortedFunc(ops, byPathThenMethod) {
		t.Errorf("Operations() not sorted: %v", ops)
	}
}

func TestTemplateOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/api/public/health", "/api/public/health"},
		{"/api/app/workflows/:id", "/api/app/workflows/{id}"},
		{"/api/app/executions/:id/events", "/api/app/executions/{id}/events"},
		{"/static/*filepath", "/static/{filepath}"},
	}
	for _, tt := range tests {
		if got := TemplateOf(tt.in); got != tt.want {
			t.Errorf("TemplateOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckRoutes(t *testing.T) {
	// Every documented operation as a gin route ({x} → :x), so the empty
	// prefix below sees the whole document served, whatever layers it has.
	var all, public gin.RoutesInfo
	for _, op := range Operations() {
		r := gin.RouteInfo{Method: op.Method, Path: templateParam.ReplaceAllString(op.Path, ":$1")}
		all = append(all, r)
		if strings.HasPrefix(op.Path, "/api/public/") {
			public = append(public, r)
		}
	}
	withOps := func(extra ...gin.RouteInfo) gin.RoutesInfo { return append(slices.Clone(public), extra...) }
	tests := []struct {
		name    string
		prefix  string
		routes  gin.RoutesInfo
		wantErr []string
	}{
		{"all documented", "/api/public", withOps(), nil},
		{"operational routes ignored", "", append(slices.Clone(all), gin.RouteInfo{Method: "GET", Path: "/healthz"}, gin.RouteInfo{Method: "GET", Path: "/metrics"}, gin.RouteInfo{Method: "GET", Path: "/readyz"}), nil},
		{"other prefix ignored", "/api/public", withOps(gin.RouteInfo{Method: "GET", Path: "/api/app/secret"}), nil},
		{"undocumented route", "/api/public", withOps(gin.RouteInfo{Method: "POST", Path: "/api/public/echo/:id"}), []string{"served but not in openapi.json: POST /api/public/echo/{id}"}},
		{"documented but not served", "/api/public", public[1:], []string{"in openapi.json but not served: " + Operation{public[0].Method, TemplateOf(public[0].Path)}.String()}},
		{"method mismatch both ways", "/api/public", append(slices.Clone(public[1:]), gin.RouteInfo{Method: "POST", Path: public[0].Path}), []string{"served but not in", "in openapi.json but not served"}},
		{"wrong prefix", "/api/nothing", withOps(), []string{"no routes under /api/nothing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRoutes(tt.prefix, tt.routes)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("CheckRoutes: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckRoutes passed, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	const health = "/api/public/health"
	good := `{"status":"degraded","version":"dev","checks":{"database":true,"redis":false,"grpc":true,"nats":true,"public_api":true,"app_api":true,"mcp_api":false},"timestamp":"2025-01-15T10:30:00Z"}`
	tests := []struct {
		name, path string
		status     int
		body       string
		want       string // "" = valid
	}{
		{"health ok", health, 200, good, ""},
		{"health 503", health, 503, strings.Replace(good, "degraded", "unhealthy", 1), ""},
		{"bad enum", health, 200, strings.Replace(good, "degraded", "fine", 1), "is not one of"},
		{"wrong type", health, 200, strings.Replace(good, `"redis":false`, `"redis":"no"`, 1), "got string, want boolean"},
		{"missing check", health, 200, strings.Replace(good, `"redis":false,`, "", 1), `missing required "redis"`},
		{"undocumented field", health, 200, strings.Replace(good, `"version"`, `"secret":"x","version"`, 1), `property "secret" is not documented`},
		{"bad timestamp", health, 200, strings.Replace(good, "2025-01-15T10:30:00Z", "yesterday", 1), "RFC 3339"},
		{"status not documented", health, 418, good, "status 418 is not documented"},
		{"path not documented", "/api/public/nope", 200, good, "not documented"},
		{"error body via $ref", health, 404, `{"error":"health_check_disabled","message":"off","request_id":"r1"}`, ""},
		{"error body missing request_id", health, 404, `{"error":"x","message":"off"}`, `missing required "request_id"`},
		{"nullable counts", "/api/public/metrics", 200, `{"uptime_seconds":3,"requests":{"public":null,"app":null,"mcp":null,"total":null},"edge_reachable":false,"timestamp":"2025-01-15T10:30:00Z"}`, ""},
		{"fractional count", "/api/public/metrics", 200, `{"uptime_seconds":3,"requests":{"public":1.5,"app":1,"mcp":1,"total":3},"edge_reachable":true,"timestamp":"2025-01-15T10:30:00Z"}`, "got number, want integer or null"},
		{"negative uptime", "/api/public/metrics", 200, `{"uptime_seconds":-1,"requests":{"public":1,"app":1,"mcp":1,"total":3},"edge_reachable":true,"timestamp":"2025-01-15T10:30:00Z"}`, "below the minimum"},
		{"not JSON", health, 200, `<html>`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResponse(http.MethodGet, tt.path, tt.status, []byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckResponse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckResponse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
