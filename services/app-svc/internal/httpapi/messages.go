package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

type messageJSON struct {
	ID        uuid.UUID `json:"id"`
	SessionID uuid.UUID `json:"session_id"`
	Role      string    `json:"role"`
	Content   string    `json:"content"`
	Sequence  int64     `json:"sequence"`
	CreatedAt time.Time `json:"created_at"`
}

// listMessages is a session's chat history in sequence order. A session
// the caller cannot see is a 404, not an empty history.
func (h *handlers) listMessages(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "session_id", "session")
	if err != nil {
		return err
	}
	p, err := page(c, "messages")
	if err != nil {
		return err
	}
	var rows []store.Message
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		if _, err := store.GetSession(c, tx, id); err != nil {
			return err
		}
		rows, err = store.ListMessages(c, tx, id, p)
		return err
	})
	if err != nil {
		return dbError(err, "session")
	}
	rows, next := trim(rows, p, "messages", func(m store.Message) cursor { return cursor{Seq: m.Sequence} })
	out := make([]messageJSON, len(rows))
	for i, m := range rows {
		out[i] = messageJSON{ID: m.ID, SessionID: m.SessionID, Role: m.Role, Content: m.Content, Sequence: m.Sequence, CreatedAt: m.CreatedAt.UTC()}
	}
	c.JSON(http.StatusOK, gin.H{"messages": out, "next_cursor": next})
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
