package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/logx"
	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
)

// scripted is a WorkflowAgent on loopback whose answers each test scripts,
// to reach the client's paths the reference agent never takes (failures
// before and after the first response, a silent agent). The chat stream's
// tests in httpapi run against the real agent.
type scripted struct {
	pb.UnimplementedWorkflowAgentServer
	calls atomic.Int32
	mu    sync.Mutex
	md    metadata.MD
	req   *pb.ConversationRequest
	// answer serves call n (1-based).
	answer func(n int, stream grpc.ServerStreamingServer[pb.ConversationResponse]) error
}

func (s *scripted) ProcessConversation(req *pb.ConversationRequest, stream grpc.ServerStreamingServer[pb.ConversationResponse]) error {
	n := int(s.calls.Add(1))
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.mu.Lock()
	s.md, s.req = md, req
	s.mu.Unlock()
	return s.answer(n, stream)
}

func serveScripted(t *testing.T, answer func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error) (*scripted, string) {
	t.Helper()
	s := &scripted{answer: answer}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterWorkflowAgentServer(srv, s)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return s, ln.Addr().String()
}

func newClient(t *testing.T, addr string, timeout time.Duration, opts ...Option) *Client {
	t.Helper()
	c, err := New(addr, timeout, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func msg(text string, final bool) *pb.ConversationResponse {
	r := &pb.ConversationResponse{SessionId: "s1", Timestamp: time.Now().UnixMilli(), IsFinal: final,
		Content: &pb.ConversationResponse_Message{Message: &pb.MessageContent{Text: text, Role: "assistant"}}}
	if final {
		r.UpdatedState = &pb.AgentState{SessionId: "s1", Stage: pb.Stage_STAGE_CLARIFICATION, CurrentWorkflowJson: "{}"}
	}
	return r
}

// drain reads a conversation to its end.
func drain(cv *Conversation) ([]Response, error) {
	var out []Response
	for {
		r, err := cv.Next()
		if err != nil {
			return out, err
		}
		out = append(out, r)
		if r.Final {
			return out, nil
		}
	}
}

func wantAppErr(t *testing.T, err error, code string, httpStatus int) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != code || ae.Kind.HTTPStatus() != httpStatus {
		t.Fatalf("err = %v, want %s (%d)", err, code, httpStatus)
	}
}

func TestConverseCarriesRequestIDAndTraceContext(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	s, addr := serveScripted(t, func(_ int, stream grpc.ServerStreamingServer[pb.ConversationResponse]) error {
		return stream.Send(msg("hello", true))
	})
	c := newClient(t, addr, 5*time.Second)
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
	ctx = logx.WithRequestID(ctx, "req-123")

	cv, err := c.Converse(ctx, Turn{SessionID: "s1", UserID: "u1", Message: "hi", Origin: "create"})
	if err != nil {
		t.Fatal(err)
	}
	defer cv.Close()
	rs, err := drain(cv)
	if err != nil || len(rs) != 1 || rs[0].Message.Text != "hello" || rs[0].State == nil || rs[0].State.Stage != "clarification" {
		t.Fatalf("responses %+v, %v", rs, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tests := []struct{ key, want string }{
		{RequestIDHeader, "req-123"},
		{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-"},
	}
	for _, tt := range tests {
		if v := s.md.Get(tt.key); len(v) != 1 || !strings.HasPrefix(v[0], tt.want) {
			t.Errorf("metadata %s = %v, want %q…", tt.key, v, tt.want)
		}
	}
	if s.req.GetWorkflowContext().GetOrigin() != pb.WorkflowOrigin_WORKFLOW_ORIGIN_CREATE || s.req.GetCurrentState() != nil {
		t.Errorf("request %v: want origin create and no state on a first create turn", s.req)
	}
}

func TestRetriesUnavailableOnlyBeforeTheFirstResponse(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "restarting")
	tests := []struct {
		name      string
		attempts  int
		answer    func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error
		wantCalls int32
		// wantStart is the error code of Converse ("" for a started turn);
		// wantNext that of the turn's end ("" for a final response).
		wantStart, wantNext string
	}{
		{"unavailable twice, then an answer", 3, func(n int, s grpc.ServerStreamingServer[pb.ConversationResponse]) error {
			if n < 3 {
				return unavailable
			}
			return s.Send(msg("ok", true))
		}, 3, "", ""},
		{"unavailable every time", 3, func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error { return unavailable }, 3, "external_service_error", ""},
		{"no retry when switched off", 1, func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error { return unavailable }, 1, "external_service_error", ""},
		{"other codes are not retried", 3, func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error {
			return status.Error(codes.InvalidArgument, "user_message is required")
		}, 1, "invalid_turn", ""},
		{"unavailable after a response is not retried", 3, func(_ int, s grpc.ServerStreamingServer[pb.ConversationResponse]) error {
			if err := s.Send(msg("thinking", false)); err != nil {
				return err
			}
			return unavailable
		}, 1, "", "external_service_error"},
		{"a turn ending without a final response", 3, func(_ int, s grpc.ServerStreamingServer[pb.ConversationResponse]) error {
			return s.Send(msg("thinking", false))
		}, 1, "", "external_service_error"},
		{"a turn ending without any response", 3, func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error { return nil }, 1, "external_service_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, addr := serveScripted(t, tt.answer)
			c := newClient(t, addr, 5*time.Second, WithAttempts(tt.attempts))
			cv, err := c.Converse(context.Background(), Turn{SessionID: "s1", Message: "hi"})
			switch {
			case tt.wantStart != "":
				want := http.StatusBadGateway
				if tt.wantStart == "invalid_turn" {
					want = http.StatusBadRequest
				}
				wantAppErr(t, err, tt.wantStart, want)
			case err != nil:
				t.Fatalf("Converse: %v", err)
			default:
				defer cv.Close()
				_, err := drain(cv)
				if tt.wantNext == "" && err != nil {
					t.Fatalf("turn: %v", err)
				}
				if tt.wantNext != "" {
					wantAppErr(t, err, tt.wantNext, http.StatusBadGateway)
				}
			}
			if got := s.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestTurnDeadline(t *testing.T) {
	tests := []struct {
		name   string
		answer func(int, grpc.ServerStreamingServer[pb.ConversationResponse]) error
		// started: the deadline passes after the first response.
		started bool
	}{
		{"before the first response", func(_ int, s grpc.ServerStreamingServer[pb.ConversationResponse]) error {
			<-s.Context().Done()
			return s.Context().Err()
		}, false},
		{"while streaming", func(_ int, s grpc.ServerStreamingServer[pb.ConversationResponse]) error {
			if err := s.Send(msg("thinking", false)); err != nil {
				return err
			}
			<-s.Context().Done()
			return s.Context().Err()
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := serveScripted(t, tt.answer)
			c := newClient(t, addr, 150*time.Millisecond)
			start := time.Now()
			cv, err := c.Converse(context.Background(), Turn{SessionID: "s1", Message: "hi"})
			if tt.started {
				if err != nil {
					t.Fatal(err)
				}
				defer cv.Close()
				_, err = drain(cv)
			}
			wantAppErr(t, err, "agent_timeout", http.StatusGatewayTimeout)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s for a 150ms deadline", took)
			}
		})
	}
}

func TestCloseCancelsTheCall(t *testing.T) {
	cancelled := make(chan struct{})
	_, addr := serveScripted(t, func(_ int, s grpc.ServerStreamingServer[pb.ConversationResponse]) error {
		if err := s.Send(msg("thinking", false)); err != nil {
			return err
		}
		<-s.Context().Done()
		close(cancelled)
		return s.Context().Err()
	})
	c := newClient(t, addr, 5*time.Second)
	cv, err := c.Converse(context.Background(), Turn{SessionID: "s1", Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cv.Next(); err != nil {
		t.Fatal(err)
	}
	cv.Close()
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the agent never saw the call cancelled")
	}
	if _, err := cv.Next(); err == nil {
		t.Fatal("Next after Close returned no error")
	}
}

func TestErrorOf(t *testing.T) {
	tests := []struct {
		err        error
		code       string
		httpStatus int
		recover    bool
	}{
		{status.Error(codes.Unavailable, "down"), "external_service_error", http.StatusBadGateway, true},
		{status.Error(codes.DeadlineExceeded, "slow"), "agent_timeout", http.StatusGatewayTimeout, true},
		{context.DeadlineExceeded, "agent_timeout", http.StatusGatewayTimeout, true},
		{status.Error(codes.InvalidArgument, "invalid turn: user_message is required"), "invalid_turn", http.StatusBadRequest, false},
		{status.Error(codes.ResourceExhausted, "busy"), "agent_overloaded", http.StatusServiceUnavailable, true},
		{status.Error(codes.Aborted, "again"), "agent_conflict", http.StatusConflict, true},
		{status.Error(codes.FailedPrecondition, "state"), "agent_failed_precondition", http.StatusConflict, false},
		{status.Error(codes.Canceled, "gone"), "canceled", 499, true},
		{context.Canceled, "canceled", 499, true},
		{status.Error(codes.Internal, "boom"), "external_service_error", http.StatusBadGateway, true},
		{status.Error(codes.Unknown, "?"), "external_service_error", http.StatusBadGateway, true},
		{status.Error(codes.Unimplemented, "old agent"), "external_service_error", http.StatusBadGateway, true},
		{status.Error(codes.PermissionDenied, "not app-svc"), "external_service_error", http.StatusBadGateway, true},
		{status.Error(codes.Unauthenticated, "no token"), "external_service_error", http.StatusBadGateway, true},
		{io.ErrUnexpectedEOF, "external_service_error", http.StatusBadGateway, true},
		{apperr.NotFoundf("session not found"), "not_found", http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := ErrorOf(tt.err)
			wantAppErr(t, err, tt.code, tt.httpStatus)
			if got := Recoverable(err); got != tt.recover {
				t.Errorf("Recoverable = %v, want %v", got, tt.recover)
			}
			if !errors.Is(err, tt.err) && apperr.From(tt.err) != err {
				t.Errorf("the cause is lost: %v", err)
			}
		})
	}
	if ErrorOf(nil) != nil {
		t.Error("ErrorOf(nil) is not nil")
	}
}

func TestTurnRequest(t *testing.T) {
	saved := []byte(`{"session_id":"s1","stage":"STAGE_COMPLETED","current_workflow_json":"{\"name\":\"saved\"}","future_field":1}`)
	tests := []struct {
		name         string
		turn         Turn
		wantWorkflow string
		wantStage    pb.Stage
		wantErr      bool
	}{
		{"first create turn", Turn{SessionID: "s1", Origin: "create"}, "", pb.Stage_STAGE_UNSPECIFIED, false},
		{"first edit turn: the source goes into the state", Turn{SessionID: "s1", Origin: "edit", SourceWorkflowJSON: `{"name":"src"}`}, `{"name":"src"}`, pb.Stage_STAGE_UNSPECIFIED, false},
		{"later turns keep the agent's workflow", Turn{SessionID: "s1", Origin: "copy", State: saved, SourceWorkflowJSON: `{"name":"src"}`}, `{"name":"saved"}`, pb.Stage_STAGE_COMPLETED, false},
		{"a corrupt saved state", Turn{SessionID: "s1", State: []byte(`{"stage":`)}, "", pb.Stage_STAGE_UNSPECIFIED, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.turn.request()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := req.GetCurrentState().GetCurrentWorkflowJson(); got != tt.wantWorkflow {
				t.Errorf("current_workflow_json = %q, want %q", got, tt.wantWorkflow)
			}
			if got := req.GetCurrentState().GetStage(); got != tt.wantStage {
				t.Errorf("stage = %v, want %v", got, tt.wantStage)
			}
		})
	}
}

func TestResponseOf(t *testing.T) {
	stageState, _ := structpb.NewStruct(map[string]any{"gaps": []any{}})
	wf, _ := structpb.NewStruct(map[string]any{"name": "w", "nodes": []any{}})
	tests := []struct {
		name     string
		in       *pb.ConversationResponse
		wantType string
		check    func(Response) bool
	}{
		{"message", msg("hi", false), TypeMessage, func(r Response) bool {
			return r.Message.Text == "hi" && r.Message.Role == "assistant" && r.State == nil
		}},
		{"status change", &pb.ConversationResponse{Content: &pb.ConversationResponse_StatusChange{StatusChange: &pb.StatusChangeContent{
			PreviousStage: pb.Stage_STAGE_CLARIFICATION, CurrentStage: pb.Stage_STAGE_GAP_ANALYSIS, StageState: stageState}}}, TypeStatusChange,
			func(r Response) bool {
				return r.StatusChange.PreviousStage == "clarification" && r.StatusChange.CurrentStage == "gap_analysis" && r.StatusChange.StageState["gaps"] != nil
			}},
		{"workflow", &pb.ConversationResponse{Content: &pb.ConversationResponse_Workflow{Workflow: &pb.WorkflowContent{Text: "t", Workflow: wf}}}, TypeWorkflow,
			func(r Response) bool { return r.Workflow.Workflow["name"] == "w" }},
		{"error", &pb.ConversationResponse{IsFinal: true, Content: &pb.ConversationResponse_Error{Error: &pb.ErrorContent{ErrorCode: "x", Message: "m"}}}, TypeError,
			func(r Response) bool { return r.Error.Code == "x" && r.Error.Details == nil && r.Final }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := responseOf(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Type() != tt.wantType || r.Content() == nil || !tt.check(r) || r.At.IsZero() {
				t.Fatalf("response %+v", r)
			}
		})
	}
	if _, err := responseOf(&pb.ConversationResponse{}); err == nil {
		t.Error("a response without content was accepted")
	}
}
