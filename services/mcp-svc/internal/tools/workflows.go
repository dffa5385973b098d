package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/nodes"
)

// WorkflowAPI is the part of app-svc's App API the workflow tools use,
// called as owner. Each method returns the App API's JSON object as it
// came, or an *AppAPIError, or an error wrapping ErrAppUnavailable.
type WorkflowAPI interface {
	ListWorkflows(ctx context.Context, owner uuid.UUID, limit int, cursor string) (json.RawMessage, error)
	GetWorkflow(ctx context.Context, owner uuid.UUID, id string) (json.RawMessage, error)
	CreateWorkflow(ctx context.Context, owner uuid.UUID, workflow json.RawMessage) (json.RawMessage, error)
	ExecuteWorkflow(ctx context.Context, owner uuid.UUID, id string, inputs json.RawMessage, idempotencyKey string) (json.RawMessage, error)
	GetExecution(ctx context.Context, owner uuid.UUID, id string) (json.RawMessage, error)
}

// ErrAppUnavailable means app-svc could not be reached or did not answer
// in time.
var ErrAppUnavailable = errors.New("app-svc unavailable")

// AppAPIError is an App API refusal, decoded from its error body
// (DESIGN §3).
type AppAPIError struct {
	Status     int
	Code       string
	Message    string
	Details    []apperr.FieldError
	RetryAfter int
}

func (e *AppAPIError) Error() string {
	return fmt.Sprintf("app-svc answered %d %s: %s", e.Status, e.Code, e.Message)
}

// workflowSchema describes a workflow as create_workflow and
// validate_workflow take it: the App API's body, DESIGN §6.
const workflowSchema = `{
  "type": "object",
  "required": ["name", "nodes", "connections"],
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 128},
    "description": {"type": "string", "maxLength": 4096},
    "nodes": {
      "type": "array", "minItems": 1, "maxItems": 200,
      "description": "The steps. Use get_node_details for each type/subtype's parameters.",
      "items": {
        "type": "object",
        "required": ["id", "name", "type", "subtype"],
        "properties": {
          "id": {"type": "string", "description": "Unique id; execution events refer to it."},
          "name": {"type": "string", "description": "Unique name; connections refer to it."},
          "type": {"type": "string", "description": "Node type, e.g. TRIGGER_NODE."},
          "subtype": {"type": "string", "description": "Node subtype, e.g. MANUAL."},
          "parameters": {"type": "object"},
          "credentials": {"type": "object", "description": "Stored encrypted; never returned."},
          "disabled": {"type": "boolean"},
          "on_error": {"type": "string", "enum": ["stop", "continue"]},
          "retry_policy": {"type": "object", "properties": {"max_tries": {"type": "integer"}, "wait_seconds": {"type": "number"}}},
          "position": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}
        }
      }
    },
    "connections": {
      "type": "object",
      "description": "n8n's shape, keyed by source node name: {\"Start\": {\"main\": [[{\"node\": \"Next\", \"type\": \"main\", \"index\": 0}]]}}.",
      "additionalProperties": {"type": "object"}
    },
    "settings": {"type": "object"}
  }
}`

const idSchema = `{"type": "string", "minLength": 1, "maxLength": 64, "description": "%s"}`

