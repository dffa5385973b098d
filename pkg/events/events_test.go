package events

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"stream name with a dot", func(c *Config) { c.Stream = "EXEC.X" }, "EXEC_STREAM"},
		{"prefix with wildcard", func(c *Config) { c.SubjectPrefix = "exec.>" }, "EXEC_SUBJECT_PREFIX"},
		{"bucket empty", func(c *Config) { c.CancelBucket = "" }, "EXEC_CANCEL_BUCKET"},
		{"no max age", func(c *Config) { c.MaxAge = 0 }, "EXEC_STREAM_MAX_AGE"},
		{"zero max bytes", func(c *Config) { c.MaxBytes = 0 }, "EXEC_STREAM_MAX_BYTES"},
		{"replicas", func(c *Config) { c.Replicas = 7 }, "EXEC_STREAM_REPLICAS"},
		{"storage", func(c *Config) { c.Storage = "s3" }, "EXEC_STREAM_STORAGE"},
		{"dedup window over max age", func(c *Config) { c.DuplicateWindow = 200 * time.Hour }, "EXEC_DEDUP_WINDOW"},
		{"cancel ttl", func(c *Config) { c.CancelTTL = -time.Second }, "EXEC_CANCEL_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	c := DefaultConfig()
	tests := []struct{ got, want string }{
		{c.RequestSubject(), "exec.requests"},
		{c.EventSubject("e1"), "exec.events.e1"},
		{c.EventsWildcard(), "exec.events.>"},
		{strings.Join(c.StreamConfig().Subjects, ","), "exec.requests,exec.events.>"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if id, ok := c.ExecutionIDFromSubject("exec.events.abc-1"); !ok || id != "abc-1" {
		t.Errorf("ExecutionIDFromSubject = %q, %v", id, ok)
	}
	if _, ok := c.ExecutionIDFromSubject("exec.requests"); ok {
		t.Error("ExecutionIDFromSubject accepted the requests subject")
	}
}

func TestTypeNames(t *testing.T) {
	want := []string{"execution_started", "node_started", "node_succeeded", "node_failed", "execution_succeeded", "execution_failed", "execution_canceled"}
	for i, name := range want {
		typ := eventsv1.ExecutionEventType(i + 1)
		if got := TypeName(typ); got != name {
			t.Errorf("TypeName(%v) = %q, want %q", typ, got, name)
		}
		if back, ok := ParseType(name); !ok || back != typ {
			t.Errorf("ParseType(%q) = %v, %v", name, back, ok)
		}
		if final := IsFinalType(typ); final != (i >= 4) {
			t.Errorf("IsFinalType(%s) = %v", name, final)
		}
	}
	if TypeName(eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_UNSPECIFIED) != "" {
		t.Error("UNSPECIFIED has a wire name")
	}
}

// TestEnsureConcurrently starts ten "services" at once on the same names:
// all must succeed, and a later start with another max age updates it.
func TestEnsureConcurrently(t *testing.T) {
	js := connect(t)
	cfg := testConfig()
	t.Cleanup(func() { cleanup(js, cfg) })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := Open(ctx, js, cfg)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	cfg.MaxAge = 2 * time.Hour
	b, err := Open(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.Stream().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 2*time.Hour || info.Config.Retention != jetstream.LimitsPolicy {
		t.Fatalf("stream config not updated: max age %s retention %v", info.Config.MaxAge, info.Config.Retention)
	}
	kv, err := js.KeyValue(ctx, cfg.CancelBucket)
	if err != nil {
		t.Fatalf("cancel bucket: %v", err)
	}
	st, _ := kv.Status(ctx)
	if st.TTL() != cfg.CancelTTL {
		t.Fatalf("bucket TTL %s, want %s", st.TTL(), cfg.CancelTTL)
	}
}

func spanContext(t *testing.T) context.Context {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func TestPublishRequest(t *testing.T) {
	b := openBus(t)
	ctx, cancel := context.WithTimeout(spanContext(t), 10*time.Second)
	defer cancel()
	req := &eventsv1.ExecutionRequest{ExecutionId: "exec-1", WorkflowId: "wf-1", UserId: "u-1",
		Workflow: []byte(`{"name":"x"}`), Inputs: []byte(`{"a":1}`), RequestId: "req-42"}
	ack, err := b.PublishRequest(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Duplicate {
		t.Fatal("first publish reported duplicate")
	}
	// The sweeper's re-publication has no span: the stored trace context is used.
	again := &eventsv1.ExecutionRequest{ExecutionId: "exec-1", WorkflowId: "wf-1", Workflow: []byte(`{"name":"x"}`), TraceContext: req.TraceContext}
	ack2, err := b.PublishRequest(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	if !ack2.Duplicate || ack2.Sequence != ack.Sequence {
		t.Fatalf("re-publication not de-duplicated: %+v", ack2)
	}

	cons, err := b.Stream().OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{b.Config().RequestSubject()}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(3 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Headers()
	headers := []struct{ name, want string }{
		{"Nats-Msg-Id", "exec-1"},
		{HeaderRequestID, "req-42"},
		{HeaderContentType, ContentType},
		{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
	for _, hd := range headers {
		if got := h.Get(hd.name); got != hd.want {
			t.Errorf("header %s = %q, want %q", hd.name, got, hd.want)
		}
	}
	got, err := DecodeRequest(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetExecutionId() != "exec-1" || string(got.GetInputs()) != `{"a":1}` || got.GetCreatedAt() == nil || got.Delivered != 1 {
		t.Fatalf("decoded %+v", got.ExecutionRequest)
	}
	if sc := trace.SpanContextFromContext(got.Context); sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("trace not propagated: %v", sc.TraceID())
	}
	if requestIDFrom(got.Context) != "req-42" {
		t.Fatal("request id not in the decoded context")
	}
	if got.GetTraceContext()["traceparent"] == "" {
		t.Fatal("trace context not stored in the request")
	}
}

func TestPublishRequestRefusesBadIDs(t *testing.T) {
	b := openBus(t)
	for _, id := range []string{"", "a.b", "a*", "a b", strings.Repeat("x", 129)} {
		_, err := b.PublishRequest(context.Background(), &eventsv1.ExecutionRequest{ExecutionId: id, Workflow: []byte("{}")})
		if !errors.Is(err, ErrInvalidExecutionID) {
			t.Errorf("id %q: err %v, want ErrInvalidExecutionID", id, err)
		}
	}
}

func TestEventsReplayAndSSE(t *testing.T) {
	b := openBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	types := []eventsv1.ExecutionEventType{
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_STARTED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED,
	}
	var seqs []uint64
	for i, typ := range types {
		ev := &eventsv1.ExecutionEvent{Type: typ, ExecutionId: "e2", WorkflowId: "w", Attempt: 1, Sequence: uint64(i + 1), IsFinal: IsFinalType(typ)}
		if typ == eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED {
			ev.NodeId, ev.Status, ev.Output = "n3", "success", []byte(`{"greeting":"hello"}`)
		}
		ack, err := b.PublishEvent(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	// An event published twice (a retried publish) is stored once.
	dup, err := b.PublishEvent(ctx, &eventsv1.ExecutionEvent{Type: types[0], ExecutionId: "e2", Attempt: 1, Sequence: 1})
	if err != nil || !dup.Duplicate {
		t.Fatalf("repeated event not de-duplicated: %+v %v", dup, err)
	}
	// Another execution's events stay out of e2's replay.
	if _, err := b.PublishEvent(ctx, &eventsv1.ExecutionEvent{Type: types[0], ExecutionId: "other", Attempt: 1, Sequence: 1}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		after    uint64
		wantSeqs []uint64
	}{
		{"from the start", 0, seqs},
		{"after Last-Event-ID", seqs[1], seqs[2:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cons, err := b.ExecutionEvents(ctx, "e2", tt.after)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for range tt.wantSeqs {
				msg, err := cons.Next(jetstream.FetchMaxWait(3 * time.Second))
				if err != nil {
					t.Fatal(err)
				}
				ev, err := DecodeEvent(msg)
				if err != nil {
					t.Fatal(err)
				}
				if msg.Headers().Get(HeaderEventType) != TypeName(ev.GetType()) {
					t.Errorf("header %s=%q for %v", HeaderEventType, msg.Headers().Get(HeaderEventType), ev.GetType())
				}
				got = append(got, ev.StreamSeq)
			}
			if len(got) != len(tt.wantSeqs) || got[0] != tt.wantSeqs[0] || got[len(got)-1] != tt.wantSeqs[len(tt.wantSeqs)-1] {
				t.Fatalf("replayed %v, want %v", got, tt.wantSeqs)
			}
			if _, err := cons.Next(jetstream.FetchMaxWait(300 * time.Millisecond)); err == nil {
				t.Fatal("replay returned more events than published")
			}
		})
	}

	data, err := SSEData(&eventsv1.ExecutionEvent{Type: types[2], ExecutionId: "e2", WorkflowId: "w", NodeId: "n3", Status: "success",
		Output: []byte(`{"greeting":"hello"}`), Timestamp: nil, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	var sse map[string]any
	if err := json.Unmarshal(data, &sse); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"type": "node_succeeded", "execution_id": "e2", "workflow_id": "w", "node_id": "n3", "status": "success", "is_final": false} {
		if sse[k] != want {
			t.Errorf("sse[%s] = %v, want %v", k, sse[k], want)
		}
	}
	if out, _ := sse["output"].(map[string]any); out["greeting"] != "hello" {
		t.Errorf("sse output = %v", sse["output"])
	}
	if _, has := sse["error"]; has {
		t.Error("empty error is present in SSE data")
	}
}

func TestCancellation(t *testing.T) {
	b := openBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, ok, err := b.Canceled(ctx, "e3"); err != nil || ok {
		t.Fatalf("fresh execution canceled=%v err=%v", ok, err)
	}
	seen := make(chan string, 4)
	if err := b.WatchCancels(ctx, func(id string, c Cancellation) { seen <- id + ":" + c.Reason }); err != nil {
		t.Fatal(err)
	}
	if err := b.RequestCancel(ctx, "e3", "user asked"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen:
		if got != "e3:user asked" {
			t.Fatalf("watch saw %q", got)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancellation not seen by the watcher within 2s")
	}
	c, ok, err := b.Canceled(ctx, "e3")
	if err != nil || !ok || c.Reason != "user asked" || c.RequestedAt.IsZero() {
		t.Fatalf("Canceled = %+v %v %v", c, ok, err)
	}
	if err := b.RequestCancel(ctx, "e3", "again"); err != nil {
		t.Fatalf("repeated cancel: %v", err)
	}
	if err := b.RequestCancel(ctx, "bad.id", ""); !errors.Is(err, ErrInvalidExecutionID) {
		t.Fatalf("bad id: %v", err)
	}
}
