// Package tools is mcp-svc's tool registry: the node-knowledge tools over
// the shared catalogue (pkg/nodes) and the workflow tools that act for an
// API key's owner through app-svc's App API. The REST API and the Model
// Context Protocol endpoint both list and call tools through one Registry,
// so the two can never disagree on names, schemas or results.
//
// A call never fails at the transport level once the tool exists: bad
// arguments, a key without an owner and App API refusals all come back as
// a Result with IsError set and a message an LLM can act on.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ErrUnknownTool is returned by Call for a name no tool has.
var ErrUnknownTool = errors.New("unknown tool")

// Caller is who calls a tool: the authenticated key, reduced to what tools
// need. Owner is invalid for keys without an owner (and for anonymous
// development requests).
type Caller struct {
	Owner  uuid.NullUUID
	Client string // client name, for logs
}

// Annotations are MCP's tool hints (ToolAnnotations).
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    bool   `json:"readOnlyHint"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  bool   `json:"idempotentHint"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// Tool is a tool as clients see it, in MCP's shape.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
	Annotations Annotations     `json:"annotations"`
}

// Content is one item of a result's content; tools only produce text.
type Content struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Result is a tool call's outcome, in MCP's CallToolResult shape.
type Result struct {
	Content           []Content `json:"content"`
	StructuredContent any       `json:"structuredContent,omitempty"`
	IsError           bool      `json:"isError"`
}

// toolError is a failure the caller can act on; its message becomes the
// result's text. Other errors from a tool are logged and reported as an
// internal failure without their detail.
type toolError struct {
	code    string
	message string
	details any
}

func (e *toolError) Error() string { return e.message }

func failf(code, format string, args ...any) *toolError {
	return &toolError{code: code, message: fmt.Sprintf(format, args...)}
}

// handler runs a tool with arguments that passed its input schema.
type handler func(ctx context.Context, c Caller, args json.RawMessage) (any, error)

type entry struct {
	tool Tool
	// ownerOnly tools act on the key owner's data and are hidden from keys
	// without an owner.
	ownerOnly bool
	schema    *jsonschema.Schema
	run       handler
}

// Registry holds the tools in the order they are listed.
type Registry struct {
	entries []entry
	byName  map[string]int
	log     *slog.Logger
}

// New builds the registry. Without wf (no JWT_SECRET_KEY to act for owners)
// only the node-knowledge tools exist.
func New(wf WorkflowAPI, log *slog.Logger) (*Registry, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{byName: map[string]int{}, log: log}
	defs := catalogueTools()
	if wf != nil {
		defs = append(defs, workflowTools(wf)...)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for _, e := range defs {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.tool.InputSchema))
		if err != nil {
			return nil, fmt.Errorf("tool %s: input schema: %w", e.tool.Name, err)
		}
		url := "mem:///tools/" + e.tool.Name + ".json"
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("tool %s: %w", e.tool.Name, err)
		}
		if e.schema, err = c.Compile(url); err != nil {
			return nil, fmt.Errorf("tool %s: input schema: %w", e.tool.Name, err)
		}
		if _, dup := r.byName[e.tool.Name]; dup {
			return nil, fmt.Errorf("tool %s defined twice", e.tool.Name)
		}
		r.byName[e.tool.Name] = len(r.entries)
		r.entries = append(r.entries, e)
	}
	return r, nil
}

// All lists every tool, owner-only ones included (the MCP server registers
// them all and hides per caller).
func (r *Registry) All() []Tool {
	out := make([]Tool, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.tool
	}
	return out
}

// List is what c may see.
func (r *Registry) List(c Caller) []Tool {
	out := make([]Tool, 0, len(r.entries))
	for _, e := range r.entries {
		if visible(e, c) {
			out = append(out, e.tool)
		}
	}
	return out
}