func workflowTools(api WorkflowAPI) []entry {
	readOnly := Annotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)}
	w := workflowHandlers{api: api}
	return []entry{
		{
			ownerOnly: true,
			tool: Tool{
				Name:        "list_workflows",
				Description: "List the workflows of the API key's owner, newest first. Pass next_cursor back as cursor for the next page.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "properties": {
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "cursor": {"type": "string", "maxLength": 512, "description": "next_cursor of the previous page."}
  },
  "additionalProperties": false
}`),
				Annotations: withTitle(readOnly, "List workflows"),
			},
			run: w.list,
		},
		{
			ownerOnly: true,
			tool: Tool{
				Name:        "get_workflow",
				Description: "Get one workflow of the API key's owner: nodes, connections, settings and version.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "required": ["workflow_id"],
  "properties": {"workflow_id": ` + fmt.Sprintf(idSchema, "The workflow's id (a UUID).") + `},
  "additionalProperties": false
}`),
				Annotations: withTitle(readOnly, "Get workflow"),
			},
			run: w.get,
		},
		{
			ownerOnly: true,
			tool: Tool{
				Name: "create_workflow",
				Description: "Save a new workflow for the API key's owner. It must be a DAG of catalogue nodes with at least one trigger; " +
					"call validate_workflow first to see every problem at once. Returns the stored workflow with its id.",
				InputSchema: json.RawMessage(workflowSchema),
				Annotations: Annotations{Title: "Create workflow", DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
			},
			run: w.create,
		},
		{
			ownerOnly: true,
			tool: Tool{
				Name: "validate_workflow",
				Description: "Check a workflow without saving it: names, node types, parameters against their schemas, connections, " +
					"a DAG and a trigger. Also tells whether this platform's engine can execute every node.",
				InputSchema: json.RawMessage(workflowSchema),
				Annotations: withTitle(readOnly, "Validate workflow"),
			},
			run: validateWorkflow,
		},
		{
			ownerOnly: true,
			tool: Tool{
				Name: "execute_workflow",
				Description: "Start a run of a saved workflow of the API key's owner. Returns at once with execution_id and status \"new\"; " +
					"follow it with get_execution. The same idempotency_key within 24 h returns the same execution instead of a new run.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "required": ["workflow_id"],
  "properties": {
    "workflow_id": ` + fmt.Sprintf(idSchema, "The workflow's id (a UUID).") + `,
    "inputs": {"type": "object", "description": "Becomes the trigger's output."},
    "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 255}
  },
  "additionalProperties": false
}`),
				Annotations: Annotations{Title: "Execute workflow", DestructiveHint: ptr(true), OpenWorldHint: ptr(true)},
			},
			run: w.execute,
		},
		{
			ownerOnly: true,
			tool: Tool{
				Name:        "get_execution",
				Description: "Get an execution's status (new, running, success, error, canceled), per-node results, result, error and timings.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "required": ["execution_id"],
  "properties": {"execution_id": ` + fmt.Sprintf(idSchema, "The execution's id (a UUID), from execute_workflow.") + `},
  "additionalProperties": false
}`),
				Annotations: Annotations{Title: "Get execution", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
			},
			run: w.getExecution,
		},
	}
}

type workflowHandlers struct{ api WorkflowAPI }

// owner is set: Call refuses owner-only tools to keys without one.
func owner(c Caller) uuid.UUID { return c.Owner.UUID }

// parseID refuses what cannot be an id before asking app-svc.
func parseID(field, v string) (string, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		return "", failf("invalid_arguments", "%s %q is not a UUID; list_workflows shows the ids of your workflows", field, v)
	}
	return id.String(), nil
}

