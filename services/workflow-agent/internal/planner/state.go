// Package planner is the agent's domain: the state a session keeps between
// turns, the responses a turn streams, and the deterministic planner that
// turns what the user said into clarification questions or a workflow drawn
// from the node catalogue. It is pure: no I/O, no clock (the caller passes
// the time), the same turn always gives the same answer.
package planner

import (
	"sort"
	"time"
)

// Stage is where a session stands, with the original design's stages.
type Stage string

// The stages.
const (
	StageUnspecified           Stage = ""
	StageClarification         Stage = "clarification"
	StageNegotiation           Stage = "negotiation"
	StageGapAnalysis           Stage = "gap_analysis"
	StageAlternativeGeneration Stage = "alternative_generation"
	StageWorkflowGeneration    Stage = "workflow_generation"
	StageDebug                 Stage = "debug"
	StageCompleted             Stage = "completed"
	StageError                 Stage = "error"
)

// Origin says how the session started.
type Origin string

// The origins.
const (
	OriginUnspecified Origin = ""
	OriginCreate      Origin = "create"
	OriginEdit        Origin = "edit"
	OriginCopy        Origin = "copy"
)

// WorkflowContext is where a conversation started from.
type WorkflowContext struct {
	Origin             Origin
	SourceWorkflowID   string
	ModificationIntent string
}

// Roles of conversation entries and messages.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Conversation is one entry of the session's history.
type Conversation struct {
	Role string
	Text string
	At   time.Time
}

// Clarification is what the planner has learnt and still needs to know.
// CollectedInfo holds human-readable facts plus, under PlanKey, the plan
// itself as JSON so the next turn continues where this one stopped.
type Clarification struct {
	Purpose          string
	CollectedInfo    map[string]string
	PendingQuestions []string
	Origin           Origin
}

// PlanKey is the CollectedInfo key of the JSON-encoded plan.
const PlanKey = "plan"

// Gap is something the draft cannot do as asked.
type Gap struct {
	Description string
	Severity    string // info | warning
}

// Alternative is another way to get what was asked.
type Alternative struct {
	ID          string
	Title       string
	Description string
}

// DebugResult is the validation of the latest draft.
type DebugResult struct {
	Success  bool
	Errors   []string
	Warnings []string
}

// State is the agent's memory of a session. The caller stores it and sends
// it back with the next turn.
type State struct {
	SessionID           string
	UserID              string
	Stage               Stage
	PreviousStage       Stage
	IntentSummary       string
	Conversations       []Conversation
	Clarification       Clarification
	Gaps                []Gap
	Alternatives        []Alternative
	CurrentWorkflowJSON string
	Debug               DebugResult
	DebugLoopCount      int
	Context             WorkflowContext
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// MaxConversations bounds the history kept in the state; older entries are
// dropped (the caller keeps the full message history anyway).
const MaxConversations = 50

// clone copies the parts of s that a turn changes in place.
func (s State) clone() State {
	s.Conversations = append([]Conversation(nil), s.Conversations...)
	info := make(map[string]string, len(s.Clarification.CollectedInfo))
	for k, v := range s.Clarification.CollectedInfo {
		info[k] = v
	}
	s.Clarification.CollectedInfo = info
	s.Clarification.PendingQuestions = append([]string(nil), s.Clarification.PendingQuestions...)
	s.Gaps = append([]Gap(nil), s.Gaps...)
	s.Alternatives = append([]Alternative(nil), s.Alternatives...)
	return s
}

func (s *State) remember(role, text string, at time.Time) {
	s.Conversations = append(s.Conversations, Conversation{Role: role, Text: text, At: at})
	if over := len(s.Conversations) - MaxConversations; over > 0 {
		s.Conversations = append([]Conversation(nil), s.Conversations[over:]...)
	}
}

func (s *State) moveTo(stage Stage) {
	if s.Stage != stage {
		s.PreviousStage = s.Stage
		s.Stage = stage
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
