package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/wfagent/gateway/proto/workflowagent/v1"

	"github.com/wfagent/gateway/pkg/testkit"
)

// TestRun starts the whole service as make run does: gRPC health and a
// turn on PORT, probes and metrics on ADMIN_PORT, and a clean stop.
func TestRun(t *testing.T) {
	grpcPort, adminPort := testkit.FreePort(t), testkit.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{fmt.Sprintf("PORT=%d", grpcPort), fmt.Sprintf("ADMIN_PORT=%d", adminPort), "LOG_LEVEL=WARNING"}, io.Discard)
	}()
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	waitFor(t, admin+"/healthz")

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: pb.WorkflowAgent_ServiceDesc.ServiceName})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v %v", hc, err)
	}
	stream, err := pb.NewWorkflowAgentClient(conn).ProcessConversation(ctx, &pb.ConversationRequest{SessionId: "s", UserMessage: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", http.StatusOK, `"ok"`},
		{"/readyz", http.StatusOK, `"ready"`},
		{"/metrics", http.StatusOK, `agent_turns_total{outcome="completed"} 1`},
		{"/metrics", http.StatusOK, "agent_turns_cancelled_total 0"},
		{"/metrics", http.StatusOK, `grpc_server_handled_total{grpc_code="OK",grpc_method="ProcessConversation"`},
	}
	for _, tt := range tests {
		status, body := get(t, admin+tt.path)
		if status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s: %d, want %d with %q", tt.path, status, tt.status, tt.body)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the stop")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	err := run(context.Background(), []string{"ADMIN_PORT=50051"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ADMIN_PORT") {
		t.Fatalf("err %v, want the configuration refused", err)
	}
}

func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if status, _ := get(t, url); status == http.StatusOK {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
