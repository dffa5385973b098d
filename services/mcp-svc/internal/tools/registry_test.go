package tools

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/nodes"
)

// helloWorkflow is DESIGN §6's example, verbatim.
const helloWorkflow = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

var (
	owned   = Caller{Owner: uuid.NullUUID{UUID: uuid.MustParse("00000000-0000-4000-8000-000000000001"), Valid: true}, Client: "owned"}
	unowned = Caller{Client: "unowned"}
)

var catalogueNames = []string{"get_node_types", "get_node_details", "search_nodes"}
var workflowNames = []string{"list_workflows", "get_workflow", "create_workflow", "validate_workflow", "execute_workflow", "get_execution"}

// recordingAPI answers every App API call with what it was asked, so the
// tests see what a tool sends; err, when set, is every call's answer.
type recordingAPI struct {
	err   error
	calls []string
}

func (r *recordingAPI) answer(call string, v any) (json.RawMessage, error) {
	r.calls = append(r.calls, call)
	if r.err != nil {
		return nil, r.err
	}
	b, _ := json.Marshal(v)
	return b, nil
}

func (r *recordingAPI) ListWorkflows(_ context.Context, o uuid.UUID, limit int, cursor string) (json.RawMessage, error) {
	return r.answer("list", map[string]any{"owner": o, "limit": limit, "cursor": cursor})
}
func (r *recordingAPI) GetWorkflow(_ context.Context, o uuid.UUID, id string) (json.RawMessage, error) {
	return r.answer("get", map[string]any{"owner": o, "id": id})
}
func (r *recordingAPI) CreateWorkflow(_ context.Context, o uuid.UUID, wf json.RawMessage) (json.RawMessage, error) {
	return r.answer("create", map[string]any{"owner": o, "workflow": wf})
}
func (r *recordingAPI) ExecuteWorkflow(_ context.Context, o uuid.UUID, id string, inputs json.RawMessage, key string) (json.RawMessage, error) {
	return r.answer("execute", map[string]any{"owner": o, "id": id, "inputs": inputs, "idempotency_key": key})
}
func (r *recordingAPI) GetExecution(_ context.Context, o uuid.UUID, id string) (json.RawMessage, error) {
	return r.answer("execution", map[string]any{"owner": o, "id": id})
}

