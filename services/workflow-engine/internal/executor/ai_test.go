package executor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const aiWorkflow = `{"name": "ai", "nodes": [
  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "a", "name": "Summarise", "type": "AI_AGENT_NODE", "subtype": "OPENAI", "parameters": {"system_prompt": "Be brief.", "prompt": "Summarise: {{ input.body }}", "temperature": 0.2, "max_tokens": 50 RF}}],
 "connections": {"Start": {"main": [[{"node": "Summarise", "type": "main", "index": 0}]]}}}`

// chatServer speaks the chat completions wire format and records the request.
func chatServer(t *testing.T, content string, seen *map[string]any, auth *string) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		*auth = r.Header.Get("Authorization")
		_ = json.NewDecoder(r.Body).Decode(seen)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
		})
	}))
}

func TestOpenAINode(t *testing.T) {
	tests := []struct {
		name, format, content string
		check                 func(t *testing.T, out map[string]any)
	}{
		{"text", "", "Printer is on fire.", func(t *testing.T, out map[string]any) {
			if out["text"] != "Printer is on fire." || out["model"] != "test-model" || out["finish_reason"] != "stop" {
				t.Fatalf("output %v", out)
			}
		}},
		{"json", `, "response_format": "json"`, `{"severity": "high"}`, func(t *testing.T, out map[string]any) {
			if out["severity"] != "high" {
				t.Fatalf("output %v", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen map[string]any
			var auth string
			srv := chatServer(t, tt.content, &seen, &auth)
			defer srv.Close()
			r := New(Options{BranchConcurrency: 1, Timeout: 5 * time.Second, LLM: LLMConfig{BaseURL: srv.URL + "/v1/", APIKey: "sk-test", Model: "default-model", Timeout: 2 * time.Second}})
			res, rec := run(t, r, context.Background(), strings.Replace(aiWorkflow, " RF", tt.format, 1), map[string]any{"body": "the printer burns"})
			resultOf(t, res)
			var out map[string]any
			_ = json.Unmarshal(rec.of("Summarise", NodeSucceeded)[0].Output, &out)
			tt.check(t, out)
			msgs, _ := seen["messages"].([]any)
			if seen["model"] != "default-model" || len(msgs) != 2 || auth != "Bearer sk-test" || seen["max_tokens"] != 50.0 {
				t.Fatalf("request %v auth %q", seen, auth)
			}
			if user, _ := msgs[1].(map[string]any); user["content"] != "Summarise: the printer burns" || user["role"] != "user" {
				t.Fatalf("user message %v", msgs[1])
			}
			if rf, _ := seen["response_format"].(map[string]any); (tt.format != "") != (rf["type"] == "json_object") {
				t.Fatalf("response_format %v", seen["response_format"])
			}
		})
	}
}

func TestOpenAINodeNotConfigured(t *testing.T) {
	res, rec := run(t, testRunner(), context.Background(), strings.Replace(aiWorkflow, " RF", "", 1), nil)
	if res.Outcome != Failed || !errors.Is(res.Err, ErrLLMNotConfigured) {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
	if f := rec.of("Summarise", NodeFailed); len(f) != 1 || !strings.Contains(f[0].Error, "LLM_BASE_URL") {
		t.Fatalf("node error %+v", f)
	}
}
