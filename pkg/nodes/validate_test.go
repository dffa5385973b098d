package nodes

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wfagent/gateway/pkg/apperr"
)

func TestHelloPipeline(t *testing.T) {
	w := hello(t)
	if err := Validate(w); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := ValidateExecutable(w); err != nil {
		t.Fatalf("ValidateExecutable: %v", err)
	}
	order, err := TopologicalOrder(w)
	if err != nil {
		t.Fatalf("TopologicalOrder: %v", err)
	}
	if want := [][]string{{"Start"}, {"Pause"}, {"Greet"}}; !slices.EqualFunc(order, want, slices.Equal) {
		t.Fatalf("order = %v, want %v", order, want)
	}
}

// wantProblem is a problem with Message matched as a substring: the node and
// field are the contract, the wording may improve.
type wantProblem struct {
	nodeID, nodeName, field, message string
}

func checkProblems(t *testing.T, err error, want []wantProblem) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("want no error, got %v", err)
		}
		return
	}
	if !errors.Is(err, ErrInvalidWorkflow) {
		t.Fatalf("want ErrInvalidWorkflow, got %v", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %T", err)
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(ve.Problems), len(want), dump(ve.Problems))
	}
	for i, p := range ve.Problems {
		w := want[i]
		if p.NodeID != w.nodeID || p.NodeName != w.nodeName || p.Field != w.field || !strings.Contains(p.Message, w.message) {
			t.Errorf("problem %d = %+v,\nwant node %q/%q field %q message containing %q", i, p, w.nodeID, w.nodeName, w.field, w.message)
		}
	}
}

func dump(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %+v\n", p)
	}
	return b.String()
}

func link(to string, index int) Connection {
	return Connection{Node: to, Type: ConnectionMain, Index: index}
}

// addTarget connects src's first output to one more target.
func addTarget(w *Workflow, src string, c Connection) {
	w.Connections[src]["main"][0] = append(w.Connections[src]["main"][0], c)
}

