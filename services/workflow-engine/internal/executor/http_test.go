package executor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfagent/gateway/services/workflow-engine/internal/safehttp"
)

// httpRunner allows exactly the test server's host:port, as ENGINE_HTTP_ALLOW would.
func httpRunner(t *testing.T, srv *httptest.Server) *Runner {
	t.Helper()
	c, err := safehttp.NewClient(safehttp.Options{Allow: []string{strings.TrimPrefix(srv.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{BranchConcurrency: 2, Timeout: 10 * time.Second, HTTP: c, MaxResponseBytes: 1024, MaxOutputBytes: 64 << 10})
}

func httpWorkflow(url, extra string) string {
	return `{"name": "http", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "h", "name": "Call", "type": "ACTION_NODE", "subtype": "SEND_HTTP_REQUEST", ` + extra + `
	   "parameters": {"method": "POST", "url": "` + url + `", "query": {"q": "{{ input.q }}"}, "headers": {"X-Who": "{{ execution.id }}"}, "body": {"id": "{{ input.id }}"}, "timeout_seconds": 1}},
	  {"id": "a", "name": "After", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"seen": "input"}}}],
	 "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}, "Call": {"main": [[{"node": "After", "type": "main", "index": 0}]]}}}`
}

func TestHTTPRequestNode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "q": r.URL.Query().Get("q"), "who": r.Header.Get("X-Who"), "body": string(body), "ctype": r.Header.Get("Content-Type")})
	}))
	defer srv.Close()
	res, rec := run(t, httpRunner(t, srv), context.Background(), httpWorkflow(srv.URL+"/orders", ""), map[string]any{"q": "shoes", "id": 7.0})
	resultOf(t, res)
	var out struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	if err := json.Unmarshal(rec.of("Call", NodeSucceeded)[0].Output, &out); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"method": "POST", "q": "shoes", "who": "e1", "body": `{"id":7}`, "ctype": "application/json"}
	for k, v := range want {
		if out.Body[k] != v {
			t.Errorf("server saw %s=%v, want %v", k, out.Body[k], v)
		}
	}
	if out.Status != 200 {
		t.Errorf("status %d", out.Status)
	}
}

func TestHTTPRefusesPrivateTargets(t *testing.T) {
	for _, url := range []string{"http://127.0.0.1:1/", "http://[::1]:1/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://localhost:1/"} {
		t.Run(url, func(t *testing.T) {
			r := New(Options{BranchConcurrency: 1, Timeout: 5 * time.Second})
			res, rec := run(t, r, context.Background(), httpWorkflow(url, `"retry_policy": {"max_tries": 3, "wait_seconds": 0},`), nil)
			if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "SSRF guard") {
				t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
			}
			// A refusal is permanent: no retries.
			if n := len(rec.of("Call", NodeStarted)); n != 1 {
				t.Fatalf("refused request tried %d times", n)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "done")
	}))
	defer srv.Close()
	tests := []struct {
		name    string
		policy  string
		outcome Outcome
		trace   []string
	}{
		{"third try succeeds", `"retry_policy": {"max_tries": 3, "wait_seconds": 0.05},`, Succeeded, []string{
			"started:Call:running", "failed:Call:retrying", "started:Call:running", "failed:Call:retrying", "started:Call:running", "succeeded:Call:success"}},
		{"two tries are not enough", `"retry_policy": {"max_tries": 2, "wait_seconds": 0},`, Failed, []string{
			"started:Call:running", "failed:Call:retrying", "started:Call:running", "failed:Call:error"}},
		{"no policy, one try", ``, Failed, []string{"started:Call:running", "failed:Call:error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			res, rec := run(t, httpRunner(t, srv), context.Background(), httpWorkflow(srv.URL, tt.policy), nil)
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %v (%v)", res.Outcome, res.Err)
			}
			var got []string
			for _, l := range rec.trace() {
				if strings.Contains(l, ":Call:") {
					got = append(got, l)
				}
			}
			equalLines(t, got, tt.trace)
			if tt.outcome == Failed && !strings.Contains(res.Err.Error(), "HTTP 503") {
				t.Fatalf("err %v", res.Err)
			}
		})
	}
}

func TestOnErrorContinue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such order", http.StatusNotFound)
	}))
	defer srv.Close()
	tests := []struct {
		onError string
		outcome Outcome
	}{
		{`"on_error": "continue", "retry_policy": {"max_tries": 3, "wait_seconds": 0},`, Succeeded},
		{`"on_error": "stop",`, Failed},
	}
	for _, tt := range tests {
		res, rec := run(t, httpRunner(t, srv), context.Background(), httpWorkflow(srv.URL, tt.onError), nil)
		if res.Outcome != tt.outcome {
			t.Fatalf("%s: outcome %v (%v)", tt.onError, res.Outcome, res.Err)
		}
		failed := rec.of("Call", NodeFailed)
		// 404 is permanent: one try even with a retry policy.
		if len(failed) != 1 || len(rec.of("Call", NodeStarted)) != 1 || !strings.Contains(failed[0].Error, "HTTP 404: no such order") {
			t.Fatalf("%s: events %v / %+v", tt.onError, rec.trace(), failed)
		}
		if tt.outcome == Succeeded {
			after, _ := resultOf(t, res)["After"].(map[string]any)
			seen, _ := after["seen"].(map[string]any)
			if !strings.Contains(seen["error"].(string), "HTTP 404") {
				t.Fatalf("After did not get the error as its input: %v", after)
			}
		} else if len(rec.of("After", NodeStarted)) != 0 {
			t.Fatal("a node after a stopping failure ran")
		}
	}
}

func TestHTTPResponseLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 5000))
	}))
	defer srv.Close()
	res, _ := run(t, httpRunner(t, srv), context.Background(), httpWorkflow(srv.URL, ""), nil)
	if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "larger than 1024 bytes") {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	res, _ := run(t, httpRunner(t, srv), context.Background(), httpWorkflow(srv.URL, ""), nil)
	if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "no answer within 1s") || time.Since(start) > 4*time.Second {
		t.Fatalf("outcome %v, err %v after %s", res.Outcome, res.Err, time.Since(start))
	}
}
