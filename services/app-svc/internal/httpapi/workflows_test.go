package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

func TestHelloPipelineSavesAndReadsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	var sent nodes.Workflow
	if err := json.Unmarshal([]byte(helloPipeline), &sent); err != nil {
		t.Fatal(err)
	}

	r := e.do(req{method: "POST", path: "/api/app/workflows", token: tok, body: helloPipeline})
	want(t, r, http.StatusCreated, "")
	var created workflowJSON
	r.json(t, &created)
	if created.Version != 1 || r.header.Get("ETag") != `"1"` || r.header.Get("Location") != "/api/app/workflows/"+created.ID.String() {
		t.Fatalf("version %d, ETag %q, Location %q", created.Version, r.header.Get("ETag"), r.header.Get("Location"))
	}

	r = e.do(req{method: "GET", path: "/api/app/workflows/" + created.ID.String(), token: tok})
	want(t, r, http.StatusOK, "")
	var got workflowJSON
	r.json(t, &got)
	if got.Name != sent.Name || got.Description != sent.Description ||
		!reflect.DeepEqual(got.Nodes, sent.Nodes) || !reflect.DeepEqual(got.Connections, sent.Connections) {
		t.Fatalf("read back differs:\n got %+v\nsent %+v", got, sent)
	}
	if !strings.Contains(string(r.body), `"greeting":"hello"`) {
		t.Fatalf("Greet's parameters lost: %s", r.body)
	}
	if r.header.Get("ETag") != `"1"` {
		t.Fatalf("ETag %q", r.header.Get("ETag"))
	}
	// The stored workflow still validates as the engine will check it.
	if err := nodes.ValidateExecutable(nodes.Workflow{Name: got.Name, Nodes: got.Nodes, Connections: got.Connections}); err != nil {
		t.Fatalf("stored workflow no longer executable: %v", err)
	}

	r = e.do(req{method: "GET", path: "/api/app/workflows/" + created.ID.String(), token: tok, header: map[string]string{"If-None-Match": `"1"`}})
	if r.code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", r.code)
	}

	r = e.do(req{method: "GET", path: "/api/app/workflows", token: tok})
	want(t, r, http.StatusOK, "")
	var list struct {
		Workflows  []workflowSummaryJSON
		NextCursor *string `json:"next_cursor"`
	}
	r.json(t, &list)
	if len(list.Workflows) != 1 || list.Workflows[0].NodeCount != 3 || list.Workflows[0].ID != created.ID || list.NextCursor != nil {
		t.Fatalf("list: %s", r.body)
	}
}

func TestWorkflowUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	path := "/api/app/workflows/" + e.createHello(tok).ID.String()

	tests := []struct {
		name     string
		method   string
		body     any
		header   map[string]string
		code     int
		errCode  string
		wantName string
		version  int // after the request
	}{
		{"partial: name only", "PATCH", `{"name": "Renamed"}`, nil, 200, "", "Renamed", 2},
		{"PUT is partial too", "PUT", `{"description": "d"}`, nil, 200, "", "Renamed", 3},
		{"version in the body", "PATCH", `{"name": "By body", "version": 3}`, nil, 200, "", "By body", 4},
		{"stale version in the body", "PATCH", `{"name": "Stale", "version": 3}`, nil, 409, "version_conflict", "By body", 4},
		{"If-Match", "PATCH", `{"name": "By header"}`, map[string]string{"If-Match": `"4"`}, 200, "", "By header", 5},
		{"stale If-Match", "PATCH", `{"name": "Stale"}`, map[string]string{"If-Match": `"4"`}, 409, "version_conflict", "By header", 5},
		{"weak If-Match never matches", "PATCH", `{"name": "Weak"}`, map[string]string{"If-Match": `W/"5"`}, 409, "version_conflict", "By header", 5},
		{"If-Match list", "PATCH", `{"name": "Listed"}`, map[string]string{"If-Match": `"1", "5"`}, 200, "", "Listed", 6},
		{"If-Match *", "PATCH", `{"name": "Any"}`, map[string]string{"If-Match": `*`}, 200, "", "Any", 7},
		{"body and If-Match disagree", "PATCH", `{"name": "X", "version": 7}`, map[string]string{"If-Match": `"6"`}, 400, "validation_error", "Any", 7},
		{"malformed If-Match", "PATCH", `{"name": "X"}`, map[string]string{"If-Match": `"seven"`}, 400, "validation_error", "Any", 7},
		{"invalid merge is refused", "PATCH", `{"connections": {"Start": {"main": [[{"node": "Nowhere", "type": "main", "index": 0}]]}}}`, nil, 400, "validation_error", "Any", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: tt.method, path: path, token: tok, body: tt.body, header: tt.header})
			want(t, r, tt.code, tt.errCode)
			if tt.code == http.StatusConflict && r.header.Get("ETag") == "" {
				t.Error("409 without the current ETag")
			}
			r = e.do(req{method: "GET", path: path, token: tok})
			var w workflowJSON
			r.json(t, &w)
			if w.Name != tt.wantName || w.Version != tt.version || len(w.Nodes) != 3 {
				t.Fatalf("after: name %q version %d nodes %d, want %q %d 3", w.Name, w.Version, len(w.Nodes), tt.wantName, tt.version)
			}
		})
	}

	t.Run("delete with a stale If-Match", func(t *testing.T) {
		want(t, e.do(req{method: "DELETE", path: path, token: tok, header: map[string]string{"If-Match": `"1"`}}), 409, "version_conflict")
	})
	t.Run("delete", func(t *testing.T) {
		want(t, e.do(req{method: "DELETE", path: path, token: tok, header: map[string]string{"If-Match": `"7"`}}), 204, "")
		want(t, e.do(req{method: "GET", path: path, token: tok}), 404, "not_found")
		want(t, e.do(req{method: "DELETE", path: path, token: tok}), 404, "not_found")
	})
}

// Fifty clients read version 1 and update at once: one wins, the others
// learn that they raced.
func TestConcurrentUpdatesWithTheSameIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	path := "/api/app/workflows/" + e.createHello(tok).ID.String()

	const clients = 50
	codes := make(chan int, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := map[string]any{"description": "client " + string(rune('A'+i%26))}
			codes <- e.do(req{method: "PATCH", path: path, token: tok, body: body, header: map[string]string{"If-Match": `"1"`}}).code
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[http.StatusOK] != 1 || got[http.StatusConflict] != clients-1 {
		t.Fatalf("status counts %v, want one 200 and %d × 409", got, clients-1)
	}
	var w workflowJSON
	e.do(req{method: "GET", path: path, token: tok}).json(t, &w)
	if w.Version != 2 {
		t.Fatalf("version %d after one successful update, want 2", w.Version)
	}
}

const secretValue = "sk-test-NEVER-SHOWN-5f1e"

// credentialed is the hello pipeline with an OpenAI node holding a key.
func credentialed(key any) map[string]any {
	var w map[string]any
	_ = json.Unmarshal([]byte(helloPipeline), &w)
	ns := w["nodes"].([]any)
	w["nodes"] = append(ns, map[string]any{"id": "n4", "name": "Ask", "type": "AI_AGENT_NODE", "subtype": "OPENAI",
		"parameters": map[string]any{"prompt": "Say hi"}, "credentials": map[string]any{"api_key": key}})
	w["connections"].(map[string]any)["Greet"] = map[string]any{"main": []any{[]any{map[string]any{"node": "Ask", "type": "main", "index": 0}}}}
	return w
}