// Visible reports whether a tool named name exists and c may see it.
func (r *Registry) Visible(c Caller, name string) bool {
	i, ok := r.byName[name]
	return ok && visible(r.entries[i], c)
}

// Lookup returns the tool named name if c may see it; owner reports
// whether it exists but is for keys with an owner only.
func (r *Registry) Lookup(c Caller, name string) (t Tool, ok, ownerOnly bool) {
	i, found := r.byName[name]
	if !found {
		return Tool{}, false, false
	}
	e := r.entries[i]
	return e.tool, visible(e, c), e.ownerOnly
}

func visible(e entry, c Caller) bool { return !e.ownerOnly || c.Owner.Valid }

// Call runs the tool named name. The error is ErrUnknownTool or nil: every
// failure of an existing tool is a Result with IsError.
func (r *Registry) Call(ctx context.Context, c Caller, name string, args json.RawMessage) (Result, error) {
	i, ok := r.byName[name]
	if !ok {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownTool, name)
	}
	e := r.entries[i]
	if e.ownerOnly && !c.Owner.Valid {
		return errorResult(&toolError{code: "owner_required", message: fmt.Sprintf(
			"%s acts on the workflows of the API key's owner, and this API key has no owner. "+
				"Use a key created by a user (App API POST /api/app/api-keys, or `make apikey OWNER=<user uuid>`); "+
				"the node tools (get_node_types, get_node_details, search_nodes) work with any key.", name)}), nil
	}
	args = bytes.TrimSpace(args)
	if len(args) == 0 || bytes.Equal(args, []byte("null")) {
		args = []byte("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return errorResult(failf("invalid_arguments", "the arguments of %s are not valid JSON: %v", name, err)), nil
	}
	if err := e.schema.Validate(inst); err != nil {
		return errorResult(argumentsError(name, err)), nil
	}
	v, err := e.run(ctx, c, args)
	if err != nil {
		var te *toolError
		if !errors.As(err, &te) {
			r.log.ErrorContext(ctx, "tool failed", "tool", name, "client", c.Client, "error", err.Error())
			te = &toolError{code: "internal_error", message: name + " failed inside mcp-svc; the failure is logged. Retrying may help; if it keeps failing, report the request id."}
		}
		return errorResult(te), nil
	}
	return okResult(v)
}

func okResult(v any) (Result, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the text is read by models, not embedded in HTML
	if err := enc.Encode(v); err != nil {
		return Result{}, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return Result{Content: []Content{{Type: "text", Text: string(b)}}, StructuredContent: json.RawMessage(b)}, nil
}

// errorBody is the structured content of a failed call.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func errorResult(e *toolError) Result {
	return Result{
		Content:           []Content{{Type: "text", Text: e.message}},
		StructuredContent: errorBody{Error: e.code, Message: e.message, Details: e.details},
		IsError:           true,
	}
}

// printer words schema errors; English is what the API speaks.
var printer = message.NewPrinter(language.English)

// argumentsError lists each schema violation as "<where>: <what>".
func argumentsError(tool string, err error) *toolError {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &toolError{code: "invalid_arguments", message: fmt.Sprintf("invalid arguments for %s: %v", tool, err)}
	}
	var lines []string
	var leaves func(e *jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			where := "arguments"
			if len(e.InstanceLocation) > 0 {
				where = "/" + strings.Join(e.InstanceLocation, "/")
			}
			lines = append(lines, where+": "+e.ErrorKind.LocalizedString(printer))
			return
		}
		for _, c := range e.Causes {
			leaves(c)
		}
	}
	leaves(ve)
	slices.Sort(lines)
	lines = slices.Compact(lines)
	return &toolError{
		code:    "invalid_arguments",
		message: fmt.Sprintf("invalid arguments for %s (see its inputSchema):\n- %s", tool, strings.Join(lines, "\n- ")),
		details: lines,
	}
}

// ptr is for the optional annotation hints.
func ptr[T any](v T) *T { return &v }
