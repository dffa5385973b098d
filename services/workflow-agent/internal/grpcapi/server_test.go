package grpcapi

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/nodes"
	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
)

// TestClarifyThenDraft is a session of two turns, the state going back
// to the agent as app-svc keeps it.
func TestClarifyThenDraft(t *testing.T) {
	h := start(t, defaultShutdown)
	ctx := &pb.WorkflowContext{Origin: pb.WorkflowOrigin_WORKFLOW_ORIGIN_CREATE}

	rs := h.converse(t, &pb.ConversationRequest{SessionId: "s1", UserId: "u1", UserMessage: "help me automate something", WorkflowContext: ctx})
	st := checkTurn(t, "s1", rs)
	if sc := rs[0].resp.GetStatusChange(); sc.GetPreviousStage() != pb.Stage_STAGE_UNSPECIFIED || sc.GetCurrentStage() != pb.Stage_STAGE_CLARIFICATION {
		t.Errorf("first response %v, want a status change to clarification", rs[0].resp)
	}
	if msg := rs[len(rs)-1].resp.GetMessage(); msg.GetRole() != "assistant" || !strings.Contains(msg.GetText(), "?") {
		t.Errorf("last response %v, want the assistant's question", rs[len(rs)-1].resp)
	}
	if _, ok := workflowOf(t, rs); ok {
		t.Error("a vague request got a workflow")
	}
	if st.GetStage() != pb.Stage_STAGE_CLARIFICATION || len(st.GetClarificationContext().GetPendingQuestions()) != 2 || st.GetSessionId() != "s1" || st.GetUserId() != "u1" {
		t.Errorf("state after turn 1: %v", st)
	}

	rs = h.converse(t, &pb.ConversationRequest{SessionId: "s1", UserId: "u1", WorkflowContext: ctx, CurrentState: st,
		UserMessage: "when a webhook arrives, wait 2 seconds, then send a POST request to https://api.example.com/v1/orders"})
	st2 := checkTurn(t, "s1", rs)
	w, ok := workflowOf(t, rs)
	if !ok {
		t.Fatal("no workflow after a detailed request")
	}
	if err := nodes.ValidateExecutable(w); err != nil {
		t.Fatalf("draft: %v", err)
	}
	if st2.GetStage() != pb.Stage_STAGE_COMPLETED || st2.GetPreviousStage() != pb.Stage_STAGE_DEBUG || st2.GetCurrentWorkflowJson() == "" {
		t.Errorf("state after turn 2: stage %v from %v, workflow %q", st2.GetStage(), st2.GetPreviousStage(), st2.GetCurrentWorkflowJson())
	}
	if n := len(st2.GetConversations()); n != 4 || st2.GetConversations()[0].GetText() != "help me automate something" {
		t.Errorf("conversations %v, want both turns", st2.GetConversations())
	}
	if st2.GetCreatedAt() != st.GetCreatedAt() || st2.GetUpdatedAt() < st.GetUpdatedAt() {
		t.Errorf("timestamps created %d→%d updated %d→%d", st.GetCreatedAt(), st2.GetCreatedAt(), st.GetUpdatedAt(), st2.GetUpdatedAt())
	}
	var stages []pb.Stage
	for _, r := range rs {
		if sc := r.resp.GetStatusChange(); sc != nil {
			stages = append(stages, sc.GetCurrentStage())
		}
	}
	want := []pb.Stage{pb.Stage_STAGE_GAP_ANALYSIS, pb.Stage_STAGE_WORKFLOW_GENERATION, pb.Stage_STAGE_DEBUG, pb.Stage_STAGE_COMPLETED}
	if len(stages) != len(want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}
	for i := range want {
		if stages[i] != want[i] {
			t.Errorf("stages %v, want %v", stages, want)
		}
	}

	// Third turn: a change to the draft.
	rs = h.converse(t, &pb.ConversationRequest{SessionId: "s1", CurrentState: st2, UserMessage: "change the wait to 4 seconds"})
	checkTurn(t, "s1", rs)
	w, ok = workflowOf(t, rs)
	if !ok || w.Nodes[1].Parameters["seconds"] != 4.0 {
		t.Errorf("edited draft %v %v, want the wait at 4 seconds", ok, w.Nodes)
	}
}

// TestResponsesAreStreamedOneByOne: with AGENT_RESPONSE_DELAY each
// response reaches the client before the next is sent.
func TestResponsesAreStreamedOneByOne(t *testing.T) {
	const delay = 120 * time.Millisecond
	h := start(t, defaultShutdown, agent.WithResponseDelay(delay))
	rs := h.converse(t, &pb.ConversationRequest{SessionId: "s1", UserMessage: "manually wait 1 second"})
	checkTurn(t, "s1", rs)
	for i := 1; i < len(rs); i++ {
		if gap := rs[i].at.Sub(rs[i-1].at); gap < delay*3/4 {
			t.Errorf("response %d arrived %v after the one before it, want about %v", i, gap, delay)
		}
	}
}