func newRegistry(t *testing.T, api WorkflowAPI) *Registry {
	t.Helper()
	r, err := New(api, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func names(ts []Tool) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestVisibility(t *testing.T) {
	all := append(slices.Clone(catalogueNames), workflowNames...)
	tests := []struct {
		name   string
		api    WorkflowAPI
		caller Caller
		want   []string
	}{
		{"owned key sees every tool", &recordingAPI{}, owned, all},
		{"unowned key sees the node tools", &recordingAPI{}, unowned, catalogueNames},
		{"no App API: node tools only, even owned", nil, owned, catalogueNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRegistry(t, tt.api)
			if got := names(r.List(tt.caller)); !slices.Equal(got, tt.want) {
				t.Fatalf("List = %v, want %v", got, tt.want)
			}
			for _, n := range all {
				if got, want := r.Visible(tt.caller, n), slices.Contains(tt.want, n); got != want {
					t.Errorf("Visible(%s) = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestToolsHaveObjectSchemasAndAnnotations(t *testing.T) {
	for _, tool := range newRegistry(t, &recordingAPI{}).All() {
		var s map[string]any
		if err := json.Unmarshal(tool.InputSchema, &s); err != nil || s["type"] != "object" {
			t.Errorf("%s: inputSchema is not an object schema: %v", tool.Name, err)
		}
		if tool.Description == "" || tool.Annotations.Title == "" {
			t.Errorf("%s: description and annotations.title are required", tool.Name)
		}
	}
}

func TestUnknownTool(t *testing.T) {
	_, err := newRegistry(t, nil).Call(context.Background(), owned, "drop_tables", nil)
	if !errors.Is(err, ErrUnknownTool) {
		t.Fatalf("err = %v, want ErrUnknownTool", err)
	}
}

// call runs a tool and decodes its structured content.
func call(t *testing.T, r *Registry, c Caller, name, args string) (Result, map[string]any) {
	t.Helper()
	res, err := r.Call(context.Background(), c, name, json.RawMessage(args))
	if err != nil {
		t.Fatalf("Call(%s): %v", name, err)
	}
	if len(res.Content) != 1 || res.Content[0].Type != "text" || res.Content[0].Text == "" {
		t.Fatalf("content = %+v, want one text item", res.Content)
	}
	var out map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("structured content is not an object: %s", b)
	}
	if !res.IsError && res.Content[0].Text != string(b) {
		t.Fatalf("text %q is not the structured content %s", res.Content[0].Text, b)
	}
	return res, out
}

func TestCatalogueTools(t *testing.T) {
	r := newRegistry(t, nil)
	tests := []struct {
		name, tool, args string
		wantError        bool
		check            func(t *testing.T, out map[string]any, text string)
	}{
		{"all types", "get_node_types", `{}`, false, func(t *testing.T, out map[string]any, _ string) {
			if got := int(out["total_types"].(float64)); got != len(nodes.Types()) {
				t.Fatalf("total_types = %d, want %d", got, len(nodes.Types()))
			}
			if got := int(out["total_subtypes"].(float64)); got != len(nodes.Catalogue()) {
				t.Fatalf("total_subtypes = %d, want %d", got, len(nodes.Catalogue()))
			}
		}},
		{"null arguments mean none", "get_node_types", `null`, false, func(t *testing.T, out map[string]any, _ string) {
			if int(out["total_types"].(float64)) != len(nodes.Types()) {
				t.Fatalf("got %v", out)
			}
		}},
		{"type filter", "get_node_types", `{"type_filter":"FLOW_NODE"}`, false, func(t *testing.T, out map[string]any, _ string) {
			ts := out["node_types"].([]any)
			if len(ts) != 1 || ts[0].(map[string]any)["type"] != "FLOW_NODE" {
				t.Fatalf("node_types = %v", ts)
			}
			if !strings.Contains(mustJSON(ts), `"subtype":"WAIT"`) {
				t.Fatalf("FLOW_NODE lacks WAIT: %v", ts)
			}
		}},
		{"unknown type filter names the types", "get_node_types", `{"type_filter":"NOPE"}`, true, func(t *testing.T, _ map[string]any, text string) {
			if !strings.Contains(text, "/type_filter") || !strings.Contains(text, "FLOW_NODE") {
				t.Fatalf("message does not say what is allowed: %s", text)
			}
		}},
		{"details with schema and example", "get_node_details", `{"nodes":[{"node_type":"FLOW_NODE","subtype":"WAIT"}]}`, false, func(t *testing.T, out map[string]any, _ string) {
			n := out["nodes"].([]any)[0].(map[string]any)
			if n["parameters_schema"] == nil || n["example"] == nil || n["executable"] != true || n["ports"] == nil {
				t.Fatalf("detail = %v", n)
			}
		}},
		{"details without schema and example", "get_node_details", `{"nodes":[{"node_type":"FLOW_NODE","subtype":"WAIT"}],"include_examples":false,"include_schemas":false}`, false, func(t *testing.T, out map[string]any, _ string) {
			n := out["nodes"].([]any)[0].(map[string]any)
			if _, ok := n["parameters_schema"]; ok {
				t.Fatalf("schema included: %v", n)
			}
			if _, ok := n["example"]; ok {
				t.Fatalf("example included: %v", n)
			}
		}},
		{"partial miss names the subtypes", "get_node_details", `{"nodes":[{"node_type":"FLOW_NODE","subtype":"WAIT"},{"node_type":"FLOW_NODE","subtype":"SLEEP"}]}`, false, func(t *testing.T, out map[string]any, _ string) {
			if out["found"] != 1.0 {
				t.Fatalf("found = %v", out["found"])
			}
			miss := out["nodes"].([]any)[1].(map[string]any)["error"].(string)
			if !strings.Contains(miss, "WAIT") || !strings.Contains(miss, "SLEEP") {
				t.Fatalf("miss message = %q", miss)
			}
		}},
		{"all missing is an error", "get_node_details", `{"nodes":[{"node_type":"NOPE_NODE","subtype":"X"}]}`, true, func(t *testing.T, _ map[string]any, text string) {
			if !strings.Contains(text, "TRIGGER_NODE") {
				t.Fatalf("message does not list the types: %s", text)
			}
		}},
		{"missing subtype", "get_node_details", `{"nodes":[{"node_type":"FLOW_NODE"}]}`, true, func(t *testing.T, _ map[string]any, text string) {
			if !strings.Contains(text, "/nodes/0") || !strings.Contains(text, "subtype") {
				t.Fatalf("message = %s", text)
			}
		}},
		{"search ranks the subtype first", "search_nodes", `{"query":"http request"}`, false, func(t *testing.T, out map[string]any, _ string) {
			first := out["results"].([]any)[0].(map[string]any)
			if first["subtype"] != "SEND_HTTP_REQUEST" {
				t.Fatalf("first = %v", first)
			}
			if _, ok := first["details"]; ok {
				t.Fatalf("details without include_details")
			}
		}},
		{"search max_results and details", "search_nodes", `{"query":"node","max_results":2,"include_details":true}`, false, func(t *testing.T, out map[string]any, _ string) {
			rs := out["results"].([]any)
			if len(rs) != 2 || out["total_matches"].(float64) <= 2 {
				t.Fatalf("results = %d, total = %v", len(rs), out["total_matches"])
			}
			if rs[0].(map[string]any)["details"] == nil {
				t.Fatalf("no details: %v", rs[0])
			}
		}},
		{"search without matches", "search_nodes", `{"query":"zzzqqq"}`, false, func(t *testing.T, out map[string]any, _ string) {
			if len(out["results"].([]any)) != 0 {
				t.Fatalf("results = %v", out["results"])
			}
		}},
		{"search of punctuation only", "search_nodes", `{"query":"!!!"}`, true, nil},
		{"search max_results out of range", "search_nodes", `{"query":"wait","max_results":500}`, true, nil},
		{"extra argument", "search_nodes", `{"query":"wait","limit":3}`, true, func(t *testing.T, _ map[string]any, text string) {
			if !strings.Contains(text, "limit") {
				t.Fatalf("message = %s", text)
			}
		}},
		{"missing required argument", "search_nodes", `{}`, true, func(t *testing.T, _ map[string]any, text string) {
			if !strings.Contains(text, "arguments: missing property 'query'") {
				t.Fatalf("message = %s", text)
			}
		}},
		{"arguments not an object", "search_nodes", `["wait"]`, true, nil},
		{"arguments not JSON", "search_nodes", `{query}`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out := call(t, r, unowned, tt.tool, tt.args)
			if res.IsError != tt.wantError {
				t.Fatalf("isError = %v, want %v: %s", res.IsError, tt.wantError, res.Content[0].Text)
			}
			if tt.wantError && (out["error"] == "" || out["message"] != res.Content[0].Text) {
				t.Fatalf("error body = %v", out)
			}
			if tt.check != nil {
				tt.check(t, out, res.Content[0].Text)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestWorkflowToolsRefuseKeysWithoutOwner(t *testing.T) {
	api := &recordingAPI{}
	r := newRegistry(t, api)
	for _, name := range workflowNames {
		t.Run(name, func(t *testing.T) {
			res, out := call(t, r, unowned, name, `{}`)
			if !res.IsError || out["error"] != "owner_required" || !strings.Contains(res.Content[0].Text, "no owner") {
				t.Fatalf("result = %+v", res)
			}
		})
	}
	if len(api.calls) != 0 {
		t.Fatalf("the App API was called: %v", api.calls)
	}
}

func TestWorkflowToolsCallTheAppAPIAsOwner(t *testing.T) {
	id := "0b6f3c7e-6a53-4f43-9d67-5f6f0e0b2a11"
	tests := []struct {
		tool, args, wantCall string
		want                 map[string]any
	}{
		{"list_workflows", `{"limit":5,"cursor":"abc"}`, "list", map[string]any{"limit": 5.0, "cursor": "abc"}},
		{"get_workflow", `{"workflow_id":"` + strings.ToUpper(id) + `"}`, "get", map[string]any{"id": id}},
		{"create_workflow", helloWorkflow, "create", nil},
		{"execute_workflow", `{"workflow_id":"` + id + `","inputs":{"x":1},"idempotency_key":"k1"}`, "execute", map[string]any{"id": id, "inputs": map[string]any{"x": 1.0}, "idempotency_key": "k1"}},
		{"get_execution", `{"execution_id":"` + id + `"}`, "execution", map[string]any{"id": id}},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			api := &recordingAPI{}
			res, out := call(t, newRegistry(t, api), owned, tt.tool, tt.args)
			if res.IsError {
				t.Fatalf("isError: %s", res.Content[0].Text)
			}
			if !slices.Equal(api.calls, []string{tt.wantCall}) {
				t.Fatalf("calls = %v, want %s", api.calls, tt.wantCall)
			}
			if out["owner"] != owned.Owner.UUID.String() {
				t.Fatalf("owner = %v", out["owner"])
			}
			for k, v := range tt.want {
				if mustJSON(out[k]) != mustJSON(v) {
					t.Errorf("%s = %v, want %v", k, out[k], v)
				}
			}
		})
	}
}

func TestWorkflowToolsRefuseBadIDsWithoutCalling(t *testing.T) {
	api := &recordingAPI{}
	r := newRegistry(t, api)
	for _, tt := range []struct{ tool, args string }{
		{"get_workflow", `{"workflow_id":"my workflow"}`},
		{"execute_workflow", `{"workflow_id":"1"}`},
		{"get_execution", `{"execution_id":"latest"}`},
	} {
		res, _ := call(t, r, owned, tt.tool, tt.args)
		if !res.IsError || !strings.Contains(res.Content[0].Text, "not a UUID") {
			t.Errorf("%s: %+v", tt.tool, res)
		}
	}
	if len(api.calls) != 0 {
		t.Fatalf("the App API was called: %v", api.calls)
	}
}

func TestAppAPIFailuresBecomeActionableErrors(t *testing.T) {
	id := "0b6f3c7e-6a53-4f43-9d67-5f6f0e0b2a11"
	tests := []struct {
		name      string
		err       error
		tool      string
		args      string
		wantCode  string
		wantParts []string
	}{
		{"validation details flattened", &AppAPIError{Status: 400, Code: "validation_error", Message: "the request is invalid",
			Details: []apperr.FieldError{{Field: "nodes[1].parameters.seconds", Message: "must be <= 3600"}, {Field: "connections.Start", Message: "unknown node"}}},
			"create_workflow", helloWorkflow, "validation_error",
			[]string{"create_workflow", "nodes[1].parameters.seconds: must be <= 3600", "connections.Start: unknown node", "call it again"}},
		{"not found names the object", &AppAPIError{Status: 404, Code: "not_found", Message: "workflow not found"},
			"get_workflow", `{"workflow_id":"` + id + `"}`, "not_found", []string{"workflow " + id, "list_workflows"}},
		{"rate limited says when", &AppAPIError{Status: 429, Code: "rate_limit_exceeded", Message: "too many requests", RetryAfter: 17},
			"execute_workflow", `{"workflow_id":"` + id + `"}`, "rate_limit_exceeded", []string{"17 seconds"}},
		{"conflict", &AppAPIError{Status: 409, Code: "conflict", Message: "execution finished"},
			"execute_workflow", `{"workflow_id":"` + id + `"}`, "conflict", []string{"execution finished"}},
		{"credentials are a server problem", &AppAPIError{Status: 401, Code: "invalid_token", Message: "the access token is invalid"},
			"list_workflows", `{}`, "invalid_token", []string{"configuration", "will not help"}},
		{"upstream 5xx is retryable", &AppAPIError{Status: 503, Code: "unavailable", Message: "db down"},
			"list_workflows", `{}`, "unavailable", []string{"retry list_workflows"}},
		{"unreachable", ErrAppUnavailable, "get_execution", `{"execution_id":"` + id + `"}`, "app_unavailable", []string{"unreachable", "retry get_execution"}},
		{"unexpected error hides its cause", errors.New("tls: secret internal detail"), "list_workflows", `{}`, "internal_error", []string{"failed inside mcp-svc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out := call(t, newRegistry(t, &recordingAPI{err: tt.err}), owned, tt.tool, tt.args)
			if !res.IsError || out["error"] != tt.wantCode {
				t.Fatalf("result = %+v", res)
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(res.Content[0].Text, p) {
					t.Errorf("text %q lacks %q", res.Content[0].Text, p)
				}
			}
			if strings.Contains(res.Content[0].Text, "secret internal detail") {
				t.Fatalf("internal cause leaked: %s", res.Content[0].Text)
			}
		})
	}
}

func TestValidateWorkflow(t *testing.T) {
	r := newRegistry(t, &recordingAPI{})
	cyclic := strings.Replace(helloWorkflow, `"Pause": {"main"`, `"Greet": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]}, "Pause": {"main"`, 1)
	notExecutable := strings.Replace(helloWorkflow, `"subtype": "WAIT", "parameters": {"seconds": 0.2}`, `"subtype": "LOOP", "parameters": {"items": "input.items"}`, 1)
	tests := []struct {
		name                  string
		args                  string
		wantValid, wantExec   bool
		wantProblemsMentioned string
	}{
		{"DESIGN §6 example", helloWorkflow, true, true, ""},
		{"cycle", cyclic, false, false, "cycle"},
		{"valid but not executable", notExecutable, true, false, "LOOP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out := call(t, r, owned, "validate_workflow", tt.args)
			if res.IsError {
				t.Fatalf("isError: %s", res.Content[0].Text)
			}
			if out["valid"] != tt.wantValid || out["executable"] != tt.wantExec {
				t.Fatalf("valid=%v executable=%v, want %v %v: %v", out["valid"], out["executable"], tt.wantValid, tt.wantExec, out)
			}
			if p := mustJSON(out["problems"]); !strings.Contains(p, tt.wantProblemsMentioned) || (tt.wantProblemsMentioned == "") != (p == "[]") {
				t.Fatalf("problems = %s, want mention of %q", p, tt.wantProblemsMentioned)
			}
		})
	}
}
