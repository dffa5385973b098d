package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// hello returns DESIGN §6's workflow as a map for a test to break.
func hello() map[string]any {
	var w map[string]any
	_ = json.Unmarshal([]byte(helloPipeline), &w)
	return w
}

func node(w map[string]any, i int) map[string]any { return w["nodes"].([]any)[i].(map[string]any) }

func nested(depth int) any {
	var v any = "deep"
	for range depth {
		v = map[string]any{"x": v}
	}
	return v
}

// Every refusal is a clear 4xx naming the problem, and nothing is stored.
func TestInvalidWorkflowsAreRefusedAndNothingIsStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	existing := e.createHello(tok)
	before := e.count("workflows")

	tests := []struct {
		name    string
		body    any
		header  map[string]string
		code    int
		errCode string
		field   string // a details entry with this field, when set
	}{
		{"cycle", func() any {
			w := hello()
			w["connections"].(map[string]any)["Greet"] = map[string]any{"main": []any{[]any{map[string]any{"node": "Pause", "type": "main", "index": 0}}}}
			return w
		}(), nil, 400, "validation_error", "connections"},
		{"dangling connection", func() any {
			w := hello()
			w["connections"].(map[string]any)["Pause"] = map[string]any{"main": []any{[]any{map[string]any{"node": "Ghost", "type": "main", "index": 0}}}}
			return w
		}(), nil, 400, "validation_error", "connections.Pause.main[0][0].node"},
		{"unknown type", func() any { w := hello(); node(w, 2)["type"] = "TELEPORT_NODE"; return w }(), nil, 400, "validation_error", "nodes[2].type"},
		{"unknown subtype", func() any { w := hello(); node(w, 1)["subtype"] = "SLEEP_FOREVER"; return w }(), nil, 400, "validation_error", "nodes[1].subtype"},
		{"wrong parameter type", func() any { w := hello(); node(w, 1)["parameters"] = map[string]any{"seconds": "soon"}; return w }(), nil, 400, "validation_error", "nodes[1].parameters.seconds"},
		{"wrong field type", func() any { w := hello(); w["name"] = 42; return w }(), nil, 400, "validation_error", "name"},
		{"unknown field", func() any { w := hello(); w["owner"] = "me"; return w }(), nil, 400, "validation_error", "owner"},
		{"unknown node field", func() any { w := hello(); node(w, 0)["typeVersion"] = 1; return w }(), nil, 400, "validation_error", "typeVersion"},
		{"no name", func() any { w := hello(); delete(w, "name"); return w }(), nil, 400, "validation_error", "name"},
		{"deeply nested parameters", func() any { w := hello(); node(w, 2)["parameters"] = map[string]any{"values": nested(40)}; return w }(), nil, 400, "validation_error", "nodes[2].parameters"},
		{"deeply nested body", `{"name": "x", "settings": ` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100) + `}`, nil, 400, "invalid_json", ""},
		{"very deeply nested body", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), nil, 400, "invalid_json", ""},
		{"huge body", `{"name": "` + strings.Repeat("x", testBodyLimit) + `"}`, nil, 413, "request_too_large", ""},
		{"huge body, length unknown", `{"name": "` + strings.Repeat("x", testBodyLimit) + `"}`, map[string]string{"Content-Length": ""}, 413, "request_too_large", ""},
		{"invalid UTF-8", []byte("{\"name\": \"caf\xe9\", \"nodes\": []}"), nil, 400, "invalid_json", ""},
		{"malformed JSON", `{"name": "x",}`, nil, 400, "invalid_json", ""},
		{"truncated JSON", `{"name": "x"`, nil, 400, "invalid_json", ""},
		{"two JSON values", helloPipeline + `{}`, nil, 400, "invalid_json", ""},
		{"empty body", ``, nil, 400, "invalid_json", ""},
		{"not an object", `[1, 2]`, nil, 400, "validation_error", "body"},
		{"text/plain", helloPipeline, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", ""},
		{"form", "name=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"no content type", helloPipeline, map[string]string{"Content-Type": ""}, 415, "unsupported_media_type", ""},
		{"latin-1 charset", helloPipeline, map[string]string{"Content-Type": "application/json; charset=iso-8859-1"}, 415, "unsupported_media_type", ""},
		{"utf-8 charset is fine but the body is invalid", `{}`, map[string]string{"Content-Type": "application/json; charset=UTF-8"}, 400, "validation_error", "name"},
	}
	for _, tt := range tests {
		for _, target := range []struct{ method, path string }{
			{"POST", "/api/app/workflows"},
			{"PATCH", "/api/app/workflows/" + existing.ID.String()},
		} {
			if target.method == "PATCH" && (tt.name == "no name" || strings.Contains(tt.name, "utf-8 charset")) {
				continue // a partial update may leave the name out
			}
			t.Run(target.method+" "+tt.name, func(t *testing.T) {
				r := e.do(req{method: target.method, path: target.path, token: tok, body: tt.body, header: tt.header})
				want(t, r, tt.code, tt.errCode)
				if tt.field != "" {
					var b struct {
						Details []struct{ Field, Message string }
					}
					r.json(t, &b)
					found := false
					for _, d := range b.Details {
						found = found || strings.HasPrefix(d.Field, tt.field)
					}
					if !found {
						t.Fatalf("details do not name %s: %s", tt.field, r.body)
					}
				}
				if n := e.count("workflows"); n != before {
					t.Fatalf("%d workflows stored, want %d", n, before)
				}
				var w workflowJSON
				e.do(req{method: "GET", path: "/api/app/workflows/" + existing.ID.String(), token: tok}).json(t, &w)
				if w.Version != 1 {
					t.Fatalf("the existing workflow changed: version %d", w.Version)
				}
			})
		}
	}
}

func TestOtherBodiesAreCheckedAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	tests := []struct {
		name, method, path string
		body               any
		header             map[string]string
		code               int
		errCode            string
		table              string // stays empty
	}{
		{"session: wrong content type", "POST", "/api/app/sessions", `{}`, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", "sessions"},
		{"session: unknown action", "POST", "/api/app/sessions", `{"action": "fork"}`, nil, 400, "validation_error", "sessions"},
		{"session: edit needs a source", "POST", "/api/app/sessions", `{"action": "edit"}`, nil, 400, "validation_error", "sessions"},
		{"session: create takes no source", "POST", "/api/app/sessions", `{"action": "create", "source_workflow_id": "` + uuid.NewString() + `"}`, nil, 400, "validation_error", "sessions"},
		{"session: source not a UUID", "POST", "/api/app/sessions", `{"action": "copy", "source_workflow_id": "w1"}`, nil, 400, "validation_error", "sessions"},
		{"session: unknown source", "POST", "/api/app/sessions", `{"action": "copy", "source_workflow_id": "` + uuid.NewString() + `"}`, nil, 404, "not_found", "sessions"},
		{"session: meta_data not an object", "POST", "/api/app/sessions", `{"meta_data": [1]}`, nil, 400, "validation_error", "sessions"},
		{"session: deeply nested meta_data", "POST", "/api/app/sessions", `{"meta_data": ` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70) + `}`, nil, 400, "invalid_json", "sessions"},
		{"api key: no scopes", "POST", "/api/app/api-keys", `{"name": "ci"}`, nil, 400, "validation_error", "api_keys"},
		{"api key: unknown scope", "POST", "/api/app/api-keys", `{"name": "ci", "scopes": ["admin"]}`, nil, 400, "validation_error", "api_keys"},
		{"api key: tier above a user's", "POST", "/api/app/api-keys", `{"name": "ci", "scopes": ["tools:read"], "tier": "enterprise"}`, nil, 400, "validation_error", "api_keys"},
		{"api key: expiry in the past", "POST", "/api/app/api-keys", `{"name": "ci", "scopes": ["tools:read"], "expires_at": "2001-01-01T00:00:00Z"}`, nil, 400, "validation_error", "api_keys"},
		{"api key: expiry not a time", "POST", "/api/app/api-keys", `{"name": "ci", "scopes": ["tools:read"], "expires_at": "tomorrow"}`, nil, 400, "validation_error", "api_keys"},
		{"api key: no name", "POST", "/api/app/api-keys", `{"scopes": ["tools:read"]}`, nil, 400, "validation_error", "api_keys"},
		{"api key: invalid UTF-8", "POST", "/api/app/api-keys", []byte("{\"name\": \"\xff\", \"scopes\": [\"tools:read\"]}"), nil, 400, "invalid_json", "api_keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, e.do(req{method: tt.method, path: tt.path, token: tok, body: tt.body, header: tt.header}), tt.code, tt.errCode)
			if n := e.count(tt.table); n != 0 {
				t.Fatalf("%d rows in %s", n, tt.table)
			}
		})
	}
}
