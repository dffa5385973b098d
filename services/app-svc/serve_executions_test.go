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

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/testkit"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

// TestServeExecutions runs serve as main does against NATS on names of its
// own: execute publishes the request (execution id as message id), the
// event consumer applies what an engine publishes, and the routes are
// mounted behind the token check. The engine itself is tested with app-svc
// in internal/httpapi.
func TestServeExecutions(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(testkit.NATSURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", testkit.NATSURL, err))
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	u := testkit.Unique("")
	cfg := events.DefaultConfig()
	cfg.Stream, cfg.SubjectPrefix, cfg.CancelBucket, cfg.Storage = "EXEC_T"+u, "t"+u+".exec", "EXEC_CANCEL_T"+u, "memory"
	t.Cleanup(func() {
		_ = js.DeleteStream(context.Background(), cfg.Stream)
		_ = js.DeleteKeyValue(context.Background(), cfg.CancelBucket)
	})
	port := freePort(t)
	var environ []string
	for _, kv := range baseEnv(testkit.NewDatabase(t)) {
		if !strings.HasPrefix(kv, "NATS_URL=") {
			environ = append(environ, kv)
		}
	}
	environ = append(environ, "PORT="+strconv.Itoa(port), "SHUTDOWN_TIMEOUT=5s", "NATS_URL="+testkit.NATSURL,
		"EXEC_STREAM="+cfg.Stream, "EXEC_SUBJECT_PREFIX="+cfg.SubjectPrefix, "EXEC_CANCEL_BUCKET="+cfg.CancelBucket,
		"EXEC_STREAM_STORAGE=memory", "EXEC_EVENTS_CONSUMER=app_"+u, "EXEC_SWEEP_INTERVAL=200ms", "EXEC_SWEEP_GRACE=300ms")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, environ, &log, &log) }()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var acfg auth.Config
	acfg.JWTSecret, acfg.Audience = jwtSecret, "authenticated"
	tok, err := auth.MintDevToken(acfg, "development", uuid.NewString(), "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	var code int
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); code != http.StatusCreated && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		code, body = call("POST", "/api/app/workflows", `{"name": "one", "nodes": [{"id": "s", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}}], "connections": {}}`)
	}
	if code != http.StatusCreated {
		t.Fatalf("create workflow: %d %s\n%s", code, body, log.String())
	}
	var wf struct{ ID string }
	_ = json.Unmarshal(body, &wf)
	code, body = call("POST", "/api/app/workflows/"+wf.ID+"/execute", "")
	var ex struct {
		ExecutionID string `json:"execution_id"`
	}
	if err := json.Unmarshal(body, &ex); code != http.StatusAccepted || err != nil {
		t.Fatalf("execute: %d %s", code, body)
	}

	// The request reaches the stream (at once, or from the sweeper when
	// the bus was not open yet).
	bus, err := events.Open(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var msg *jetstream.RawStreamMsg
	for deadline := time.Now().Add(10 * time.Second); msg == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		msg, _ = bus.Stream().GetLastMsgForSubject(ctx, cfg.RequestSubject())
	}
	if msg == nil || msg.Header.Get("Nats-Msg-Id") != ex.ExecutionID {
		t.Fatalf("no request for %s in the stream (%v)\n%s", ex.ExecutionID, msg, log.String())
	}

	// What an engine reports is applied.
	for i, typ := range []eventsv1.ExecutionEventType{evStarted, evSucceeded} {
		ev := &eventsv1.ExecutionEvent{Type: typ, ExecutionId: ex.ExecutionID, WorkflowId: wf.ID, Attempt: 1, Sequence: uint64(i + 1),
			Status: map[bool]string{true: "running", false: "success"}[i == 0], IsFinal: i == 1, Output: []byte(`{"Start":{}}`)}
		if _, err := bus.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body = call("GET", "/api/app/executions/"+ex.ExecutionID, "")
		if strings.Contains(string(body), `"status":"success"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution: %d %s\n%s", code, body, log.String())
		}
	}
	if code, body = call("POST", "/api/app/executions/"+ex.ExecutionID+"/cancel", ""); code != http.StatusConflict {
		t.Fatalf("cancel of a finished execution: %d %s", code, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
}

const (
	evStarted   = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_STARTED
	evSucceeded = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED
)
