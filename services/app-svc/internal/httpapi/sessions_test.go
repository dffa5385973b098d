package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	wf := e.createHello(tok)

	tests := []struct {
		name   string
		body   any
		action string
		source *uuid.UUID
		meta   string
	}{
		{"defaults to create", `{}`, "create", nil, `{}`},
		{"create with meta_data", `{"action": "create", "meta_data": {"title": "New"}}`, "create", nil, `{"title":"New"}`},
		{"edit", map[string]any{"action": "edit", "source_workflow_id": wf.ID}, "edit", &wf.ID, `{}`},
		{"copy", map[string]any{"action": "copy", "source_workflow_id": wf.ID}, "copy", &wf.ID, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: "POST", path: "/api/app/sessions", token: tok, body: tt.body})
			want(t, r, http.StatusCreated, "")
			var s sessionJSON
			r.json(t, &s)
			if s.Action != tt.action || fmt.Sprint(s.SourceWorkflowID) != fmt.Sprint(tt.source) || string(s.MetaData) != tt.meta {
				t.Fatalf("created %s", r.body)
			}
			if r.header.Get("Location") != "/api/app/sessions/"+s.ID.String() {
				t.Fatalf("Location %q", r.header.Get("Location"))
			}
		})
	}

	var s sessionJSON
	e.do(req{method: "POST", path: "/api/app/sessions", token: tok, body: `{}`}).json(t, &s)
	path := "/api/app/sessions/" + s.ID.String()
	t.Run("get without state", func(t *testing.T) {
		r := e.do(req{method: "GET", path: path, token: tok})
		want(t, r, http.StatusOK, "")
		var got sessionJSON
		r.json(t, &got)
		if got.ID != s.ID || got.WorkflowState != nil {
			t.Fatalf("get: %s", r.body)
		}
	})
	t.Run("put replaces meta_data", func(t *testing.T) {
		r := e.do(req{method: "PUT", path: path, token: tok, body: `{"meta_data": {"title": "Renamed"}}`})
		want(t, r, http.StatusOK, "")
		var got sessionJSON
		r.json(t, &got)
		if string(got.MetaData) != `{"title":"Renamed"}` || !got.UpdatedAt.After(got.CreatedAt) {
			t.Fatalf("put: %s", r.body)
		}
	})
	t.Run("put needs meta_data", func(t *testing.T) {
		want(t, e.do(req{method: "PUT", path: path, token: tok, body: `{}`}), 400, "validation_error")
	})
	t.Run("put refuses fixed fields", func(t *testing.T) {
		want(t, e.do(req{method: "PUT", path: path, token: tok, body: `{"meta_data": {}, "action": "edit"}`}), 400, "validation_error")
	})

	t.Run("delete takes messages and state along", func(t *testing.T) {
		seedMessages(t, e, tok, s.ID, 3)
		if e.count("chat_messages") != 3 || e.count("workflow_states") != 1 {
			t.Fatal("seeding failed")
		}
		want(t, e.do(req{method: "DELETE", path: path, token: tok}), 204, "")
		want(t, e.do(req{method: "GET", path: path, token: tok}), 404, "not_found")
		if n, m := e.count("chat_messages"), e.count("workflow_states"); n != 0 || m != 0 {
			t.Fatalf("%d messages and %d states left", n, m)
		}
	})
}

