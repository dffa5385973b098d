package agent

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
)

// Turn is one user message with what the agent needs to answer it.
type Turn struct {
	SessionID string
	UserID    string
	Message   string
	// Origin is the session's action: create, edit or copy.
	Origin           string
	SourceWorkflowID string
	// State is the agent's state as saved after the session's last
	// completed turn (JSON, see Response.State); nil before the first.
	State []byte
	// SourceWorkflowJSON is the workflow an edit or copy session starts
	// from. It goes into current_state.current_workflow_json while the
	// state holds no workflow yet, which the agent requires.
	SourceWorkflowJSON string
}

var origins = map[string]pb.WorkflowOrigin{
	"create": pb.WorkflowOrigin_WORKFLOW_ORIGIN_CREATE,
	"edit":   pb.WorkflowOrigin_WORKFLOW_ORIGIN_EDIT,
	"copy":   pb.WorkflowOrigin_WORKFLOW_ORIGIN_COPY,
}

// stateJSON is how states are stored: field names as in the proto, so the
// JSON reads like the contract; unknown fields of a newer agent are kept
// out rather than failing a turn.
var (
	stateOut = protojson.MarshalOptions{UseProtoNames: true}
	stateIn  = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func (t Turn) request() (*pb.ConversationRequest, error) {
	req := &pb.ConversationRequest{
		SessionId: t.SessionID, UserId: t.UserID, UserMessage: t.Message,
		WorkflowContext: &pb.WorkflowContext{Origin: origins[t.Origin], SourceWorkflowId: t.SourceWorkflowID},
	}
	if len(t.State) > 0 {
		req.CurrentState = &pb.AgentState{}
		if err := stateIn.Unmarshal(t.State, req.CurrentState); err != nil {
			return nil, fmt.Errorf("the session's saved agent state does not decode: %w", err)
		}
	}
	if t.SourceWorkflowJSON != "" && req.GetCurrentState().GetCurrentWorkflowJson() == "" {
		if req.CurrentState == nil {
			req.CurrentState = &pb.AgentState{SessionId: t.SessionID, UserId: t.UserID, WorkflowContext: req.WorkflowContext}
		}
		req.CurrentState.CurrentWorkflowJson = t.SourceWorkflowJSON
	}
	return req, nil
}

// Response types, as the chat stream names them (DESIGN §3).
const (
	TypeMessage      = "message"
	TypeStatusChange = "status_change"
	TypeWorkflow     = "workflow"
	TypeError        = "error"
)

// Response is one streamed answer of a turn: exactly one content is set.
type Response struct {
	Message      *Message
	StatusChange *StatusChange
	Workflow     *WorkflowDraft
	Error        *Error
	// State is set when the response changed the agent's state (the
	// reference agent: on the final response only).
	State *State
	At    time.Time
	Final bool
}

// Type is message, status_change, workflow or error.
func (r Response) Type() string {
	switch {
	case r.Message != nil:
		return TypeMessage
	case r.StatusChange != nil:
		return TypeStatusChange
	case r.Workflow != nil:
		return TypeWorkflow
	}
	return TypeError
}

// Content is the JSON-ready content of the response's type.
func (r Response) Content() any {
	switch {
	case r.Message != nil:
		return r.Message
	case r.StatusChange != nil:
		return r.StatusChange
	case r.Workflow != nil:
		return r.Workflow
	}
	return r.Error
}

// Message is text for the user.
type Message struct {
	Text string `json:"text"`
	Role string `json:"role"`
}

// StatusChange is a move between the agent's stages.
type StatusChange struct {
	PreviousStage string         `json:"previous_stage"`
	CurrentStage  string         `json:"current_stage"`
	StageState    map[string]any `json:"stage_state"`
	NodeName      string         `json:"node_name,omitempty"`
}

// WorkflowDraft is a drafted workflow (nodes + n8n-style connections) with
// the agent's caption.
type WorkflowDraft struct {
	Text     string         `json:"text"`
	Workflow map[string]any `json:"workflow"`
}

// Error is a failure of the turn, as content.
type Error struct {
	Code        string         `json:"error_code"`
	Message     string         `json:"message"`
	Details     map[string]any `json:"details,omitempty"`
	Recoverable bool           `json:"is_recoverable"`
}

// State is the agent's state after a response: its stage and the whole
// state as JSON, which the next turn sends back.
type State struct {
	Stage string
	JSON  []byte
}

// StageName is a stage as stored and streamed: "clarification", "completed" …
func StageName(s pb.Stage) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STAGE_"))
}

func responseOf(m *pb.ConversationResponse) (Response, error) {
	r := Response{At: time.UnixMilli(m.GetTimestamp()), Final: m.GetIsFinal()}
	if m.GetTimestamp() == 0 {
		r.At = time.Now()
	}
	switch c := m.GetContent().(type) {
	case *pb.ConversationResponse_Message:
		role := c.Message.GetRole()
		if role != "system" {
			role = "assistant"
		}
		r.Message = &Message{Text: c.Message.GetText(), Role: role}
	case *pb.ConversationResponse_StatusChange:
		r.StatusChange = &StatusChange{
			PreviousStage: StageName(c.StatusChange.GetPreviousStage()), CurrentStage: StageName(c.StatusChange.GetCurrentStage()),
			StageState: mapOf(c.StatusChange.GetStageState()), NodeName: c.StatusChange.GetNodeName(),
		}
	case *pb.ConversationResponse_Workflow:
		r.Workflow = &WorkflowDraft{Text: c.Workflow.GetText(), Workflow: mapOf(c.Workflow.GetWorkflow())}
	case *pb.ConversationResponse_Error:
		r.Error = &Error{Code: c.Error.GetErrorCode(), Message: c.Error.GetMessage(), Details: c.Error.GetDetails().AsMap(), Recoverable: c.Error.GetIsRecoverable()}
		if len(r.Error.Details) == 0 {
			r.Error.Details = nil
		}
	default:
		return Response{}, fmt.Errorf("the agent sent a response without content")
	}
	if s := m.GetUpdatedState(); s != nil {
		raw, err := stateOut.Marshal(s)
		if err != nil {
			return Response{}, fmt.Errorf("encoding the agent's state: %w", err)
		}
		r.State = &State{Stage: StageName(s.GetStage()), JSON: raw}
	}
	return r, nil
}

// mapOf is a Struct as plain JSON values; never nil, so clients always get
// an object.
func mapOf(s *structpb.Struct) map[string]any {
	if m := s.AsMap(); m != nil {
		return m
	}
	return map[string]any{}
}
