package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

const hello = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

func TestInvoke(t *testing.T) {
	s := newServer(t, options{api: standInAPI(t)})
	tests := []struct {
		name, key, body string
		status          int
		code            string // error code, or "" for a tool result
		wantIsError     bool
		wantText        string
	}{
		{"name and arguments", keyOf("exec"), `{"name":"get_node_types","arguments":{"type_filter":"FLOW_NODE"}}`, 200, "", false, "WAIT"},
		{"legacy tool_name and params", keyOf("exec"), `{"tool_name":"search_nodes","params":{"query":"wait"}}`, 200, "", false, "WAIT"},
		{"legacy tool_name and parameters", keyOf("exec"), `{"tool_name":"search_nodes","parameters":{"query":"wait"}}`, 200, "", false, "WAIT"},
		{"no arguments", keyOf("exec"), `{"name":"get_node_types"}`, 200, "", false, "TRIGGER_NODE"},
		{"invalid arguments are a tool error", keyOf("exec"), `{"name":"search_nodes","arguments":{"query":""}}`, 200, "", true, "/query"},
		{"workflow tool without owner is a tool error", keyOf("exec"), `{"name":"list_workflows","arguments":{}}`, 200, "", true, "no owner"},
		{"workflow tool with owner", keyOf("owned"), `{"name":"validate_workflow","arguments":` + hello + `}`, 200, "", false, "valid and executable"},
		{"App API validation details flattened", keyOf("owned"), `{"name":"create_workflow","arguments":` + strings.Replace(hello, "Hello pipeline", "invalid", 1) + `}`, 200, "", true, "nodes[1].parameters.seconds: must be <= 3600"},
		{"unknown tool", keyOf("exec"), `{"name":"drop_tables"}`, 404, "tool_not_found", false, ""},
		{"not JSON", keyOf("exec"), `{name`, 400, "bad_request", false, ""},
		{"no name", keyOf("exec"), `{"arguments":{}}`, 400, "validation_error", false, ""},
		{"name and tool_name differ", keyOf("exec"), `{"name":"a","tool_name":"b"}`, 400, "validation_error", false, ""},
		{"arguments twice", keyOf("exec"), `{"name":"search_nodes","arguments":{},"params":{}}`, 400, "validation_error", false, ""},
		{"body over 1 MiB", keyOf("exec"), `{"name":"search_nodes","arguments":{"query":"` + strings.Repeat("x", maxBodyBytes) + `"}}`, 413, "request_too_large", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(http.MethodPost, "/api/mcp/invoke", tt.body, "X-API-Key", tt.key)
			checkDoc(t, "POST", "/api/mcp/invoke", r)
			if tt.code != "" {
				m := wantMCPError(t, r, tt.status, tt.code)
				if tt.code == "validation_error" && len(m["details"].(map[string]any)["fields"].([]any)) == 0 {
					t.Fatalf("validation error without fields: %s", r.body)
				}
				return
			}
			sc, isError := structured(t, r)
			if isError != tt.wantIsError {
				t.Fatalf("isError = %v: %s", isError, r.body)
			}
			if !strings.Contains(string(r.body), tt.wantText) {
				t.Fatalf("result lacks %q: %s", tt.wantText, r.body)
			}
			if isError && (sc["error"] == nil || sc["message"] == nil) {
				t.Fatalf("error result without error/message: %v", sc)
			}
		})
	}
}

// TestOwnedKeyWorkflowFlow creates the DESIGN §6 example, executes it and
// reads the execution back, over REST, against the App API stand-in.
func TestOwnedKeyWorkflowFlow(t *testing.T) {
	s := newServer(t, options{api: standInAPI(t)})
	invoke := func(tool, args string) map[string]any {
		t.Helper()
		sc, isError := structured(t, s.do(http.MethodPost, "/api/mcp/invoke", `{"name":"`+tool+`","arguments":`+args+`}`, "Authorization", "Bearer "+keyOf("owned")))
		if isError {
			t.Fatalf("%s: %v", tool, sc)
		}
		return sc
	}
	wf := invoke("create_workflow", hello)
	id, _ := wf["id"].(string)
	if id == "" || wf["name"] != "Hello pipeline" {
		t.Fatalf("created = %v", wf)
	}
	if got := invoke("get_workflow", `{"workflow_id":"`+id+`"}`); got["id"] != id {
		t.Fatalf("get_workflow = %v", got)
	}
	if list := invoke("list_workflows", `{"limit":10}`); len(list["workflows"].([]any)) != 1 {
		t.Fatalf("list_workflows = %v", list)
	}
	ex := invoke("execute_workflow", `{"workflow_id":"`+id+`","inputs":{}}`)
	if ex["status"] != "new" || ex["execution_id"] == nil {
		t.Fatalf("execute_workflow = %v", ex)
	}
	got := invoke("get_execution", `{"execution_id":"`+ex["execution_id"].(string)+`"}`)
	if got["status"] != "success" {
		t.Fatalf("get_execution = %v", got)
	}
	// Another workflow id is the App API's 404, explained.
	r := s.do(http.MethodPost, "/api/mcp/invoke", `{"name":"get_workflow","arguments":{"workflow_id":"7d0e4c36-52b5-4ef4-a3a8-5e6d4b0fd0ff"}}`, "X-API-Key", keyOf("owned"))
	if sc, isError := structured(t, r); !isError || !strings.Contains(sc["message"].(string), "belongs to another user") {
		t.Fatalf("missing workflow = %v", sc)
	}
}
