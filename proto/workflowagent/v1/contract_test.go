package workflowagentv1_test

import (
	"context"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	wav1 "github.com/wfagent/gateway/proto/workflowagent/v1"
)

// echoAgent streams two responses per turn, the last one final.
type echoAgent struct {
	wav1.UnimplementedWorkflowAgentServer
}

func (echoAgent) ProcessConversation(req *wav1.ConversationRequest, stream grpc.ServerStreamingServer[wav1.ConversationResponse]) error {
	if err := stream.Send(&wav1.ConversationResponse{SessionId: req.GetSessionId(), Content: &wav1.ConversationResponse_StatusChange{
		StatusChange: &wav1.StatusChangeContent{PreviousStage: wav1.Stage_STAGE_CLARIFICATION, CurrentStage: wav1.Stage_STAGE_WORKFLOW_GENERATION},
	}}); err != nil {
		return err
	}
	return stream.Send(&wav1.ConversationResponse{SessionId: req.GetSessionId(), IsFinal: true, Content: &wav1.ConversationResponse_Message{
		Message: &wav1.MessageContent{Role: "assistant", Text: "you said: " + req.GetUserMessage()},
	}})
}

// TestStreamingContract runs the generated client against the generated
// server over a real loopback connection.
func TestStreamingContract(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	wav1.RegisterWorkflowAgentServer(srv, echoAgent{})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := wav1.NewWorkflowAgentClient(conn).ProcessConversation(context.Background(), &wav1.ConversationRequest{SessionId: "s1", UserMessage: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	var got []*wav1.ConversationResponse
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 || got[0].GetStatusChange().GetCurrentStage() != wav1.Stage_STAGE_WORKFLOW_GENERATION ||
		got[1].GetMessage().GetText() != "you said: hi" || !got[1].GetIsFinal() || got[0].GetIsFinal() {
		t.Fatalf("stream = %v", got)
	}
}

func TestStateRoundTrip(t *testing.T) {
	in := &wav1.AgentState{SessionId: "s", Stage: wav1.Stage_STAGE_DEBUG, DebugLoopCount: 2,
		ClarificationContext: &wav1.ClarificationContext{CollectedInfo: map[string]string{"trigger": "cron"}}}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out wav1.AgentState
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, &out) {
		t.Fatalf("round trip changed the state: %v", &out)
	}
}
