package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SaveWorkflowState stores a session's agent state, replacing the last one
// (the chat stream saves it as the agent sends it).
func SaveWorkflowState(ctx context.Context, tx pgx.Tx, sessionID uuid.UUID, stage string, state []byte) error {
	_, err := tx.Exec(ctx, `insert into workflow_states (session_id, stage, state) values ($1, $2, $3)
		on conflict (session_id) do update set stage = excluded.stage, state = excluded.state, updated_at = now()`,
		sessionID, stage, state)
	return translate(err)
}
