package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// Page sizes (DESIGN §3): ?limit= defaults to 50; larger asks get 200.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// cursor is the opaque ?cursor=: the list it belongs to and the keyset
// position of the last row returned, as base64url JSON. A cursor only moves
// a position; row level security still decides what is listed.
type cursor struct {
	List string    `json:"l"`
	At   time.Time `json:"t,omitzero"`
	ID   uuid.UUID `json:"i,omitzero"`
	Seq  int64     `json:"s,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// page reads ?limit= and ?cursor= for the list named list.
func page(c *gin.Context, list string) (store.Page, error) {
	p := store.Page{Limit: defaultLimit}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, apperr.Validation(apperr.FieldError{Field: "limit", Message: "must be a positive integer (at most 200)"})
		}
		p.Limit = min(n, maxLimit)
	}
	if s := c.Query("cursor"); s != "" {
		var cur cursor
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err == nil {
			err = json.Unmarshal(b, &cur)
		}
		if err != nil || cur.List != list {
			return p, apperr.Validation(apperr.FieldError{Field: "cursor", Message: "is not a cursor this list returned"})
		}
		p.After = store.After{At: cur.At, ID: cur.ID, Seq: cur.Seq}
	}
	return p, nil
}

// trim cuts rows to the page and returns the cursor of the next page, nil
// at the end. rows holds up to Limit+1 rows; position is the keyset of a row.
func trim[T any](rows []T, p store.Page, list string, position func(T) cursor) ([]T, *string) {
	if len(rows) <= p.Limit {
		return rows, nil
	}
	rows = rows[:p.Limit]
	cur := position(rows[len(rows)-1])
	cur.List = list
	next := cur.encode()
	return rows, &next
}
