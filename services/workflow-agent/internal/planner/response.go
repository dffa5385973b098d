package planner

import "github.com/wfagent/gateway/pkg/nodes"

// Response is one streamed answer of a turn; exactly one of Message,
// StatusChange, Workflow and Error is set. The last response of a turn is
// Final and carries the updated State.
type Response struct {
	Message      *Message
	StatusChange *StatusChange
	Workflow     *WorkflowDraft
	Error        *Error
	State        *State
	Final        bool
}

// Message is text for the user.
type Message struct {
	Text string
	Role string
}

// StatusChange reports a move between stages; StageState says what the
// stage found (gaps, validation results …).
type StatusChange struct {
	Previous   Stage
	Current    Stage
	StageState map[string]any
	NodeName   string
}

// WorkflowDraft is a workflow that passes nodes.Validate.
type WorkflowDraft struct {
	Text     string
	Workflow nodes.Workflow
}

// Error is a failure of the turn, told to the caller as content.
type Error struct {
	Code        string
	Message     string
	Details     map[string]any
	Recoverable bool
}

func message(text string) Response {
	return Response{Message: &Message{Text: text, Role: RoleAssistant}}
}

func statusChange(from, to Stage, state map[string]any) Response {
	return Response{StatusChange: &StatusChange{Previous: from, Current: to, StageState: state}}
}
