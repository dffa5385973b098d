package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Session is a sessions row.
type Session struct {
	ID               uuid.UUID
	Action           string
	SourceWorkflowID uuid.NullUUID
	MetaData         []byte
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// WorkflowState is the agent's state of a session (workflow_states).
type WorkflowState struct {
	Stage     string
	State     []byte
	UpdatedAt time.Time
}

const sessionColumns = `id, action, source_workflow_id, meta_data, created_at, updated_at`

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.Action, &s.SourceWorkflowID, &s.MetaData, &s.CreatedAt, &s.UpdatedAt)
	return s, translate(err)
}

// InsertSession creates a session owned by the transaction's user.
func InsertSession(ctx context.Context, tx pgx.Tx, action string, source uuid.NullUUID, meta []byte) (Session, error) {
	return scanSession(tx.QueryRow(ctx,
		`insert into sessions (action, source_workflow_id, meta_data) values ($1, $2, $3) returning `+sessionColumns,
		action, source, meta))
}

// GetSession reads a session the user can see, or ErrNotFound.
func GetSession(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Session, error) {
	return scanSession(tx.QueryRow(ctx, `select `+sessionColumns+` from sessions where id = $1`, id))
}

// GetWorkflowState reads a session's agent state; ErrNotFound when the
// agent has not saved any yet.
func GetWorkflowState(ctx context.Context, tx pgx.Tx, sessionID uuid.UUID) (WorkflowState, error) {
	var st WorkflowState
	err := tx.QueryRow(ctx, `select stage, state, updated_at from workflow_states where session_id = $1`, sessionID).
		Scan(&st.Stage, &st.State, &st.UpdatedAt)
	return st, translate(err)
}

// UpdateSessionMeta replaces a session's meta_data.
func UpdateSessionMeta(ctx context.Context, tx pgx.Tx, id uuid.UUID, meta []byte) (Session, error) {
	return scanSession(tx.QueryRow(ctx,
		`update sessions set meta_data = $2, updated_at = now() where id = $1 returning `+sessionColumns, id, meta))
}

// DeleteSession deletes a session with its messages and state.
func DeleteSession(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `delete from sessions where id = $1`, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ListSessions returns the user's sessions, newest first.
func ListSessions(ctx context.Context, tx pgx.Tx, p Page) ([]Session, error) {
	var rows pgx.Rows
	var err error
	if p.After.IsZero() {
		rows, err = tx.Query(ctx, `select `+sessionColumns+` from sessions order by created_at desc, id desc limit $1`, p.Limit+1)
	} else {
		rows, err = tx.Query(ctx, `select `+sessionColumns+` from sessions where (created_at, id) < ($1, $2)
			order by created_at desc, id desc limit $3`, p.After.At, p.After.ID, p.Limit+1)
	}
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Session, error) { return scanSession(r) })
	return out, translate(err)
}

// Message is a chat_messages row.
type Message struct {
	ID        uuid.UUID
	SessionID uuid.UUID
	Role      string
	Content   string
	Sequence  int64
	CreatedAt time.Time
}

// ListMessages returns a session's messages in sequence order. The caller
// checks first that the session is the user's (GetSession): an unknown
// session must be a 404, not an empty list.
func ListMessages(ctx context.Context, tx pgx.Tx, sessionID uuid.UUID, p Page) ([]Message, error) {
	rows, err := tx.Query(ctx, `select id, session_id, role, content, sequence, created_at from chat_messages
		where session_id = $1 and sequence > $2 order by sequence limit $3`, sessionID, p.After.Seq, p.Limit+1)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ID, &m.SessionID, &m.Role, &m.Content, &m.Sequence, &m.CreatedAt)
		return m, err
	})
	return out, translate(err)
}

// AppendMessage adds a message after the session's last one (the chat
// stream's seam; tests seed history with it).
func AppendMessage(ctx context.Context, tx pgx.Tx, sessionID uuid.UUID, role, content string) (Message, error) {
	m := Message{SessionID: sessionID, Role: role, Content: content}
	err := tx.QueryRow(ctx, `insert into chat_messages (session_id, role, content, sequence)
		select $1, $2, $3, coalesce(max(sequence), 0) + 1 from chat_messages where session_id = $1
		returning id, sequence, created_at`, sessionID, role, content).Scan(&m.ID, &m.Sequence, &m.CreatedAt)
	return m, translate(err)
}

// Counts are how many objects the user has, for the profile.
type Counts struct {
	Workflows     int64
	Sessions      int64
	ActiveAPIKeys int64
}

// CountMine counts the user's objects. There is no where clause on the
// owner: row level security scopes each count to the user.
func CountMine(ctx context.Context, tx pgx.Tx) (Counts, error) {
	var c Counts
	err := tx.QueryRow(ctx, `select (select count(*) from workflows), (select count(*) from sessions),
		(select count(*) from api_keys where active)`).Scan(&c.Workflows, &c.Sessions, &c.ActiveAPIKeys)
	return c, translate(err)
}
