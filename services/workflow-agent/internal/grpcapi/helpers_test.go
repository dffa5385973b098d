package grpcapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/nodes"
	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
)

// harness is a real agent behind a real gRPC server on loopback.
type harness struct {
	client pb.WorkflowAgentClient
	health healthpb.HealthClient
	reg    *prometheus.Registry
	logs   *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

var defaultShutdown = httpx.Shutdown{Grace: 5 * time.Second}

func start(t testing.TB, sd httpx.Shutdown, opts ...agent.Option) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &syncBuffer{}, done: make(chan error, 1)}
	log, err := logx.New(h.logs, "standard", "DEBUG")
	if err != nil {
		t.Fatal(err)
	}
	m, err := agent.NewMetrics(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(append([]agent.Option{agent.WithLogger(log), agent.WithMetrics(m)}, opts...)...)
	srv, err := New(a, log, h.reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- srv.Serve(ctx, ln, sd) }()
	// The client pings every 30 s like app-svc; the server must accept it.
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}))
	if err != nil {
		t.Fatal(err)
	}
	h.client, h.health = pb.NewWorkflowAgentClient(conn), healthpb.NewHealthClient(conn)
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return h
}

type received struct {
	resp *pb.ConversationResponse
	at   time.Time
}

// converse runs one turn and collects every response.
func (h *harness) converse(t *testing.T, req *pb.ConversationRequest) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := h.client.ProcessConversation(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var out []received
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("after %d responses: %v", len(out), err)
		}
		out = append(out, received{r, time.Now()})
	}
}

// checkTurn wants the session id on every response and only the last one
// final, carrying the state.
func checkTurn(t *testing.T, session string, rs []received) *pb.AgentState {
	t.Helper()
	if len(rs) < 2 {
		t.Fatalf("%d responses, want several", len(rs))
	}
	for i, r := range rs {
		last := i == len(rs)-1
		if r.resp.GetSessionId() != session || r.resp.GetIsFinal() != last || (r.resp.GetUpdatedState() != nil) != last || r.resp.GetTimestamp() == 0 {
			t.Errorf("response %d: session %q final %v state %v timestamp %d", i, r.resp.GetSessionId(), r.resp.GetIsFinal(), r.resp.GetUpdatedState() != nil, r.resp.GetTimestamp())
		}
		if i > 0 && r.resp.GetTimestamp() < rs[i-1].resp.GetTimestamp() {
			t.Errorf("response %d is stamped before the one before it", i)
		}
	}
	return rs[len(rs)-1].resp.GetUpdatedState()
}

// workflowOf finds the workflow content and decodes it as the workflows API would.
func workflowOf(t *testing.T, rs []received) (nodes.Workflow, bool) {
	t.Helper()
	for _, r := range rs {
		if wc := r.resp.GetWorkflow(); wc != nil {
			raw, err := protojson.Marshal(wc.GetWorkflow())
			if err != nil {
				t.Fatal(err)
			}
			var w nodes.Workflow
			if err := json.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			return w, true
		}
	}
	return nodes.Workflow{}, false
}

// counter reads a counter (without labels, or the one with these label values).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i, l := range m.GetLabel() {
				if i < len(labels) && l.GetValue() != labels[i] {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
