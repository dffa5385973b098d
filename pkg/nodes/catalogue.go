package nodes

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The node types of the original design.
const (
	TypeTrigger        = "TRIGGER_NODE"
	TypeAIAgent        = "AI_AGENT_NODE"
	TypeExternalAction = "EXTERNAL_ACTION_NODE"
	TypeAction         = "ACTION_NODE"
	TypeFlow           = "FLOW_NODE"
	TypeHumanInTheLoop = "HUMAN_IN_THE_LOOP_NODE"
	TypeTool           = "TOOL_NODE"
	TypeMemory         = "MEMORY_NODE"
)

// TypeInfo describes one node type and lists its subtypes in catalogue order.
type TypeInfo struct {
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Subtypes    []string `json:"subtypes"`
}

// Ports names a node's inputs and outputs; connection indexes point into them.
type Ports struct {
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
	// DynamicOutputs, when set, says how the outputs follow from the
	// parameters (SWITCH); Outputs then shows the outputs of the example.
	DynamicOutputs string `json:"dynamic_outputs,omitempty"`
}

// Spec is one node type/subtype of the catalogue. Its fields are shared with
// every caller of Catalogue and Lookup: treat them as read-only.
type Spec struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	Ports       Ports  `json:"ports"`
	// CredentialFields are the keys a node may carry in its credentials,
	// which app-svc encrypts at rest. None is required to save a workflow.
	CredentialFields []string `json:"credential_fields,omitempty"`
	// Executable says this platform's workflow-engine can run the node.
	Executable bool `json:"executable"`
	// ParametersSchema is the JSON Schema of the node's parameters.
	ParametersSchema json.RawMessage `json:"parameters_schema"`
	// Example is a parameters object that validates against the schema.
	Example json.RawMessage `json:"example"`

	schema  *jsonschema.Schema
	outputs func(params map[string]any) []string // nil: Ports.Outputs
}

// Key is "TYPE.SUBTYPE", the name of the spec's schema file.
func (s Spec) Key() string { return s.Type + "." + s.Subtype }

// OutputsFor returns the outputs of a node with these parameters, or nil
// and false when they cannot be told (dynamic outputs, invalid parameters).
func (s Spec) OutputsFor(params map[string]any) ([]string, bool) {
	if s.outputs == nil {
		return s.Ports.Outputs, true
	}
	out := s.outputs(params)
	return out, out != nil
}

// Port name lists shared by many specs.
var (
	noPorts  = []string{}
	mainPort = []string{"main"}
)

var types = []TypeInfo{
	{Type: TypeTrigger, Description: "Starts a workflow: by hand, an HTTP call, a schedule or an outside event. Takes no input."},
	{Type: TypeAIAgent, Description: "Calls a large language model with a prompt built from its input."},
	{Type: TypeExternalAction, Description: "Acts in an outside service (Slack, GitHub, e-mail, Notion, Google Calendar) with the node's credentials."},
	{Type: TypeAction, Description: "Does work inside the platform: HTTP requests, data transformation, code, web search."},
	{Type: TypeFlow, Description: "Routes data: branches, filters, merges, loops and waits."},
	{Type: TypeHumanInTheLoop, Description: "Pauses the workflow until a person approves or answers."},
	{Type: TypeTool, Description: "A tool an AI agent may call."},
	{Type: TypeMemory, Description: "Memory an AI agent reads and writes: conversation buffers, vector stores, key-value state."},
}

