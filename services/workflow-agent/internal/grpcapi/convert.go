package grpcapi

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

var stages = map[planner.Stage]pb.Stage{
	planner.StageUnspecified:           pb.Stage_STAGE_UNSPECIFIED,
	planner.StageClarification:         pb.Stage_STAGE_CLARIFICATION,
	planner.StageNegotiation:           pb.Stage_STAGE_NEGOTIATION,
	planner.StageGapAnalysis:           pb.Stage_STAGE_GAP_ANALYSIS,
	planner.StageAlternativeGeneration: pb.Stage_STAGE_ALTERNATIVE_GENERATION,
	planner.StageWorkflowGeneration:    pb.Stage_STAGE_WORKFLOW_GENERATION,
	planner.StageDebug:                 pb.Stage_STAGE_DEBUG,
	planner.StageCompleted:             pb.Stage_STAGE_COMPLETED,
	planner.StageError:                 pb.Stage_STAGE_ERROR,
}

var origins = map[planner.Origin]pb.WorkflowOrigin{
	planner.OriginUnspecified: pb.WorkflowOrigin_WORKFLOW_ORIGIN_UNSPECIFIED,
	planner.OriginCreate:      pb.WorkflowOrigin_WORKFLOW_ORIGIN_CREATE,
	planner.OriginEdit:        pb.WorkflowOrigin_WORKFLOW_ORIGIN_EDIT,
	planner.OriginCopy:        pb.WorkflowOrigin_WORKFLOW_ORIGIN_COPY,
}

func stageOf(s pb.Stage) planner.Stage {
	for k, v := range stages {
		if v == s {
			return k
		}
	}
	return planner.StageUnspecified // a newer stage this agent does not know
}

func originOf(o pb.WorkflowOrigin) planner.Origin {
	for k, v := range origins {
		if v == o {
			return k
		}
	}
	return planner.OriginUnspecified
}

func turnOf(req *pb.ConversationRequest) planner.Turn {
	return planner.Turn{
		SessionID: req.GetSessionId(),
		UserID:    req.GetUserId(),
		Message:   req.GetUserMessage(),
		Context:   contextOf(req.GetWorkflowContext()),
		State:     stateOf(req.GetCurrentState()),
	}
}

func contextOf(c *pb.WorkflowContext) planner.WorkflowContext {
	return planner.WorkflowContext{Origin: originOf(c.GetOrigin()), SourceWorkflowID: c.GetSourceWorkflowId(), ModificationIntent: c.GetModificationIntent()}
}

