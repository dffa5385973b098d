package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/testkit"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

// TestRunServesProbesAndExecutes starts the whole service as main does,
// runs the Hello pipeline through it and shuts it down.
func TestRunServesProbesAndExecutes(t *testing.T) {
	nc, err := nats.Connect(testkit.NATSURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", testkit.NATSURL, err))
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	u := testkit.Unique("")
	cfg := events.DefaultConfig()
	cfg.Stream, cfg.SubjectPrefix, cfg.CancelBucket, cfg.Storage = "EXEC_T"+u, "t"+u+".exec", "EXEC_CANCEL_T"+u, "memory"
	claims := "EXEC_CLAIMS_T" + u
	t.Cleanup(func() {
		ctx := context.Background()
		_ = js.DeleteStream(ctx, cfg.Stream)
		_ = js.DeleteKeyValue(ctx, cfg.CancelBucket)
		_ = js.DeleteKeyValue(ctx, claims)
	})
	port := testkit.FreePort(t)
	environ := []string{
		"PORT=" + strconv.Itoa(port), "NATS_URL=" + testkit.NATSURL, "LOG_FORMAT=json", "SHUTDOWN_TIMEOUT=5s",
		"EXEC_STREAM=" + cfg.Stream, "EXEC_SUBJECT_PREFIX=" + cfg.SubjectPrefix, "EXEC_CANCEL_BUCKET=" + cfg.CancelBucket,
		"EXEC_STREAM_STORAGE=memory", "ENGINE_CONSUMER=engine_" + u, "ENGINE_CLAIM_BUCKET=" + claims, "LLM_API_KEY=sk-hidden",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, environ, &logs) }()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitStatus(t, base+"/readyz", http.StatusOK)

	bus, err := events.Open(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wf := `{"name": "Hello pipeline", "nodes": [
	  {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
	  {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"greeting": "hello"}}}],
	 "connections": {"Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]}, "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`
	if _, err := bus.PublishRequest(ctx, &eventsv1.ExecutionRequest{ExecutionId: "main-1", WorkflowId: "w", Workflow: []byte(wf), RequestId: "req-main"}); err != nil {
		t.Fatal(err)
	}
	cons, err := bus.ExecutionEvents(ctx, "main-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var last events.Event
	for !last.GetIsFinal() {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("waiting for events: %v", err)
		}
		if last, err = events.DecodeEvent(msg); err != nil {
			t.Fatal(err)
		}
		if got := msg.Headers().Get(events.HeaderRequestID); got != "req-main" {
			t.Fatalf("event X-Request-ID %q", got)
		}
	}
	if last.GetType() != eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED || !strings.Contains(string(last.GetOutput()), `"greeting":"hello"`) {
		t.Fatalf("final event %v %s", last.GetType(), last.GetOutput())
	}

	tests := []struct{ path, want string }{
		{"/healthz", `"status":"ok"`},
		{"/readyz", `"consumer"`},
		{"/metrics", `engine_executions_total{result="succeeded"} 1`},
	}
	for _, tt := range tests {
		body := get(t, base+tt.path)
		if !strings.Contains(body, tt.want) {
			t.Errorf("%s: %q not in %s", tt.path, tt.want, body)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if strings.Contains(logs.String(), "sk-hidden") {
		t.Fatal("the LLM key was logged")
	}
	var first map[string]any
	line, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(line), &first); err != nil || first["msg"] != "starting" {
		t.Fatalf("first log line %q", line)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered %d", url, want)
}
