package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/secrets"
	"github.com/wfagent/gateway/services/workflow-engine/internal/safehttp"
)

// sealedHTTPWorkflow is a workflow whose HTTP node calls url with the
// given credentials (a JSON object).
func sealedHTTPWorkflow(url, creds string) string {
	return `{"name": "sealed", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "h", "name": "Call", "type": "ACTION_NODE", "subtype": "SEND_HTTP_REQUEST", "credentials": ` + creds + `,
	   "parameters": {"method": "GET", "url": "` + url + `", "timeout_seconds": 1}}],
	 "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}}}`
}

// TestSealedCredentials: the engine opens a credential sealed by app-svc
// (the same key, bound to the workflow, node and field) right before the
// node runs, and the loopback server (allowed as ENGINE_HTTP_ALLOW would)
// sees it in clear; a value it cannot open fails the node, without retry,
// with an error naming the field and no secret, and the server is never
// called.
func TestSealedCredentials(t *testing.T) {
	const secret = "tok-4f1e9c-very-secret"
	seen := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()
	client, err := safehttp.NewClient(safehttp.Options{Allow: []string{strings.TrimPrefix(srv.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	key, other := bytes.Repeat([]byte{3}, secrets.KeySize), bytes.Repeat([]byte{4}, secrets.KeySize)
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	otherSealer, _ := secrets.NewSealer(other)
	const workflowID = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"
	seal := func(s *secrets.Sealer, workflow, node, field string) string {
		t.Helper()
		plain, _ := json.Marshal(secret)
		v, err := s.Seal(plain, secrets.CredentialAAD(workflow, node, field))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(map[string]any{field: secrets.Wrap(v)})
		return string(raw)
	}
	tests := []struct {
		name    string
		sealer  *secrets.Sealer // the engine's
		creds   string
		wantErr string // empty: succeeds and the server sees the secret
	}{
		{"sealed for this node", sealer, seal(sealer, workflowID, "h", "bearer_token"), ""},
		{"in clear (a request from before sealing)", sealer, `{"bearer_token": "` + secret + `"}`, ""},
		{"sealed under another key", sealer, seal(otherSealer, workflowID, "h", "bearer_token"), `credential "bearer_token" cannot be opened`},
		{"sealed for another node", sealer, seal(sealer, workflowID, "other", "bearer_token"), `credential "bearer_token" cannot be opened`},
		{"sealed for another workflow", sealer, seal(sealer, "00000000-0000-4000-8000-000000000000", "h", "bearer_token"), `credential "bearer_token" cannot be opened`},
		{"sealed but no ENCRYPTION_KEY", nil, seal(sealer, workflowID, "h", "bearer_token"), `credential "bearer_token" is sealed and this engine has no ENCRYPTION_KEY`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Options{BranchConcurrency: 2, Timeout: 10 * time.Second, HTTP: client, MaxResponseBytes: 1024, MaxOutputBytes: 64 << 10, Sealer: tt.sealer})
			w := workflow(t, sealedHTTPWorkflow(srv.URL+"/", tt.creds))
			if err := r.Validate(w); err != nil {
				t.Fatalf("validate: %v", err)
			}
			rec := &recorder{}
			res := r.Run(context.Background(), &Execution{ID: "e1", WorkflowID: workflowID, Workflow: w}, rec.sink)
			if tt.wantErr == "" {
				resultOf(t, res)
				select {
				case got := <-seen:
					if got != "Bearer "+secret {
						t.Fatalf("the server saw Authorization %q, want the credential in clear", got)
					}
				default:
					t.Fatal("the server was not called")
				}
				if _, sealed := secrets.Unwrap(w.Nodes[1].Credentials["bearer_token"]); strings.HasPrefix(tt.name, "sealed") && !sealed {
					t.Fatal("running opened the credential in the execution's workflow, not in a copy")
				}
				return
			}
			if res.Outcome != Failed || res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Fatalf("outcome %v, err %v; want Failed with %q", res.Outcome, res.Err, tt.wantErr)
			}
			failed := rec.of("Call", NodeFailed)
			if len(failed) != 1 || !strings.Contains(failed[0].Error, tt.wantErr) || failed[0].Status != StatusError {
				t.Fatalf("node events %+v, want one error naming the credential", failed)
			}
			if strings.Contains(res.Err.Error(), secret) || strings.Contains(failed[0].Error, "v1.") {
				t.Fatalf("the error shows the credential: %v", res.Err)
			}
			select {
			case got := <-seen:
				t.Fatalf("the server was called (Authorization %q)", got)
			default:
			}
		})
	}
}