// specs is the catalogue in the order it is listed to clients. Schemas and
// examples are filled in from schemas/ at init.
var specs = []Spec{
	trigger("MANUAL", "Manual trigger", "Starts the workflow when a user or API client executes it; the execution's inputs become its output.", nil, true),
	trigger("WEBHOOK", "Webhook trigger", "Starts the workflow on an HTTP request; the request's body, query and headers become its output.", nil, true),
	trigger("CRON", "Schedule trigger", "Starts the workflow on a cron schedule.", nil, false),
	trigger("CHAT", "Chat trigger", "Starts the workflow for each chat message; the message becomes its output.", nil, false),
	trigger("EMAIL", "E-mail trigger", "Starts the workflow for each new e-mail in a mailbox (IMAP).", []string{"imap_host", "username", "password"}, false),
	trigger("FORM", "Form trigger", "Serves a form and starts the workflow with each submission.", nil, false),
	trigger("GITHUB", "GitHub trigger", "Starts the workflow on repository events.", []string{"access_token", "webhook_secret"}, false),
	trigger("SLACK", "Slack trigger", "Starts the workflow on Slack events.", []string{"bot_token", "signing_secret"}, false),

	step(TypeAIAgent, "OPENAI", "OpenAI agent", "Calls an OpenAI-compatible chat completions endpoint (the engine's configured one) and outputs the reply.", []string{"api_key"}, true),
	step(TypeAIAgent, "CLAUDE", "Claude agent", "Calls Anthropic's Claude and outputs the reply.", []string{"api_key"}, false),
	step(TypeAIAgent, "GEMINI", "Gemini agent", "Calls Google's Gemini and outputs the reply.", []string{"api_key"}, false),

	step(TypeExternalAction, "SLACK", "Slack", "Sends or updates a Slack message.", []string{"bot_token"}, false),
	step(TypeExternalAction, "GITHUB", "GitHub", "Creates, comments on, labels or closes GitHub issues.", []string{"access_token"}, false),
	step(TypeExternalAction, "EMAIL", "Send e-mail", "Sends an e-mail over SMTP.", []string{"smtp_host", "smtp_port", "username", "password"}, false),
	step(TypeExternalAction, "GMAIL", "Gmail", "Sends, replies to or labels Gmail messages.", []string{"oauth_token"}, false),
	step(TypeExternalAction, "NOTION", "Notion", "Creates or updates Notion pages and queries databases.", []string{"api_key"}, false),
	step(TypeExternalAction, "GOOGLE_CALENDAR", "Google Calendar", "Creates, lists or deletes calendar events.", []string{"oauth_token"}, false),

	step(TypeAction, "SEND_HTTP_REQUEST", "HTTP request", "Sends an HTTP request and outputs {status, headers, body}. Private, loopback and link-local targets are refused.", []string{"bearer_token", "username", "password"}, true),
	step(TypeAction, "DATA_TRANSFORMATION", "Set values", "Outputs an object built from literal values and expr-lang expressions over its input.", nil, true),
	step(TypeAction, "CODE", "Code", "Runs a JavaScript or Python snippet over its input.", nil, false),
	step(TypeAction, "WEB_SEARCH", "Web search", "Searches the web and outputs the results.", []string{"api_key"}, false),

	flow("IF", "If", "Sends its input to output true or false by a condition.", mainPort, []string{"true", "false"}, true),
	flow("FILTER", "Filter", "Keeps the list items for which a condition holds (output kept) and passes the rest to output discarded.", mainPort, []string{"kept", "discarded"}, true),
	flow("LOOP", "Loop", "Runs the branch on output each once per item (or batch) of a list, then continues on output done. The branch must not connect back.", mainPort, []string{"each", "done"}, false),
	flow("MERGE", "Merge", "Waits for both inputs and combines them.", []string{"input_1", "input_2"}, mainPort, true),
	switchSpec(),
	flow("WAIT", "Wait", "Pauses for a number of seconds, then passes its input on. Cancellable.", mainPort, mainPort, true),

	hitl("APPROVAL", "Approval", "Asks a person in the app to approve or reject.", nil, []string{"approved", "rejected"}),
	hitl("INPUT", "Ask for input", "Asks a person in the app to fill in fields and outputs the answers.", nil, mainPort),
	hitl("SLACK", "Slack approval", "Asks in Slack for approval.", []string{"bot_token"}, []string{"approved", "rejected"}),
	hitl("EMAIL", "E-mail approval", "Asks by e-mail for approval.", []string{"smtp_host", "smtp_port", "username", "password"}, []string{"approved", "rejected"}),

	step(TypeTool, "MCP_TOOL", "MCP tool", "Calls a tool on a Model Context Protocol server.", []string{"api_key"}, false),
	step(TypeTool, "HTTP_TOOL", "HTTP tool", "An HTTP endpoint offered to an agent as a tool.", []string{"bearer_token"}, false),

	step(TypeMemory, "BUFFER", "Conversation buffer", "Keeps the last messages of a conversation.", nil, false),
	step(TypeMemory, "VECTOR_STORE", "Vector store", "Searches or fills a vector store.", []string{"api_key"}, false),
	step(TypeMemory, "KEY_VALUE", "Key-value memory", "Reads and writes state kept between runs.", nil, false),
}

func trigger(subtype, name, desc string, creds []string, exec bool) Spec {
	return Spec{Type: TypeTrigger, Subtype: subtype, DisplayName: name, Description: desc,
		Ports: Ports{Inputs: noPorts, Outputs: mainPort}, CredentialFields: creds, Executable: exec}
}