func TestValidateInvalid(t *testing.T) {
	deep := any("bottom")
	for range 10_000 {
		deep = []any{deep}
	}
	manual := func(id, name string) Node {
		return Node{ID: id, Name: name, Type: TypeTrigger, Subtype: "MANUAL", Parameters: map[string]any{}}
	}
	tests := []struct {
		name   string
		mutate func(w *Workflow)
		want   []wantProblem
	}{
		{"empty name", func(w *Workflow) { w.Name = "  " },
			[]wantProblem{{"", "", "name", "is required"}}},
		{"name too long", func(w *Workflow) { w.Name = strings.Repeat("é", MaxNameLength+1) },
			[]wantProblem{{"", "", "name", "at most 128 characters"}}},
		{"no nodes", func(w *Workflow) { w.Nodes, w.Connections = nil, nil },
			[]wantProblem{{"", "", "nodes", "at least one node"}}},
		{"too many nodes", func(w *Workflow) {
			for i := range MaxNodes {
				w.Nodes = append(w.Nodes, manual(fmt.Sprint("x", i), fmt.Sprint("X", i)))
			}
		}, []wantProblem{{"", "", "nodes", "at most 200 nodes are allowed, got 203"}}},
		{"duplicate id", func(w *Workflow) { w.Nodes = append(w.Nodes, manual("n1", "Other")) },
			[]wantProblem{{"n1", "Other", "nodes[3].id", `duplicate node id "n1", also used by nodes[0]`}}},
		{"duplicate name", func(w *Workflow) { w.Nodes = append(w.Nodes, manual("n4", "Greet")) },
			[]wantProblem{{"n4", "Greet", "nodes[3].name", `duplicate node name "Greet", also used by nodes[2]`}}},
		{"missing id", func(w *Workflow) { w.Nodes[0].ID = "" },
			[]wantProblem{{"", "Start", "nodes[0].id", "is required"}}},
		{"unknown type", func(w *Workflow) { w.Nodes[1].Type = "FLOW" },
			[]wantProblem{{"n2", "Pause", "nodes[1].type", `unknown node type "FLOW"`}}},
		{"unknown subtype", func(w *Workflow) { w.Nodes[1].Subtype = "SLEEP" },
			[]wantProblem{{"n2", "Pause", "nodes[1].subtype", `unknown subtype "SLEEP" of FLOW_NODE; expected one of IF, FILTER, LOOP, MERGE, SWITCH, WAIT`}}},
		{"wrong parameter type", func(w *Workflow) { w.Nodes[1].Parameters = map[string]any{"seconds": "abc"} },
			[]wantProblem{{"n2", "Pause", "nodes[1].parameters.seconds", "must be of type number, got string"}}},
		{"missing required parameter", func(w *Workflow) { w.Nodes[1].Parameters = nil },
			[]wantProblem{{"n2", "Pause", "nodes[1].parameters.seconds", "is required"}}},
		{"negative wait", func(w *Workflow) { w.Nodes[1].Parameters = map[string]any{"seconds": -1.0} },
			[]wantProblem{{"n2", "Pause", "nodes[1].parameters.seconds", "must be > 0, got -1"}}},
		{"wait too long", func(w *Workflow) { w.Nodes[1].Parameters = map[string]any{"seconds": 7200.0} },
			[]wantProblem{{"n2", "Pause", "nodes[1].parameters.seconds", "must be <= 3600, got 7200"}}},
		{"unknown parameter", func(w *Workflow) { w.Nodes[1].Parameters["minutes"] = 1.0 },
			[]wantProblem{{"n2", "Pause", "nodes[1].parameters.minutes", "is not a parameter of this node"}}},
		{"nested parameter error", func(w *Workflow) {
			w.Nodes[2] = Node{ID: "n3", Name: "Greet", Type: TypeFlow, Subtype: "SWITCH",
				Parameters: map[string]any{"cases": []any{map[string]any{"condition": "true"}, map[string]any{"condition": 1.0}}}}
		}, []wantProblem{{"n3", "Greet", "nodes[2].parameters.cases[1].condition", "must be of type string, got number"}}},
		{"alternatives", func(w *Workflow) { w.Nodes[2].Parameters = map[string]any{"keep_input": true} },
			[]wantProblem{{"n3", "Greet", "nodes[2].parameters", "needs at least one of values, expressions"}}},
		{"deeply nested parameters", func(w *Workflow) { w.Nodes[2].Parameters = map[string]any{"values": map[string]any{"x": deep}} },
			[]wantProblem{{"n3", "Greet", "nodes[2].parameters", "nested deeper than 32 levels"}}},
		{"huge parameters", func(w *Workflow) {
			w.Nodes[2].Parameters = map[string]any{"values": map[string]any{"x": strings.Repeat("a", MaxParametersBytes)}}
		}, []wantProblem{{"n3", "Greet", "nodes[2].parameters", "larger than 65536 bytes"}}},
		{"huge settings", func(w *Workflow) { w.Settings = map[string]any{"x": deep} },
			[]wantProblem{{"", "", "settings", "nested deeper than 32 levels"}}},
		{"bad on_error and retry", func(w *Workflow) {
			w.Nodes[2].OnError = "ignore"
			w.Nodes[2].RetryPolicy = &RetryPolicy{MaxTries: 0, WaitSeconds: -1}
		}, []wantProblem{
			{"n3", "Greet", "nodes[2].on_error", `must be "stop" or "continue"`},
			{"n3", "Greet", "nodes[2].retry_policy.max_tries", "between 1 and 10"},
			{"n3", "Greet", "nodes[2].retry_policy.wait_seconds", "between 0 and 300"},
		}},
		{"unknown credential field", func(w *Workflow) { w.Nodes[1].Credentials = map[string]any{"api key": "x"} },
			[]wantProblem{{"n2", "Pause", `nodes[1].credentials["api key"]`, "unknown credential field; no credential field is expected here"}}},
		{"no trigger", func(w *Workflow) { w.Nodes[0].Disabled = true },
			[]wantProblem{{"", "", "nodes", "at least one enabled trigger node"}}},
		{"cycle", func(w *Workflow) { w.Connections["Greet"] = NodeConnections{"main": {{link("Pause", 0)}}} },
			[]wantProblem{{"n3", "Greet", "connections.Greet.main[0][0]", "connection closes a cycle Pause → Greet → Pause"}}},
		{"self-loop", func(w *Workflow) { addTarget(w, "Pause", link("Pause", 0)) },
			[]wantProblem{{"n2", "Pause", "connections.Pause.main[0][1]", "connection closes a cycle Pause → Pause"}}},
		{"dangling source", func(w *Workflow) { w.Connections["Ghost town"] = NodeConnections{"main": {{link("Greet", 0)}}} },
			[]wantProblem{{"", "Ghost town", `connections["Ghost town"]`, `source node "Ghost town" does not exist`}}},
		{"dangling target", func(w *Workflow) { addTarget(w, "Start", link("Nowhere", 0)) },
			[]wantProblem{{"n1", "Start", "connections.Start.main[0][1].node", `target node "Nowhere" does not exist`}}},
		{"output index out of range", func(w *Workflow) {
			w.Connections["Pause"]["main"] = append(w.Connections["Pause"]["main"], []Connection{link("Greet", 0)})
		},
			[]wantProblem{{"n2", "Pause", "connections.Pause.main[1]", "FLOW_NODE.WAIT has 1 output (main); output 1 does not exist"}}},
		{"input index out of range", func(w *Workflow) { w.Connections["Start"]["main"][0][0].Index = 1 },
			[]wantProblem{{"n1", "Start", "connections.Start.main[0][0].index", `target "Pause" (FLOW_NODE.WAIT) has 1 input (main); input 1 does not exist`}}},
		{"connection into a trigger", func(w *Workflow) { w.Connections["Greet"] = NodeConnections{"main": {{link("Start", 0)}}} },
			[]wantProblem{{"n3", "Greet", "connections.Greet.main[0][0].index", `target "Start" (TRIGGER_NODE.MANUAL) has no input`}}},
		{"connection types", func(w *Workflow) {
			w.Connections["Start"]["ai_tool"] = [][]Connection{{link("Greet", 0)}}
			w.Connections["Start"]["main"][0][0].Type = "ai_tool"
		}, []wantProblem{
			{"n1", "Start", "connections.Start.ai_tool", `unsupported connection type "ai_tool"`},
			{"n1", "Start", "connections.Start.main[0][0].type", `must be "main"`},
		}},
		{"duplicate connection", func(w *Workflow) { addTarget(w, "Start", link("Pause", 0)) },
			[]wantProblem{{"n1", "Start", "connections.Start.main[0][1]", `duplicate connection to "Pause" input 0`}}},
		{"too many connections", func(w *Workflow) { w.Connections["Start"]["main"] = make([][]Connection, MaxConnections+1) },
			[]wantProblem{{"", "", "connections", "at most 1000 connections"}}},
		{"problems in workflow order", func(w *Workflow) {
			w.Name = ""
			w.Nodes[1].Parameters = map[string]any{"seconds": "abc"}
			w.Nodes[2].Subtype = "NOPE"
			w.Nodes[2].Name = "Pause"
		}, []wantProblem{
			{"", "", "name", "is required"},
			{"n2", "Pause", "nodes[1].parameters.seconds", "must be of type number"},
			{"n3", "Pause", "nodes[2].subtype", `unknown subtype "NOPE"`},
			{"n3", "Pause", "nodes[2].name", `duplicate node name "Pause", also used by nodes[1]`},
			{"n2", "Pause", "connections.Pause.main[0][0].node", `target node "Greet" does not exist`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := hello(t)
			tt.mutate(&w)
			checkProblems(t, Validate(w), tt.want)
		})
	}
}

func TestValidateCapsProblems(t *testing.T) {
	w := hello(t)
	for i := range MaxNodes - 3 {
		w.Nodes = append(w.Nodes, Node{ID: fmt.Sprint("x", i), Name: fmt.Sprint("X", i), Type: "?"})
	}
	var ve *ValidationError
	if !errors.As(Validate(w), &ve) {
		t.Fatal("want a *ValidationError")
	}
	if len(ve.Problems) != MaxProblems+1 {
		t.Fatalf("got %d problems, want %d", len(ve.Problems), MaxProblems+1)
	}
	if last := ve.Problems[MaxProblems]; last.Message != "97 more problems not shown" {
		t.Fatalf("last problem = %+v", last)
	}
}

func TestValidateBranches(t *testing.T) {
	const branchy = `{"name": "Branches", "nodes": [
	  {"id": "a", "name": "Hook", "type": "TRIGGER_NODE", "subtype": "WEBHOOK", "parameters": {"method": "POST"}},
	  {"id": "b", "name": "Big?", "type": "FLOW_NODE", "subtype": "IF", "parameters": {"condition": "input.amount > 100"}},
	  {"id": "c", "name": "Route", "type": "FLOW_NODE", "subtype": "SWITCH", "parameters": {"cases": [{"name": "eu", "condition": "input.region == 'eu'"}, {"condition": "input.region == 'us'"}]}},
	  {"id": "d", "name": "Call", "type": "ACTION_NODE", "subtype": "SEND_HTTP_REQUEST", "parameters": {"method": "POST", "url": "{{ input.callback }}", "timeout_seconds": 5}, "on_error": "continue", "retry_policy": {"max_tries": 3, "wait_seconds": 1}},
	  {"id": "e", "name": "Small", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"small": "true"}}},
	  {"id": "f", "name": "Join", "type": "FLOW_NODE", "subtype": "MERGE", "parameters": {"mode": "merge_objects"}},
	  {"id": "g", "name": "Ask", "type": "AI_AGENT_NODE", "subtype": "OPENAI", "parameters": {"prompt": "Summarise {{ input }}"}, "credentials": {"api_key": "sk-…"}, "position": {"x": 10, "y": 20}}],
	 "connections": {
	  "Hook": {"main": [[{"node": "Big?", "type": "main", "index": 0}]]},
	  "Big?": {"main": [[{"node": "Route", "type": "main", "index": 0}], [{"node": "Small", "type": "main", "index": 0}]]},
	  "Route": {"main": [[{"node": "Call", "type": "main", "index": 0}], [], [{"node": "Join", "type": "main", "index": 1}]]},
	  "Call": {"main": [[{"node": "Join", "type": "main", "index": 0}]]},
	  "Small": {"main": [[{"node": "Ask", "type": "main", "index": 0}]]}}}`
	var w Workflow
	if err := json.Unmarshal([]byte(branchy), &w); err != nil {
		t.Fatal(err)
	}
	if err := ValidateExecutable(w); err != nil {
		t.Fatalf("ValidateExecutable: %v", err)
	}
	order, err := TopologicalOrder(w)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Hook"}, {"Big?"}, {"Route", "Small"}, {"Call", "Ask"}, {"Join"}}
	if !slices.EqualFunc(order, want, slices.Equal) {
		t.Fatalf("order = %v, want %v", order, want)
	}

	// SWITCH has one output per case plus default: 3 here, so output 3 is out of range.
	w.Connections["Route"]["main"] = append(w.Connections["Route"]["main"], []Connection{link("Small", 0)})
	checkProblems(t, Validate(w), []wantProblem{{"c", "Route", "connections.Route.main[3]", "has 3 outputs (eu, case_1, default); output 3 does not exist"}})
}

func TestValidateExecutable(t *testing.T) {
	w := hello(t)
	w.Nodes = append(w.Nodes, Node{ID: "n4", Name: "Tell", Type: TypeExternalAction, Subtype: "SLACK",
		Parameters: map[string]any{"channel": "#general", "text": "{{ input.greeting }}"}, Credentials: map[string]any{"bot_token": "xoxb"}})
	w.Connections["Greet"] = NodeConnections{"main": {{link("Tell", 0)}}}
	if err := Validate(w); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	checkProblems(t, ValidateExecutable(w), []wantProblem{{"n4", "Tell", "nodes[3].subtype", "EXTERNAL_ACTION_NODE.SLACK nodes cannot be executed"}})
}

func TestFieldErrors(t *testing.T) {
	w := hello(t)
	w.Name = ""
	w.Nodes[1].Parameters = map[string]any{"seconds": -1.0}
	var ve *ValidationError
	if !errors.As(Validate(w), &ve) {
		t.Fatal("want a *ValidationError")
	}
	want := []apperr.FieldError{
		{Field: "name", Message: "is required"},
		{Field: "nodes[1].parameters.seconds", Message: `node "Pause": must be > 0, got -1`},
	}
	if got := ve.FieldErrors(); !slices.Equal(got, want) {
		t.Fatalf("FieldErrors = %+v, want %+v", got, want)
	}
	if got := apperr.Validation(ve.FieldErrors()...).Kind.HTTPStatus(); got != 400 {
		t.Fatalf("status = %d", got)
	}
}

func TestTopologicalOrderRefusesCycles(t *testing.T) {
	w := hello(t)
	w.Connections["Greet"] = NodeConnections{"main": {{link("Pause", 0)}}}
	_, err := TopologicalOrder(w)
	checkProblems(t, err, []wantProblem{{"n3", "Greet", "connections.Greet.main[0][0]", "Pause → Greet → Pause"}})
}

func BenchmarkValidateHello(b *testing.B) {
	w := hello(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(w); err != nil {
			b.Fatal(err)
		}
	}
}