// TestCancellationObserved: the caller goes away mid-turn; the agent stops
// within a second and counts it.
func TestCancellationObserved(t *testing.T) {
	h := start(t, defaultShutdown, agent.WithResponseDelay(1500*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := h.client.ProcessConversation(ctx, &pb.ConversationRequest{SessionId: "s1", UserMessage: "manually wait 1 second"})
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
	if got := counter(t, h.reg, "agent_turns_total", agent.OutcomeCompleted); got != 0 {
		t.Errorf("%v turns completed, want the cancelled one not counted as completed", got)
	}
	if !strings.Contains(h.logs.String(), "turn cancelled by the caller") {
		t.Error("no log line about the cancellation")
	}
}

func TestInvalidArguments(t *testing.T) {
	h := start(t, defaultShutdown)
	tests := []struct {
		name string
		req  *pb.ConversationRequest
	}{
		{"no session", &pb.ConversationRequest{UserMessage: "hi"}},
		{"no message", &pb.ConversationRequest{SessionId: "s1"}},
		{"blank message", &pb.ConversationRequest{SessionId: "s1", UserMessage: " \n "}},
		{"state of another session", &pb.ConversationRequest{SessionId: "s1", UserMessage: "hi", CurrentState: &pb.AgentState{SessionId: "s2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := h.client.ProcessConversation(context.Background(), tt.req)
			if err == nil {
				_, err = stream.Recv()
			}
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("got %v, want InvalidArgument", err)
			}
		})
	}
	if got := counter(t, h.reg, "agent_turns_total", agent.OutcomeInvalid); got != float64(len(tests)) {
		t.Errorf("%v invalid turns counted, want %d", got, len(tests))
	}
}

// TestErrorsAreContent: a turn that fails ends with error content, not a
// broken stream.
func TestErrorsAreContent(t *testing.T) {
	h := start(t, defaultShutdown)
	rs := h.converse(t, &pb.ConversationRequest{SessionId: "s1", UserMessage: "change the wait",
		WorkflowContext: &pb.WorkflowContext{Origin: pb.WorkflowOrigin_WORKFLOW_ORIGIN_EDIT, SourceWorkflowId: "w1"}})
	last := rs[len(rs)-1].resp
	if e := last.GetError(); e.GetErrorCode() != "source_workflow_missing" || e.GetIsRecoverable() || !last.GetIsFinal() || last.GetUpdatedState().GetStage() != pb.Stage_STAGE_ERROR {
		t.Errorf("last response %v, want final error content", last)
	}
}

// TestHealthDrain: SERVING while up, NOT_SERVING as soon as the drain
// starts (calls still accepted during the drain delay), then stopped.
func TestHealthDrain(t *testing.T) {
	h := start(t, httpx.Shutdown{DrainDelay: 600 * time.Millisecond, Grace: 3 * time.Second})
	for _, svc := range []string{"", pb.WorkflowAgent_ServiceDesc.ServiceName} {
		resp, err := h.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v, want SERVING", svc, resp, err)
		}
	}
	h.stop()
	deadline := time.Now().Add(400 * time.Millisecond)
	for {
		resp, err := h.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %v %v, want NOT_SERVING while draining", resp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Still answering turns during the drain delay.
	rs := h.converse(t, &pb.ConversationRequest{SessionId: "s1", UserMessage: "manually wait 1 second"})
	checkTurn(t, "s1", rs)
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return within the grace period")
	}
}

// TestGraceCancelsLongTurns: a turn still running when the grace period
// ends is cancelled, and Serve returns.
func TestGraceCancelsLongTurns(t *testing.T) {
	h := start(t, httpx.Shutdown{Grace: 300 * time.Millisecond}, agent.WithResponseDelay(2*time.Second))
	stream, err := h.client.ProcessConversation(context.Background(), &pb.ConversationRequest{SessionId: "s1", UserMessage: "manually wait 1 second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.stop()
	for {
		if _, err := stream.Recv(); err != nil {
			if err == io.EOF {
				t.Fatal("the long turn completed instead of being cut at the grace period")
			}
			break
		}
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("the stream ended %v after the stop, want about the grace period", took)
	}
}

// TestTraceAndRequestID: the caller's W3C trace continues in a server span
// and its request id is logged and echoed.
func TestTraceAndRequestID(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	h := start(t, defaultShutdown)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	ctx := metadata.AppendToOutgoingContext(context.Background(),
		"traceparent", "00-"+traceID+"-"+parentID+"-01", RequestIDHeader, "req-123")
	var header metadata.MD
	stream, err := h.client.ProcessConversation(ctx, &pb.ConversationRequest{SessionId: "s1", UserMessage: "hello"}, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	if got := header.Get(RequestIDHeader); len(got) != 1 || got[0] != "req-123" {
		t.Errorf("response header %v, want the request id echoed", got)
	}
	var found bool
	for _, s := range rec.Ended() {
		if s.Name() == "workflowagent.v1.WorkflowAgent/ProcessConversation" {
			found = true
			if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != parentID {
				t.Errorf("span trace %s parent %s, want the caller's", s.SpanContext().TraceID(), s.Parent().SpanID())
			}
		}
	}
	if !found {
		t.Error("no server span")
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "request_id=req-123") || !strings.Contains(logs, "trace_id="+traceID) {
		t.Errorf("logs lack the request and trace ids:\n%s", logs)
	}
}
