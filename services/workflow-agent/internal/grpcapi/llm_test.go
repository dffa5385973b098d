package grpcapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
	"github.com/wfagent/gateway/services/workflow-agent/internal/llm"
	"github.com/wfagent/gateway/services/workflow-agent/internal/llm/llmtest"
)

const (
	llmWorkflow = `{"reply": "Here is your pipeline.", "workflow": {"name": "LLM pipeline", "description": "from the model", "nodes": [
 {"id": "a", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
 {"id": "b", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 1}}],
 "connections": {"Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]}}}}`
	// invalidWorkflow parses but fails nodes.Validate (WAIT without seconds).
	invalidWorkflow = `{"reply": "Done.", "workflow": {"name": "Broken", "nodes": [
 {"id": "a", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
 {"id": "b", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {}}],
 "connections": {"Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]}}}}`
	llmQuestion = `{"reply": "Which API should it call?", "workflow": null}`
)

// TestLLMBackend runs turns through gRPC against a local server speaking
// the chat completions streaming format. The message is one the planner
// can draft ("Start → Set Values"), so a fallback is easy to tell apart
// from the model's "LLM pipeline".
func TestLLMBackend(t *testing.T) {
	const message = "manually set greeting to hello"
	tests := []struct {
		name       string
		replies    []llmtest.Reply
		requests   int
		wantName   string   // the workflow drafted; "" wants none
		wantStage  pb.Stage // the final stage
		wantLoops  int32
		answers    map[string]float64 // agent_llm_answers_total by result
		fallbacks  float64
		retryNotes string // what the retry tells the model
	}{
		{"good answer", []llmtest.Reply{{Text: llmWorkflow}}, 1, "LLM pipeline", pb.Stage_STAGE_COMPLETED, 0,
			map[string]float64{"valid": 1}, 0, ""},
		{"a question", []llmtest.Reply{{Text: llmQuestion}}, 1, "", pb.Stage_STAGE_CLARIFICATION, 0,
			map[string]float64{"valid": 1}, 0, ""},
		{"invalid workflow, then valid", []llmtest.Reply{{Text: invalidWorkflow}, {Text: llmWorkflow}}, 2, "LLM pipeline", pb.Stage_STAGE_COMPLETED, 1,
			map[string]float64{"invalid": 1, "valid": 1}, 0, "seconds"},
		{"unparseable, then valid", []llmtest.Reply{{Text: "Sure, happy to help!"}, {Text: llmWorkflow}}, 2, "LLM pipeline", pb.Stage_STAGE_COMPLETED, 1,
			map[string]float64{"invalid": 1, "valid": 1}, 0, "no JSON object"},
		{"invalid twice: the planner answers", []llmtest.Reply{{Text: invalidWorkflow}, {Text: "nope"}}, 2, "Start → Set Values", pb.Stage_STAGE_COMPLETED, 0,
			map[string]float64{"invalid": 2}, 1, ""},
		{"server error: the planner answers at once", []llmtest.Reply{{Status: http.StatusInternalServerError}}, 1, "Start → Set Values", pb.Stage_STAGE_COMPLETED, 0,
			map[string]float64{"error": 1}, 1, ""},
		{"stream cut off: the planner answers", []llmtest.Reply{{Text: llmWorkflow, Cut: true}}, 1, "Start → Set Values", pb.Stage_STAGE_COMPLETED, 0,
			map[string]float64{"error": 1}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.New(t, tt.replies...)
			h := start(t, defaultShutdown, agent.WithDrafter(llm.New(srv.URL, "sk-test", "test-model")))
			rs := h.converse(t, &pb.ConversationRequest{SessionId: "s1", UserMessage: message})
			st := checkTurn(t, "s1", rs)
			if sc := rs[0].resp.GetStatusChange(); sc.GetCurrentStage() != pb.Stage_STAGE_WORKFLOW_GENERATION {
				t.Errorf("first response %v, want the move to workflow generation before the model answers", rs[0].resp)
			}
			w, ok := workflowOf(t, rs)
			if ok != (tt.wantName != "") || w.Name != tt.wantName {
				t.Errorf("workflow %q (%v), want %q", w.Name, ok, tt.wantName)
			}
			if st.GetStage() != tt.wantStage || st.GetDebugLoopCount() != tt.wantLoops {
				t.Errorf("stage %v loops %d, want %v %d", st.GetStage(), st.GetDebugLoopCount(), tt.wantStage, tt.wantLoops)
			}
			reqs := srv.Requests()
			if len(reqs) != tt.requests {
				t.Fatalf("%d requests to the model, want %d", len(reqs), tt.requests)
			}
			if tt.retryNotes != "" {
				msgs := reqs[1].Body.Messages
				if last := msgs[len(msgs)-1].Content; !strings.Contains(last, "refused") || !strings.Contains(last, tt.retryNotes) {
					t.Errorf("retry message %q, want the reason (%q)", last, tt.retryNotes)
				}
			}
			for _, result := range []string{"valid", "invalid", "error"} {
				if got := counter(t, h.reg, "agent_llm_answers_total", result); got != tt.answers[result] {
					t.Errorf("agent_llm_answers_total{result=%q} = %v, want %v", result, got, tt.answers[result])
				}
			}
			if got := counter(t, h.reg, "agent_planner_fallbacks_total"); got != tt.fallbacks {
				t.Errorf("fallbacks %v, want %v", got, tt.fallbacks)
			}
		})
	}
}

// TestLLMCancellation: the caller goes away while the model is thinking;
// the request to the model is abandoned and the turn counted as cancelled.
func TestLLMCancellation(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply{Hang: true})
	h := start(t, defaultShutdown, agent.WithDrafter(llm.New(srv.URL, "", "m")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := h.client.ProcessConversation(ctx, &pb.ConversationRequest{SessionId: "s1", UserMessage: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	cancelled := time.Now()
	for counter(t, h.reg, "agent_turns_cancelled_total") != 1 {
		if time.Since(cancelled) > time.Second {
			t.Fatal("the agent did not observe the cancellation within a second")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := counter(t, h.reg, "agent_planner_fallbacks_total"); got != 0 {
		t.Errorf("a cancelled turn fell back to the planner %v times", got)
	}
}