func step(typ, subtype, name, desc string, creds []string, exec bool) Spec {
	return Spec{Type: typ, Subtype: subtype, DisplayName: name, Description: desc,
		Ports: Ports{Inputs: mainPort, Outputs: mainPort}, CredentialFields: creds, Executable: exec}
}

func flow(subtype, name, desc string, in, out []string, exec bool) Spec {
	return Spec{Type: TypeFlow, Subtype: subtype, DisplayName: name, Description: desc,
		Ports: Ports{Inputs: in, Outputs: out}, Executable: exec}
}

func hitl(subtype, name, desc string, creds, out []string) Spec {
	return Spec{Type: TypeHumanInTheLoop, Subtype: subtype, DisplayName: name, Description: desc,
		Ports: Ports{Inputs: mainPort, Outputs: out}, CredentialFields: creds}
}

// maxSwitchCases mirrors maxItems of cases in FLOW_NODE.SWITCH.json.
const maxSwitchCases = 32

func switchSpec() Spec {
	s := flow("SWITCH", "Switch", "Sends its input to the output of the first case whose condition holds, or to the last output, default.", mainPort, nil, true)
	s.Ports.DynamicOutputs = "one output per entry of parameters.cases (named by its name, else case_<i>), then default"
	s.outputs = func(params map[string]any) []string {
		cases, ok := params["cases"].([]any)
		if !ok || len(cases) == 0 || len(cases) > maxSwitchCases {
			return nil
		}
		out := make([]string, 0, len(cases)+1)
		for i, c := range cases {
			name, _ := c.(map[string]any)["name"].(string)
			if name == "" {
				name = "case_" + strconv.Itoa(i)
			}
			out = append(out, name)
		}
		return append(out, "default")
	}
	return s
}

//go:embed schemas/*.json
var schemaFiles embed.FS

// schemaBase only names the schemas inside the compiler; nothing is fetched.
const schemaBase = "https://schemas.wfagent.dev/nodes/"

var byKey = map[string]int{}

// loadErr is a broken embedded schema: a programming error that
// TestCatalogue reports and Validate returns (as a plain error, a 500) rather
// than a panic at import time.
var loadErr = loadCatalogue()

func loadCatalogue() error {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // "uri", "email", "date-time" are checks, not annotations
	for i := range specs {
		s := &specs[i]
		raw, err := schemaFiles.ReadFile("schemas/" + s.Key() + ".json")
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", s.Key(), err)
		}
		if err := c.AddResource(schemaBase+s.Key()+".json", doc); err != nil {
			return fmt.Errorf("%s: %w", s.Key(), err)
		}
		if s.schema, err = c.Compile(schemaBase + s.Key() + ".json"); err != nil {
			return fmt.Errorf("%s: %w", s.Key(), err)
		}
		var meta struct {
			Examples []json.RawMessage `json:"examples"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil || len(meta.Examples) == 0 {
			return fmt.Errorf("%s: the schema needs an example", s.Key())
		}
		s.ParametersSchema, s.Example = json.RawMessage(raw), meta.Examples[0]
		if s.outputs != nil {
			var ex map[string]any
			_ = json.Unmarshal(s.Example, &ex)
			s.Ports.Outputs, _ = s.OutputsFor(ex)
		}
		if _, dup := byKey[s.Key()]; dup {
			return fmt.Errorf("%s listed twice", s.Key())
		}
		byKey[s.Key()] = i
	}
	for i := range types {
		for _, s := range specs {
			if s.Type == types[i].Type {
				types[i].Subtypes = append(types[i].Subtypes, s.Subtype)
			}
		}
	}
	return nil
}

// Catalogue returns every spec, grouped by type in the order of Types.
func Catalogue() []Spec { return slices.Clone(specs) }

// Lookup finds the spec of a type and subtype.
func Lookup(typ, subtype string) (Spec, bool) {
	i, ok := byKey[typ+"."+subtype]
	if !ok {
		return Spec{}, false
	}
	return specs[i], true
}

// Types lists the node types with their subtypes.
func Types() []TypeInfo {
	out := slices.Clone(types)
	for i := range out {
		out[i].Subtypes = slices.Clone(out[i].Subtypes)
	}
	return out
}

func knownType(typ string) (TypeInfo, bool) {
	for _, t := range types {
		if t.Type == typ {
			return t, true
		}
	}
	return TypeInfo{}, false
}
