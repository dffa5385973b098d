package llm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
	"github.com/wfagent/gateway/services/workflow-agent/internal/llm/llmtest"
	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

const goodAnswer = "```json\n" + `{"reply": "Here it is.", "workflow": {"name": "LLM pipeline", "nodes": [
 {"id": "a", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
 {"id": "b", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 1}}],
 "connections": {"Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]}}}}` + "\n```"

func TestDraft(t *testing.T) {
	tests := []struct {
		name      string
		reply     llmtest.Reply
		wantName  string // workflow name; "" wants none
		wantReply string
		wantErr   error // nil, agent.ErrInvalidAnswer, or errAny for a transport error
	}{
		{"workflow in a code fence", llmtest.Reply{Text: goodAnswer}, "LLM pipeline", "Here it is.", nil},
		{"a question", llmtest.Reply{Text: `{"reply": "Which URL?", "workflow": null}`}, "", "Which URL?", nil},
		{"no JSON", llmtest.Reply{Text: "Sure! I would love to help."}, "", "", agent.ErrInvalidAnswer},
		{"broken JSON", llmtest.Reply{Text: `{"reply": "x", "workflow": {"nodes": [}`}, "", "", agent.ErrInvalidAnswer},
		{"workflow of the wrong shape", llmtest.Reply{Text: `{"reply": "x", "workflow": {"nodes": "many"}}`}, "", "", agent.ErrInvalidAnswer},
		{"server error", llmtest.Reply{Status: http.StatusInternalServerError}, "", "", errAny},
		{"stream cut off", llmtest.Reply{Text: goodAnswer, Cut: true}, "", "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.New(t, tt.reply)
			c := New(srv.URL, "sk-test", "test-model")
			ans, err := c.Draft(context.Background(), agent.DraftRequest{Message: "make me a pause",
				History: []planner.Conversation{{Role: planner.RoleUser, Text: "hi"}, {Role: planner.RoleAssistant, Text: "hello"}}})
			switch {
			case tt.wantErr == errAny:
				if err == nil || errors.Is(err, agent.ErrInvalidAnswer) {
					t.Fatalf("err %v, want a transport error", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				if ans.Raw != tt.reply.Text {
					t.Errorf("raw %q, want the refused text kept to show the model", ans.Raw)
				}
			case err != nil:
				t.Fatal(err)
			}
			if tt.wantErr != nil {
				return
			}
			if ans.Reply != tt.wantReply || (ans.Workflow != nil) != (tt.wantName != "") || (ans.Workflow != nil && ans.Workflow.Name != tt.wantName) {
				t.Errorf("answer %+v, want reply %q workflow %q", ans, tt.wantReply, tt.wantName)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			msgs := r.Body.Messages
			if r.Authorization != "Bearer sk-test" || r.Body.Model != "test-model" || !r.Body.Stream {
				t.Errorf("request auth %q model %q stream %v", r.Authorization, r.Body.Model, r.Body.Stream)
			}
			if len(msgs) != 4 || msgs[0].Role != "system" || !strings.Contains(msgs[0].Content, "FLOW_NODE/WAIT") ||
				msgs[1].Content != "hi" || msgs[2].Role != "assistant" || msgs[3].Content != "make me a pause" {
				t.Errorf("messages %+v, want system prompt with the catalogue, history, then the message", msgs)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestRetryShowsTheRefusedAnswer(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply{Text: goodAnswer})
	c := New(srv.URL, "", "m")
	_, err := c.Draft(context.Background(), agent.DraftRequest{Message: "go", Rejected: &agent.Rejected{Answer: "garbage", Reason: "no JSON"}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Requests()[0].Body.Messages
	n := len(msgs)
	if srv.Requests()[0].Authorization != "" || msgs[n-2].Content != "garbage" || !strings.Contains(msgs[n-1].Content, "no JSON") {
		t.Errorf("retry messages %+v", msgs[n-2:])
	}
}

func TestNonStreamingServer(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"choices":[{"message":{"role":"assistant","content":"{\"reply\":\"ok\",\"workflow\":null}"}}]}`))
	}))
	defer ts.Close()
	ans, err := New(ts.URL, "", "m").Draft(context.Background(), agent.DraftRequest{Message: "x"})
	if err != nil || ans.Reply != "ok" {
		t.Fatalf("%+v %v", ans, err)
	}
}

func TestTimeout(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply{Hang: true})
	start := time.Now()
	_, err := New(srv.URL, "", "m", WithTimeout(200*time.Millisecond)).Draft(context.Background(), agent.DraftRequest{Message: "x"})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v, want a timeout error at once", err, time.Since(start))
	}
}
