package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// Session actions: a new workflow, or a change to / a copy of one the
// user owns.
const (
	actionCreate = "create"
	actionEdit   = "edit"
	actionCopy   = "copy"
)

type sessionJSON struct {
	ID               uuid.UUID          `json:"id"`
	Action           string             `json:"action"`
	SourceWorkflowID *uuid.UUID         `json:"source_workflow_id"`
	MetaData         json.RawMessage    `json:"meta_data"`
	CreatedAt        time.Time          `json:"created_at"`
	UpdatedAt        time.Time          `json:"updated_at"`
	WorkflowState    *workflowStateJSON `json:"workflow_state,omitempty"`
}

type workflowStateJSON struct {
	Stage     string          `json:"stage"`
	State     json.RawMessage `json:"state"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func sessionOut(s store.Session) sessionJSON {
	out := sessionJSON{ID: s.ID, Action: s.Action, MetaData: s.MetaData, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
	if s.SourceWorkflowID.Valid {
		out.SourceWorkflowID = &s.SourceWorkflowID.UUID
	}
	return out
}

type sessionCreate struct {
	Action           string         `json:"action"`
	SourceWorkflowID *string        `json:"source_workflow_id"`
	MetaData         map[string]any `json:"meta_data"`
}

type sessionUpdate struct {
	MetaData *map[string]any `json:"meta_data"`
}

// listSessions is GET /auth/sessions: the caller's sessions, newest first.
func (h *handlers) listSessions(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	p, err := page(c, "sessions")
	if err != nil {
		return err
	}
	var rows []store.Session
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		rows, err = store.ListSessions(c, tx, p)
		return err
	})
	if err != nil {
		return dbError(err, "session")
	}
	rows, next := trim(rows, p, "sessions", func(s store.Session) cursor { return cursor{At: s.CreatedAt, ID: s.ID} })
	out := make([]sessionJSON, len(rows))
	for i, s := range rows {
		out[i] = sessionOut(s)
	}
	c.JSON(http.StatusOK, gin.H{"sessions": out, "next_cursor": next})
	return nil
}

func (h *handlers) createSession(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	var in sessionCreate
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Action == "" {
		in.Action = actionCreate
	}
	var source uuid.NullUUID
	switch {
	case in.Action != actionCreate && in.Action != actionEdit && in.Action != actionCopy:
		return apperr.Validation(apperr.FieldError{Field: "action", Message: "must be create, edit or copy"})
	case in.Action == actionCreate && in.SourceWorkflowID != nil:
		return apperr.Validation(apperr.FieldError{Field: "source_workflow_id", Message: "must be left out when action is create"})
	case in.Action != actionCreate && in.SourceWorkflowID == nil:
		return apperr.Validation(apperr.FieldError{Field: "source_workflow_id", Message: "is required when action is " + in.Action})
	case in.SourceWorkflowID != nil:
		id, err := uuid.Parse(*in.SourceWorkflowID)
		if err != nil {
			return apperr.Validation(apperr.FieldError{Field: "source_workflow_id", Message: "must be a UUID"})
		}
		source = uuid.NullUUID{UUID: id, Valid: true}
	}
	meta, err := json.Marshal(orEmpty(in.MetaData))
	if err != nil {
		return err
	}
	var s store.Session
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		if source.Valid {
			// Row level security hides other users' workflows: theirs
			// and missing ones are the same 404.
			ok, err := store.WorkflowExists(c, tx, source.UUID)
			if err != nil {
				return err
			}
			if !ok {
				return notFound("source workflow")
			}
		}
		s, err = store.InsertSession(c, tx, in.Action, source, meta)
		return err
	})
	if err != nil {
		return dbError(err, "source workflow")
	}
	c.Header("Location", Prefix+"/sessions/"+s.ID.String())
	c.JSON(http.StatusCreated, sessionOut(s))
	return nil
}

// getSession returns a session with the agent's workflow state, when the
// agent has saved one.
func (h *handlers) getSession(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "session")
	if err != nil {
		return err
	}
	var out sessionJSON
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		s, err := store.GetSession(c, tx, id)
		if err != nil {
			return err
		}
		out = sessionOut(s)
		st, err := store.GetWorkflowState(c, tx, id)
		switch {
		case err == nil:
			out.WorkflowState = &workflowStateJSON{Stage: st.Stage, State: st.State, UpdatedAt: st.UpdatedAt.UTC()}
		case !isNotFound(err):
			return err
		}
		return nil
	})
	if err != nil {
		return dbError(err, "session")
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// updateSession replaces the session's meta_data, its only mutable field:
// action and source are fixed when the session starts.
func (h *handlers) updateSession(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "session")
	if err != nil {
		return err
	}
	var in sessionUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.MetaData == nil {
		return apperr.Validation(apperr.FieldError{Field: "meta_data", Message: "is required (an object)"})
	}
	meta, err := json.Marshal(orEmpty(*in.MetaData))
	if err != nil {
		return err
	}
	var s store.Session
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		s, err = store.UpdateSessionMeta(c, tx, id, meta)
		return err
	})
	if err != nil {
		return dbError(err, "session")
	}
	c.JSON(http.StatusOK, sessionOut(s))
	return nil
}

// deleteSession deletes a session; its messages and state go with it.
func (h *handlers) deleteSession(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "session")
	if err != nil {
		return err
	}
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error { return store.DeleteSession(c, tx, id) })
	if err != nil {
		return dbError(err, "session")
	}
	c.Status(http.StatusNoContent)
	return nil
}
