package nodes

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestCatalogueLoads(t *testing.T) {
	if loadErr != nil {
		t.Fatalf("a schema does not compile or lacks an example: %v", loadErr)
	}
	if len(Catalogue()) != len(specs) || len(specs) < 30 {
		t.Fatalf("catalogue has %d specs", len(Catalogue()))
	}
}

// Each example must pass the whole of Validate inside a minimal workflow,
// so the examples the agent and mcp-svc hand out are ones app-svc accepts.
func TestCatalogueExamplesValidate(t *testing.T) {
	for _, s := range Catalogue() {
		t.Run(s.Key(), func(t *testing.T) {
			var params map[string]any
			if err := json.Unmarshal(s.Example, &params); err != nil {
				t.Fatalf("example is not an object: %v", err)
			}
			w := Workflow{Name: "example", Nodes: []Node{{ID: "x", Name: "X", Type: s.Type, Subtype: s.Subtype, Parameters: params}}}
			if s.Type != TypeTrigger {
				w.Nodes = append(w.Nodes, Node{ID: "t", Name: "T", Type: TypeTrigger, Subtype: "MANUAL"})
			}
			if err := Validate(w); err != nil {
				t.Fatal(err)
			}
			var schema map[string]any
			if err := json.Unmarshal(s.ParametersSchema, &schema); err != nil || schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Fatalf("schema does not declare draft 2020-12: %v", err)
			}
			if s.DisplayName == "" || s.Description == "" {
				t.Fatal("display name and description are required")
			}
		})
	}
}

func TestExecutableSet(t *testing.T) {
	want := []string{
		"TRIGGER_NODE.MANUAL", "TRIGGER_NODE.WEBHOOK", "AI_AGENT_NODE.OPENAI",
		"ACTION_NODE.SEND_HTTP_REQUEST", "ACTION_NODE.DATA_TRANSFORMATION",
		"FLOW_NODE.IF", "FLOW_NODE.FILTER", "FLOW_NODE.MERGE", "FLOW_NODE.SWITCH", "FLOW_NODE.WAIT",
	}
	var got []string
	for _, s := range Catalogue() {
		if s.Executable {
			got = append(got, s.Key())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("executable = %v, want %v", got, want)
	}
}

func TestPorts(t *testing.T) {
	tests := []struct {
		typ, subtype    string
		inputs, outputs []string
	}{
		{TypeTrigger, "MANUAL", []string{}, []string{"main"}},
		{TypeFlow, "IF", []string{"main"}, []string{"true", "false"}},
		{TypeFlow, "MERGE", []string{"input_1", "input_2"}, []string{"main"}},
		{TypeFlow, "SWITCH", []string{"main"}, []string{"high", "low", "default"}}, // the example's outputs
		{TypeHumanInTheLoop, "APPROVAL", []string{"main"}, []string{"approved", "rejected"}},
		{TypeAction, "SEND_HTTP_REQUEST", []string{"main"}, []string{"main"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"."+tt.subtype, func(t *testing.T) {
			s, ok := Lookup(tt.typ, tt.subtype)
			if !ok {
				t.Fatal("not found")
			}
			if !slices.Equal(s.Ports.Inputs, tt.inputs) || !slices.Equal(s.Ports.Outputs, tt.outputs) {
				t.Fatalf("ports = %+v, want %v → %v", s.Ports, tt.inputs, tt.outputs)
			}
		})
	}
}

func TestLookupAndTypes(t *testing.T) {
	if _, ok := Lookup(TypeFlow, "NOPE"); ok {
		t.Fatal("Lookup found an unknown subtype")
	}
	if s, ok := Lookup(TypeFlow, "WAIT"); !ok || s.Key() != "FLOW_NODE.WAIT" || len(s.Example) == 0 {
		t.Fatalf("Lookup(FLOW_NODE, WAIT) = %+v, %v", s, ok)
	}
	infos := Types()
	if len(infos) != 8 {
		t.Fatalf("got %d types", len(infos))
	}
	total := 0
	for _, ti := range infos {
		total += len(ti.Subtypes)
		for _, sub := range ti.Subtypes {
			if _, ok := Lookup(ti.Type, sub); !ok {
				t.Errorf("Types lists %s.%s but Lookup misses it", ti.Type, sub)
			}
		}
	}
	if total != len(Catalogue()) {
		t.Fatalf("Types lists %d subtypes, the catalogue has %d", total, len(Catalogue()))
	}
	// Callers get copies: changing them must not change the catalogue.
	infos[0].Subtypes[0] = "CHANGED"
	Catalogue()[0].Subtype = "CHANGED"
	if Types()[0].Subtypes[0] == "CHANGED" || Catalogue()[0].Subtype == "CHANGED" {
		t.Fatal("the catalogue leaked a mutable slice")
	}
}

// The catalogue is served as JSON by mcp-svc; it must encode.
func TestSpecJSON(t *testing.T) {
	s, _ := Lookup(TypeFlow, "IF")
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "subtype", "display_name", "description", "ports", "executable", "parameters_schema", "example"} {
		if _, ok := back[k]; !ok {
			t.Errorf("spec JSON lacks %q", k)
		}
	}
}
