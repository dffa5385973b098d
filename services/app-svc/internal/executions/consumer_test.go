package executions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/pkg/secrets"
	"github.com/wfagent/gateway/pkg/testkit"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// world is a migrated database, a bus on names no other test uses, and
// one user with a stored workflow (a credential included).
type world struct {
	st       *store.Store
	admin    *pgxpool.Pool
	bus      *events.Bus
	codec    *workflows.Codec
	sealer   *secrets.Sealer
	user     *auth.User
	workflow uuid.UUID
	log      *slog.Logger
}

const credentialed = `{"name": "call", "nodes": [
  {"id": "s", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "h", "name": "Call", "type": "ACTION_NODE", "subtype": "SEND_HTTP_REQUEST",
   "parameters": {"method": "GET", "url": "https://example.com/"}, "credentials": {"bearer_token": "s3cret-token"}}],
 "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}}}`

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(testkit.NATSURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", testkit.NATSURL, err))
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	cfg := events.DefaultConfig()
	u := testkit.Unique("")
	cfg.Stream, cfg.SubjectPrefix, cfg.CancelBucket, cfg.Storage, cfg.MaxAge = "EXEC_T"+u, "t"+u+".exec", "EXEC_CANCEL_T"+u, "memory", time.Hour
	bus, err := events.Open(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = js.DeleteStream(context.Background(), cfg.Stream)
		_ = js.DeleteKeyValue(context.Background(), cfg.CancelBucket)
	})
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	w := &world{st: store.New(pool, 5*time.Second), admin: pool, bus: bus, codec: workflows.NewCodec(sealer), sealer: sealer,
		user: &auth.User{ID: id, RawClaims: fmt.Appendf(nil, `{"sub":%q,"role":"authenticated","aud":"authenticated"}`, id)},
		log:  slog.New(slog.NewTextHandler(io.Discard, nil))}
	var wf nodes.Workflow
	if err := json.Unmarshal([]byte(credentialed), &wf); err != nil {
		t.Fatal(err)
	}
	w.workflow = uuid.New()
	rec, err := w.codec.Seal(w.workflow, wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = w.st.WithUser(ctx, w.user.RawClaims, func(tx pgx.Tx) error {
		_, err := store.InsertWorkflow(ctx, tx, store.Workflow{ID: w.workflow, Name: rec.Name, Nodes: rec.Nodes,
			Connections: rec.Connections, Settings: rec.Settings, Credentials: rec.Credentials})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// execution stores an execution without publishing it (no bus yet).
func (w *world) execution(t *testing.T, ctx context.Context) store.Execution {
	t.Helper()
	svc := New(Options{DB: w.st, Log: w.log})
	e, _, err := svc.Execute(ctx, w.user, w.workflow, json.RawMessage(`{"n": 1}`), "", "req-1")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestConsumerAppliesOutOfOrderDeliveriesInOrder hands the consumer an
// execution's events out of order, as two replicas may receive them: the
// later one applies the missing ones from the stream first, and neither a
// repeat nor the late earlier one applies anything again.
func TestConsumerAppliesOutOfOrderDeliveriesInOrder(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.execution(t, ctx)
	id := e.ID.String()
	published := make([]events.Event, 0, 4)
	for i, ev := range []*eventsv1.ExecutionEvent{
		{Type: started, Status: "running"},
		{Type: nodeStarted, NodeId: "s", NodeName: "Start", Status: "running"},
		{Type: nodeDone, NodeId: "s", NodeName: "Start", Status: "success", Output: []byte(`{"n":1}`)},
		{Type: succeeded, Status: "success", Output: []byte(`{"Start":{"n":1}}`), IsFinal: true},
	} {
		ev.ExecutionId, ev.WorkflowId, ev.Attempt, ev.Sequence = id, w.workflow.String(), 1, uint64(i+1)
		ack, err := w.bus.PublishEvent(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		published = append(published, events.Event{ExecutionEvent: ev, StreamSeq: ack.Sequence})
	}
	c := NewConsumer(w.st, w.bus, "unused", 1, w.log)
	steps := []struct {
		event       int
		wantApplied int64
		wantStatus  string
		wantLastSeq int
	}{
		{2, 3, StatusRunning, 2}, // node_succeeded first: started and node_started come from the stream
		{1, 3, StatusRunning, 2}, // the late earlier event: nothing
		{2, 3, StatusRunning, 2}, // a redelivery: nothing
		{3, 4, StatusSuccess, 3},
	}
	for i, s := range steps {
		if err := c.Apply(ctx, published[s.event]); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := w.row(t, e.ID)
		if c.Applied() != s.wantApplied || got.Status != s.wantStatus || uint64(got.LastEventSeq) != published[s.wantLastSeq].StreamSeq {
			t.Fatalf("step %d: applied %d status %s last seq %d, want %d %s %d", i, c.Applied(), got.Status, got.LastEventSeq,
				s.wantApplied, s.wantStatus, published[s.wantLastSeq].StreamSeq)
		}
	}
	got := w.row(t, e.ID)
	if !strings.Contains(string(got.NodeResults), `"status": "success"`) || string(got.Result) != `{"Start": {"n": 1}}` {
		t.Fatalf("node results %s result %s", got.NodeResults, got.Result)
	}
	// An event of an execution this database does not hold is dropped.
	stranger := proto.Clone(published[0].ExecutionEvent).(*eventsv1.ExecutionEvent)
	stranger.ExecutionId = uuid.NewString()
	if err := c.Apply(ctx, events.Event{ExecutionEvent: stranger, StreamSeq: 99}); err != nil {
		t.Fatalf("unknown execution: %v", err)
	}
}

func (w *world) row(t *testing.T, id uuid.UUID) store.Execution {
	t.Helper()
	var e store.Execution
	err := w.st.AsService(context.Background(), func(tx pgx.Tx) error {
		var err error
		e, err = store.GetExecution(context.Background(), tx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestSweeperPublishesOnceAcrossReplicas: an execution left new past the
// grace period is published again by exactly one of several concurrent
// sweepers, with its execution id as message id, the stored trace context,
// and the snapshot's credentials still sealed; the next sweep inside the
// grace period leaves it alone.
func TestSweeperPublishesOnceAcrossReplicas(t *testing.T) {
	w := newWorld(t)
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	e := w.execution(t, ctx)
	if _, err := w.admin.Exec(context.Background(), `update workflow_executions set created_at = now() - interval '1 minute' where id = $1`, e.ID); err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	var wg sync.WaitGroup
	counts := make([]int, replicas)
	for i := range replicas {
		wg.Go(func() {
			n, err := NewSweeper(w.st, w.bus, time.Hour, 10*time.Second, w.log).Sweep(context.Background())
			if err != nil {
				t.Errorf("sweep: %v", err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 1 {
		t.Fatalf("published %d times (%v), want once", total, counts)
	}
	if n, err := NewSweeper(w.st, w.bus, time.Hour, 10*time.Second, w.log).Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("a sweep inside the grace period published %d (%v)", n, err)
	}

	msg, err := w.bus.Stream().GetLastMsgForSubject(context.Background(), w.bus.Config().RequestSubject())
	if err != nil {
		t.Fatal(err)
	}
	var req eventsv1.ExecutionRequest
	if err := proto.Unmarshal(msg.Data, &req); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"message id", msg.Header.Get("Nats-Msg-Id"), e.ID.String()},
		{"traceparent", msg.Header.Get("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{"request id", req.GetRequestId(), "req-1"},
		{"inputs", string(req.GetInputs()), `{"n": 1}`},
		{"user", req.GetUserId(), w.user.ID.String()},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	w.checkSealedRequest(t, msg.Data)
	var snap string
	if err := w.admin.QueryRow(context.Background(), `select workflow_snapshot::text from workflow_executions where id = $1`, e.ID).Scan(&snap); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(snap, "s3cret-token") {
		t.Error("the stored snapshot holds the credential in clear")
	}
}

// TestExecutePublishesCredentialsSealed: the request execute publishes
// carries the node's credential as the stored sealed value, wrapped, so
// the stream never holds it in clear.
func TestExecutePublishesCredentialsSealed(t *testing.T) {
	w := newWorld(t)
	svc := New(Options{DB: w.st, Log: w.log})
	svc.UseBus(w.bus)
	e, _, err := svc.Execute(context.Background(), w.user, w.workflow, json.RawMessage(`{}`), "", "req-2")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := w.bus.Stream().GetLastMsgForSubject(context.Background(), w.bus.Config().RequestSubject())
	if err != nil {
		t.Fatalf("execute published nothing: %v", err)
	}
	if msg.Header.Get("Nats-Msg-Id") != e.ID.String() {
		t.Fatalf("the last request is %s, want %s", msg.Header.Get("Nats-Msg-Id"), e.ID)
	}
	w.checkSealedRequest(t, msg.Data)
}

// checkSealedRequest checks a published execution request: no credential
// bytes in clear anywhere in it, and the HTTP node's credential is the
// value stored in the workflows row, wrapped, which opens (with the key
// and the associated data of its workflow, node and field) to the secret.
func (w *world) checkSealedRequest(t *testing.T, data []byte) {
	t.Helper()
	if bytes.Contains(data, []byte("s3cret-token")) {
		t.Fatalf("the published request holds the credential in clear: %q", data)
	}
	var req eventsv1.ExecutionRequest
	if err := proto.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	var wf nodes.Workflow
	if err := json.Unmarshal(req.GetWorkflow(), &wf); err != nil {
		t.Fatal(err)
	}
	var stored string
	err := w.admin.QueryRow(context.Background(), `select credentials->'h'->>'bearer_token' from workflows where id = $1`, w.workflow).Scan(&stored)
	if err != nil {
		t.Fatal(err)
	}
	sealed, ok := secrets.Unwrap(wf.Nodes[1].Credentials["bearer_token"])
	if !ok || sealed != stored {
		t.Fatalf("published credential %v, want the stored sealed value %q wrapped", wf.Nodes[1].Credentials["bearer_token"], stored)
	}
	plain, err := w.sealer.Open(sealed, secrets.CredentialAAD(req.GetWorkflowId(), "h", "bearer_token"))
	if err != nil || string(plain) != `"s3cret-token"` {
		t.Fatalf("opening the published credential: %q, %v", plain, err)
	}
}
