package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// objects are one of everything, owned by one user.
type objects struct {
	workflow, session, apiKey uuid.UUID
}

func (e *env) seedUser(t *testing.T, user uuid.UUID) objects {
	t.Helper()
	tok := e.token(user)
	var o objects
	o.workflow = e.createHello(tok).ID
	var s sessionJSON
	r := e.do(req{method: "POST", path: "/api/app/sessions", token: tok, body: map[string]any{"action": "edit", "source_workflow_id": o.workflow, "meta_data": map[string]any{"title": "mine"}}})
	want(t, r, http.StatusCreated, "")
	r.json(t, &s)
	o.session = s.ID
	claims := fmt.Appendf(nil, `{"sub":%q,"role":"authenticated"}`, user)
	if err := e.store.WithUser(context.Background(), claims, func(tx pgx.Tx) error {
		for _, m := range []string{"make a workflow", "here it is"} {
			if _, err := store.AppendMessage(context.Background(), tx, s.ID, "user", m); err != nil {
				return err
			}
		}
		_, err := tx.Exec(context.Background(), `insert into workflow_states (session_id, stage) values ($1, 'clarification')`, s.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var k apiKeyJSON
	r = e.do(req{method: "POST", path: "/api/app/api-keys", token: tok, body: map[string]any{"name": "ci", "scopes": []string{"tools:read"}}})
	want(t, r, http.StatusCreated, "")
	r.json(t, &k)
	o.apiKey = k.ID
	return o
}

// For every resource and verb, B gets 404 on A's objects, exactly as for
// objects that do not exist, and never sees them in a list; A's objects
// are untouched afterwards.
func TestOtherUsersObjectsAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	a := e.seedUser(t, alice)
	b := e.seedUser(t, bob)
	tokA, tokB := e.token(alice), e.token(bob)

	hello := hello()
	tests := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/app/workflows/%s", nil},
		{"PUT", "/api/app/workflows/%s", map[string]any{"name": "mine now"}},
		{"PATCH", "/api/app/workflows/%s", map[string]any{"name": "mine now"}},
		{"PATCH", "/api/app/workflows/%s", hello},
		{"DELETE", "/api/app/workflows/%s", nil},
		{"GET", "/api/app/sessions/%s", nil},
		{"PUT", "/api/app/sessions/%s", map[string]any{"meta_data": map[string]any{"title": "mine now"}}},
		{"DELETE", "/api/app/sessions/%s", nil},
		{"GET", "/api/app/chat/%s/messages", nil},
		{"DELETE", "/api/app/api-keys/%s", nil},
	}
	ids := func(o objects, path string) uuid.UUID {
		switch {
		case strings.Contains(path, "workflows"):
			return o.workflow
		case strings.Contains(path, "api-keys"):
			return o.apiKey
		}
		return o.session
	}
	for _, tt := range tests {
		for _, target := range []struct {
			name string
			id   uuid.UUID
		}{{"A's", ids(a, tt.path)}, {"missing", uuid.New()}, {"malformed", uuid.Nil}} {
			path := fmt.Sprintf(tt.path, target.id)
			if target.name == "malformed" {
				path = fmt.Sprintf(tt.path, "not-a-uuid")
			}
			t.Run(tt.method+" "+tt.path+" "+target.name, func(t *testing.T) {
				r := e.do(req{method: tt.method, path: path, token: tokB, body: tt.body})
				want(t, r, http.StatusNotFound, "not_found")
				if strings.Contains(string(r.body), target.id.String()) && target.name == "A's" {
					t.Fatalf("404 body echoes A's id: %s", r.body)
				}
			})
		}
	}
	for _, action := range []string{"edit", "copy"} {
		t.Run("POST /sessions "+action+" from A's workflow", func(t *testing.T) {
			want(t, e.do(req{method: "POST", path: "/api/app/sessions", token: tokB, body: map[string]any{"action": action, "source_workflow_id": a.workflow}}), 404, "not_found")
		})
	}

	lists := []struct{ path, key string }{
		{"/api/app/workflows", "workflows"},
		{"/api/app/auth/sessions", "sessions"},
		{"/api/app/api-keys", "api_keys"},
	}
	for _, l := range lists {
		t.Run("B's list "+l.path, func(t *testing.T) {
			r := e.do(req{method: "GET", path: l.path, token: tokB})
			want(t, r, http.StatusOK, "")
			var body map[string][]struct{ ID uuid.UUID }
			r.json(t, &body)
			if len(body[l.key]) != 1 || body[l.key][0].ID != ids(b, l.path) {
				t.Fatalf("B's list: %s", r.body)
			}
			for _, id := range []uuid.UUID{a.workflow, a.session, a.apiKey} {
				if strings.Contains(string(r.body), id.String()) {
					t.Fatalf("B's list shows A's %s: %s", id, r.body)
				}
			}
		})
	}
	t.Run("B's profile counts only B's", func(t *testing.T) {
		var p profileJSON
		e.do(req{method: "GET", path: "/api/app/auth/profile", token: tokB}).json(t, &p)
		if p.ID != bob.String() || p.Counts != (countsJSON{Workflows: 1, Sessions: 1, ActiveAPIKeys: 1}) {
			t.Fatalf("profile %+v", p)
		}
	})

	t.Run("A's objects are untouched", func(t *testing.T) {
		var w workflowJSON
		want(t, e.do(req{method: "GET", path: "/api/app/workflows/" + a.workflow.String(), token: tokA}), 200, "")
		e.do(req{method: "GET", path: "/api/app/workflows/" + a.workflow.String(), token: tokA}).json(t, &w)
		if w.Version != 1 || w.Name != "Hello pipeline" {
			t.Fatalf("A's workflow changed: %+v", w)
		}
		var s sessionJSON
		e.do(req{method: "GET", path: "/api/app/sessions/" + a.session.String(), token: tokA}).json(t, &s)
		if string(s.MetaData) != `{"title":"mine"}` || s.WorkflowState == nil || s.WorkflowState.Stage != "clarification" {
			t.Fatalf("A's session changed: %+v", s)
		}
		var m struct{ Messages []messageJSON }
		e.do(req{method: "GET", path: "/api/app/chat/" + a.session.String() + "/messages", token: tokA}).json(t, &m)
		if len(m.Messages) != 2 {
			t.Fatalf("A has %d messages", len(m.Messages))
		}
		var k struct {
			APIKeys []apiKeyJSON `json:"api_keys"`
		}
		e.do(req{method: "GET", path: "/api/app/api-keys", token: tokA}).json(t, &k)
		if len(k.APIKeys) != 1 || !k.APIKeys[0].Active {
			t.Fatalf("A's key changed: %+v", k)
		}
	})
}

func TestAuthenticationIsRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, r := range e.engine.Routes() {
		if !strings.HasPrefix(r.Path, Prefix) {
			continue
		}
		path := strings.NewReplacer(":id", uuid.NewString(), ":session_id", uuid.NewString(), "*path", "x").Replace(r.Path)
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			got := e.do(req{method: r.Method, path: path})
			want(t, got, http.StatusUnauthorized, "missing_token")
			if got.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("a token signed with another secret", func(t *testing.T) {
		other := e.auth
		other.JWTSecret = strings.Repeat("z", 40)
		tok, _ := authMint(other, uuid.New())
		want(t, e.do(req{method: "GET", path: "/api/app/workflows", token: tok}), 401, "invalid_token")
	})
}
