package store

import (
	"time"

	"github.com/google/uuid"
)

// After is a keyset position: lists ordered by time continue after (At,
// ID); message lists continue after Seq. The zero value starts a list.
type After struct {
	At  time.Time
	ID  uuid.UUID
	Seq int64
}

// IsZero reports the start of a list.
func (a After) IsZero() bool { return a.At.IsZero() && a.ID == uuid.Nil && a.Seq == 0 }

// Page asks for up to Limit rows after After. Lists return Limit+1 rows
// at most: the extra row, when present, tells the caller there is more.
type Page struct {
	Limit int
	After After
}