// seedMessages writes n messages and a state as the user (the chat
// stream's job, not this API's).
func seedMessages(t *testing.T, e *env, tok string, session uuid.UUID, n int) {
	t.Helper()
	u, err := e.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = e.store.WithUser(ctx, u, func(tx pgx.Tx) error {
		for i := range n {
			role := []string{"user", "assistant"}[i%2]
			if _, err := store.AppendMessage(ctx, tx, session, role, fmt.Sprintf("message %d", i+1)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `insert into workflow_states (session_id, stage, state) values ($1, 'drafting', '{"nodes": 2}') on conflict do nothing`, session)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	var s sessionJSON
	e.do(req{method: "POST", path: "/api/app/sessions", token: tok, body: `{}`}).json(t, &s)
	seedMessages(t, e, tok, s.ID, 5)
	for range 4 {
		e.createHello(tok)
		e.do(req{method: "POST", path: "/api/app/sessions", token: tok, body: `{}`})
	}

	type page struct {
		items int
		first string
	}
	walk := func(t *testing.T, path, key string, limit int) []page {
		t.Helper()
		var pages []page
		cursor := ""
		for range 10 {
			url := fmt.Sprintf("%s?limit=%d", path, limit)
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			r := e.do(req{method: "GET", path: url, token: tok})
			want(t, r, http.StatusOK, "")
			var body map[string]any
			r.json(t, &body)
			items := body[key].([]any)
			p := page{items: len(items)}
			if len(items) > 0 {
				first := items[0].(map[string]any)
				p.first = fmt.Sprint(first["content"], first["id"])
			}
			pages = append(pages, p)
			next, _ := body["next_cursor"].(string)
			if next == "" {
				if body["next_cursor"] != nil {
					t.Fatalf("next_cursor %v, want null at the end", body["next_cursor"])
				}
				return pages
			}
			cursor = next
		}
		t.Fatal("pagination does not end")
		return nil
	}

	tests := []struct {
		name, path, key string
		limit           int
		sizes           []int
	}{
		{"messages by sequence", "/api/app/chat/" + s.ID.String() + "/messages", "messages", 2, []int{2, 2, 1}},
		{"messages exactly one page", "/api/app/chat/" + s.ID.String() + "/messages", "messages", 5, []int{5}},
		{"workflows", "/api/app/workflows", "workflows", 3, []int{3, 1}},
		{"sessions", "/api/app/auth/sessions", "sessions", 2, []int{2, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := walk(t, tt.path, tt.key, tt.limit)
			var sizes []int
			seen := map[string]bool{}
			for _, p := range pages {
				sizes = append(sizes, p.items)
				if seen[p.first] {
					t.Fatalf("page repeats %s", p.first)
				}
				seen[p.first] = true
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.sizes) {
				t.Fatalf("page sizes %v, want %v", sizes, tt.sizes)
			}
		})
	}
	t.Run("messages come in sequence order", func(t *testing.T) {
		var body struct{ Messages []messageJSON }
		e.do(req{method: "GET", path: "/api/app/chat/" + s.ID.String() + "/messages", token: tok}).json(t, &body)
		for i, m := range body.Messages {
			if m.Sequence != int64(i+1) || m.Content != fmt.Sprintf("message %d", i+1) {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
	})

	bad := []struct{ name, query string }{
		{"limit 0", "?limit=0"},
		{"limit not a number", "?limit=ten"},
		{"cursor garbage", "?cursor=!!!"},
		{"cursor of another list", "?cursor=" + cursor{List: "sessions", Seq: 1}.encode()},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			want(t, e.do(req{method: "GET", path: "/api/app/workflows" + tt.query, token: tok}), 400, "validation_error")
		})
	}
	t.Run("limit above 200 is capped", func(t *testing.T) {
		want(t, e.do(req{method: "GET", path: "/api/app/workflows?limit=100000", token: tok}), 200, "")
	})
}

func TestProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	tok := e.token(user)
	e.createHello(tok)
	r := e.do(req{method: "GET", path: "/api/app/auth/profile", token: tok})
	want(t, r, http.StatusOK, "")
	var p profileJSON
	r.json(t, &p)
	if p.ID != user.String() || p.Email != user.String()[:8]+"@example.com" || p.Role != "authenticated" ||
		p.Counts != (countsJSON{Workflows: 1}) || p.TokenExpiresAt.IsZero() {
		t.Fatalf("profile %s", r.body)
	}
}

func TestFilesAreNotImplemented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/app/files"}, {"POST", "/api/app/files"}, {"GET", "/api/app/files/a/b.txt"},
		{"PUT", "/api/app/files/a"}, {"PATCH", "/api/app/files/a"}, {"DELETE", "/api/app/files/a"}, {"POST", "/api/app/files/a"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			want(t, e.do(req{method: tt.method, path: tt.path, token: tok}), 501, "not_implemented")
		})
	}
}