func TestCredentialsAreSealedAndNeverReturned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	r := e.do(req{method: "POST", path: "/api/app/workflows", token: tok, body: credentialed(secretValue)})
	want(t, r, http.StatusCreated, "")
	var w workflowJSON
	r.json(t, &w)
	path := "/api/app/workflows/" + w.ID.String()

	assertMasked := func(t *testing.T, r resp) {
		t.Helper()
		if strings.Contains(string(r.body), secretValue) {
			t.Fatalf("response shows the credential: %s", r.body)
		}
		if !strings.Contains(string(r.body), `"credentials":{"api_key":{"configured":true}}`) {
			t.Fatalf("response lacks the credential mask: %s", r.body)
		}
	}
	assertMasked(t, r)
	assertMasked(t, e.do(req{method: "GET", path: path, token: tok}))
	if r := e.do(req{method: "GET", path: "/api/app/workflows", token: tok}); strings.Contains(string(r.body), secretValue) {
		t.Fatalf("list shows the credential: %s", r.body)
	}

	// Nowhere in the database in clear, and it opens back to the value.
	var rowText string
	if err := e.admin.QueryRow(context.Background(), `select w::text from workflows w where id = $1`, w.ID).Scan(&rowText); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rowText, secretValue) || strings.Contains(rowText, "sk-test") {
		t.Fatalf("credential in clear in the database: %s", rowText)
	}
	reveal := func() any {
		t.Helper()
		var rec workflows.Record
		if err := e.admin.QueryRow(context.Background(), `select name, description, nodes, connections, settings, credentials from workflows where id = $1`, w.ID).
			Scan(&rec.Name, &rec.Description, &rec.Nodes, &rec.Connections, &rec.Settings, &rec.Credentials); err != nil {
			t.Fatal(err)
		}
		wf, err := e.codec.Reveal(w.ID, rec)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := wf.NodeByName("Ask")
		return n.Credentials["api_key"]
	}
	if got := reveal(); got != secretValue {
		t.Fatalf("revealed %v", got)
	}

	tests := []struct {
		name    string
		body    any
		code    int
		errCode string
		reveal  any // the stored value afterwards; nil: none stored
	}{
		{"an update without nodes keeps it", `{"name": "Renamed"}`, 200, "", secretValue},
		{"sending the mask back keeps it", credentialed(map[string]any{"configured": true}), 200, "", secretValue},
		{"a new value replaces it", credentialed("sk-test-rotated"), 200, "", "sk-test-rotated"},
		{"the mask for a field with nothing stored is refused", func() any {
			w := credentialed("x")
			ns := w["nodes"].([]any)
			ns[3].(map[string]any)["id"] = "n9" // another node id: nothing stored for it
			ns[3].(map[string]any)["credentials"] = map[string]any{"api_key": map[string]any{"configured": true}}
			return w
		}(), 400, "validation_error", "sk-test-rotated"},
		{"an unknown credential field is refused", func() any {
			w := credentialed("x")
			w["nodes"].([]any)[3].(map[string]any)["credentials"] = map[string]any{"password": "p"}
			return w
		}(), 400, "validation_error", "sk-test-rotated"},
		{"leaving the field out drops it", credentialed(nil), 200, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, ok := tt.body.(map[string]any); ok && tt.reveal == nil && tt.code == 200 {
				delete(m["nodes"].([]any)[3].(map[string]any), "credentials")
			}
			r := e.do(req{method: "PATCH", path: path, token: tok, body: tt.body})
			want(t, r, tt.code, tt.errCode)
			if strings.Contains(string(r.body), "sk-test") {
				t.Fatalf("response shows a credential: %s", r.body)
			}
			if got := reveal(); got != tt.reveal {
				t.Fatalf("stored credential %v, want %v", got, tt.reveal)
			}
		})
	}
}

func TestDeletingAWorkflowKeepsSessionsThatEditedIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	w := e.createHello(tok)
	r := e.do(req{method: "POST", path: "/api/app/sessions", token: tok, body: map[string]any{"action": "edit", "source_workflow_id": w.ID}})
	want(t, r, http.StatusCreated, "")
	var s sessionJSON
	r.json(t, &s)
	want(t, e.do(req{method: "DELETE", path: "/api/app/workflows/" + w.ID.String(), token: tok}), 204, "")
	r = e.do(req{method: "GET", path: "/api/app/sessions/" + s.ID.String(), token: tok})
	want(t, r, http.StatusOK, "")
	r.json(t, &s)
	if s.Action != "edit" || s.SourceWorkflowID != nil {
		t.Fatalf("session after its workflow was deleted: %s", r.body)
	}
}
