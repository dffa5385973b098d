package grpcapi

import (
	"context"
	"io"
	"testing"

	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
)

// BenchmarkTurnOverGRPC is one drafting turn, every response streamed to a
// client over loopback.
func BenchmarkTurnOverGRPC(b *testing.B) {
	h := start(b, defaultShutdown)
	req := &pb.ConversationRequest{SessionId: "s1", UserMessage: "every weekday at 8:30am fetch https://example.com/a.json, if status == 200 wait 10 seconds, then set done to true"}
	for b.Loop() {
		stream, err := h.client.ProcessConversation(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := stream.Recv(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