func (w workflowHandlers) list(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var args struct {
		Limit  int    `json:"limit"`
		Cursor string `json:"cursor"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	res, err := w.api.ListWorkflows(ctx, owner(c), args.Limit, args.Cursor)
	return res, explain(err, "list_workflows", "")
}

func (w workflowHandlers) get(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var args struct {
		WorkflowID string `json:"workflow_id"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	id, err := parseID("workflow_id", args.WorkflowID)
	if err != nil {
		return nil, err
	}
	res, err := w.api.GetWorkflow(ctx, owner(c), id)
	return res, explain(err, "get_workflow", "workflow "+id)
}

func (w workflowHandlers) create(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	res, err := w.api.CreateWorkflow(ctx, owner(c), raw)
	return res, explain(err, "create_workflow", "")
}

func (w workflowHandlers) execute(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var args struct {
		WorkflowID     string          `json:"workflow_id"`
		Inputs         json.RawMessage `json:"inputs"`
		IdempotencyKey string          `json:"idempotency_key"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	id, err := parseID("workflow_id", args.WorkflowID)
	if err != nil {
		return nil, err
	}
	res, err := w.api.ExecuteWorkflow(ctx, owner(c), id, args.Inputs, args.IdempotencyKey)
	return res, explain(err, "execute_workflow", "workflow "+id)
}

func (w workflowHandlers) getExecution(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var args struct {
		ExecutionID string `json:"execution_id"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	id, err := parseID("execution_id", args.ExecutionID)
	if err != nil {
		return nil, err
	}
	res, err := w.api.GetExecution(ctx, owner(c), id)
	return res, explain(err, "get_execution", "execution "+id)
}

// validationResult is validate_workflow's answer. An invalid workflow is a
// successful call: the problems are the answer.
type validationResult struct {
	Valid      bool            `json:"valid"`
	Executable bool            `json:"executable"`
	Problems   []nodes.Problem `json:"problems"`
	Summary    string          `json:"summary"`
}

func validateWorkflow(_ context.Context, _ Caller, raw json.RawMessage) (any, error) {
	var wf nodes.Workflow
	if err := json.Unmarshal(raw, &wf); err != nil {
		return nil, failf("invalid_arguments", "the workflow does not match the expected shape: %v", err)
	}
	out := validationResult{Problems: []nodes.Problem{}}
	err := nodes.Validate(wf)
	var ve *nodes.ValidationError
	switch {
	case errors.As(err, &ve):
		out.Problems = ve.Problems
		out.Summary = fmt.Sprintf("invalid: %d problem(s); fix them and validate again", len(ve.Problems))
		return out, nil
	case err != nil:
		return nil, err
	}
	out.Valid = true
	err = nodes.ValidateExecutable(wf)
	switch {
	case errors.As(err, &ve):
		out.Problems = ve.Problems
		out.Summary = "valid and can be saved, but this platform's engine cannot execute some nodes (see problems)"
	case err != nil:
		return nil, err
	default:
		out.Executable = true
		out.Summary = "valid and executable: create_workflow will accept it"
	}
	return out, nil
}

// explain turns an App API failure into a message an LLM can act on; what
// names the object asked for ("workflow <id>"), when there is one.
func explain(err error, tool, what string) error {
	if err == nil {
		return nil
	}
	var ae *AppAPIError
	if !errors.As(err, &ae) {
		if errors.Is(err, ErrAppUnavailable) {
			return &toolError{code: "app_unavailable", message: "the App API (app-svc) is unreachable or did not answer in time; retry " + tool + " in a few seconds."}
		}
		return err
	}
	te := &toolError{code: ae.Code, details: ae.Details}
	switch {
	case ae.Status == 404 && what != "":
		te.message = fmt.Sprintf("%s was not found: it does not exist or belongs to another user. list_workflows shows the workflows this key can use.", what)
	case ae.Status == 400 || ae.Status == 422:
		var b strings.Builder
		fmt.Fprintf(&b, "app-svc refused %s (%s): %s", tool, ae.Code, ae.Message)
		if len(ae.Details) > 0 {
			b.WriteString(". Fix these and call it again:")
			for _, d := range ae.Details {
				fmt.Fprintf(&b, "\n- %s: %s", d.Field, d.Message)
			}
		}
		te.message = b.String()
	case ae.Status == 409:
		te.message = fmt.Sprintf("%s conflicts with the current state (%s): %s", tool, ae.Code, ae.Message)
	case ae.Status == 413:
		te.message = fmt.Sprintf("the request of %s is too large for the App API: send fewer or smaller nodes.", tool)
	case ae.Status == 429:
		te.message = fmt.Sprintf("the App API's rate limit for this user is reached; retry %s after %d seconds.", tool, max(ae.RetryAfter, 1))
	case ae.Status == 401 || ae.Status == 403:
		te.message = fmt.Sprintf("the App API refused mcp-svc's credentials for this key's owner (%s). This is a server configuration problem "+
			"(JWT_SECRET_KEY and AUTH_INTERNAL_* must match app-svc's); retrying will not help.", ae.Code)
	case ae.Status >= 500:
		te.message = fmt.Sprintf("the App API failed (%d %s); retry %s in a few seconds.", ae.Status, ae.Code, tool)
	default:
		te.message = fmt.Sprintf("app-svc refused %s (%d %s): %s", tool, ae.Status, ae.Code, ae.Message)
	}
	return te
}