func contextPB(c planner.WorkflowContext) *pb.WorkflowContext {
	return &pb.WorkflowContext{Origin: origins[c.Origin], SourceWorkflowId: c.SourceWorkflowID, ModificationIntent: c.ModificationIntent}
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func stateOf(s *pb.AgentState) planner.State {
	if s == nil {
		return planner.State{}
	}
	st := planner.State{
		SessionID: s.GetSessionId(), UserID: s.GetUserId(),
		Stage: stageOf(s.GetStage()), PreviousStage: stageOf(s.GetPreviousStage()),
		IntentSummary:       s.GetIntentSummary(),
		CurrentWorkflowJSON: s.GetCurrentWorkflowJson(),
		DebugLoopCount:      int(s.GetDebugLoopCount()),
		Context:             contextOf(s.GetWorkflowContext()),
		CreatedAt:           timeOf(s.GetCreatedAt()), UpdatedAt: timeOf(s.GetUpdatedAt()),
		Clarification: planner.Clarification{
			Purpose:          s.GetClarificationContext().GetPurpose(),
			CollectedInfo:    s.GetClarificationContext().GetCollectedInfo(),
			PendingQuestions: s.GetClarificationContext().GetPendingQuestions(),
			Origin:           planner.Origin(s.GetClarificationContext().GetOrigin()),
		},
		Debug: planner.DebugResult{Success: s.GetDebugResult().GetSuccess(), Errors: s.GetDebugResult().GetErrors(), Warnings: s.GetDebugResult().GetWarnings()},
	}
	for _, c := range s.GetConversations() {
		st.Conversations = append(st.Conversations, planner.Conversation{Role: c.GetRole(), Text: c.GetText(), At: timeOf(c.GetTimestamp())})
	}
	for _, g := range s.GetGaps() {
		st.Gaps = append(st.Gaps, planner.Gap{Description: g.GetDescription(), Severity: g.GetSeverity()})
	}
	for _, a := range s.GetAlternatives() {
		st.Alternatives = append(st.Alternatives, planner.Alternative{ID: a.GetId(), Title: a.GetTitle(), Description: a.GetDescription()})
	}
	return st
}

func statePB(st planner.State) *pb.AgentState {
	s := &pb.AgentState{
		SessionId: st.SessionID, UserId: st.UserID,
		Stage: stages[st.Stage], PreviousStage: stages[st.PreviousStage],
		IntentSummary:       st.IntentSummary,
		CurrentWorkflowJson: st.CurrentWorkflowJSON,
		DebugLoopCount:      int32(st.DebugLoopCount),
		WorkflowContext:     contextPB(st.Context),
		CreatedAt:           millis(st.CreatedAt), UpdatedAt: millis(st.UpdatedAt),
		ClarificationContext: &pb.ClarificationContext{
			Purpose: st.Clarification.Purpose, CollectedInfo: st.Clarification.CollectedInfo,
			PendingQuestions: st.Clarification.PendingQuestions, Origin: string(st.Clarification.Origin),
		},
		DebugResult: &pb.DebugResult{Success: st.Debug.Success, Errors: st.Debug.Errors, Warnings: st.Debug.Warnings},
	}
	for _, c := range st.Conversations {
		s.Conversations = append(s.Conversations, &pb.Conversation{Role: c.Role, Text: c.Text, Timestamp: millis(c.At)})
	}
	for _, g := range st.Gaps {
		s.Gaps = append(s.Gaps, &pb.Gap{Description: g.Description, Severity: g.Severity})
	}
	for _, a := range st.Alternatives {
		s.Alternatives = append(s.Alternatives, &pb.Alternative{Id: a.ID, Title: a.Title, Description: a.Description})
	}
	return s
}

// responsePB converts one response, stamped with the time it is sent.
func responsePB(sessionID string, r planner.Response, now time.Time) (*pb.ConversationResponse, error) {
	out := &pb.ConversationResponse{SessionId: sessionID, Timestamp: now.UnixMilli(), IsFinal: r.Final}
	if r.State != nil {
		out.UpdatedState = statePB(*r.State)
	}
	switch {
	case r.Message != nil:
		out.Content = &pb.ConversationResponse_Message{Message: &pb.MessageContent{Text: r.Message.Text, Role: r.Message.Role}}
	case r.StatusChange != nil:
		st, err := structOf(r.StatusChange.StageState)
		if err != nil {
			return nil, err
		}
		out.Content = &pb.ConversationResponse_StatusChange{StatusChange: &pb.StatusChangeContent{
			PreviousStage: stages[r.StatusChange.Previous], CurrentStage: stages[r.StatusChange.Current],
			StageState: st, NodeName: r.StatusChange.NodeName,
		}}
	case r.Workflow != nil:
		w, err := structOf(r.Workflow.Workflow)
		if err != nil {
			return nil, err
		}
		out.Content = &pb.ConversationResponse_Workflow{Workflow: &pb.WorkflowContent{Text: r.Workflow.Text, Workflow: w}}
	case r.Error != nil:
		d, err := structOf(r.Error.Details)
		if err != nil {
			return nil, err
		}
		out.Content = &pb.ConversationResponse_Error{Error: &pb.ErrorContent{
			ErrorCode: r.Error.Code, Message: r.Error.Message, Details: d, IsRecoverable: r.Error.Recoverable,
		}}
	default:
		return nil, fmt.Errorf("response without content")
	}
	return out, nil
}

// structOf converts any JSON-shaped value through its JSON encoding, which
// keeps the field names clients see in the workflows API. nil stays nil.
func structOf(v any) (*structpb.Struct, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding content: %w", err)
	}
	if string(raw) == "null" {
		return nil, nil
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("encoding content: %w", err)
	}
	return &s, nil
}
