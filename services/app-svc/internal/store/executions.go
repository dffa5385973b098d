package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Execution is a workflow_executions row without what only publishing
// needs (see Dispatch). JSON columns are raw; Result is nil until the
// execution succeeds.
type Execution struct {
	ID              uuid.UUID
	WorkflowID      uuid.UUID
	UserID          uuid.UUID
	WorkflowVersion int
	Status          string
	Inputs          []byte
	Result          []byte
	NodeResults     []byte
	Error           *string
	IdempotencyKey  *string
	StartedAt       *time.Time
	FinishedAt      *time.Time
	CreatedAt       time.Time
	// LastEventSeq is the stream sequence of the last event applied;
	// Attempt and EventSequence are that event's attempt and per-attempt
	// sequence.
	LastEventSeq  int64
	Attempt       int
	EventSequence int64
}

// NewExecution is what execute stores: the workflow snapshot with its
// credentials sealed, and the request id and trace context for the
// sweeper's re-publication.
type NewExecution struct {
	ID              uuid.UUID
	WorkflowID      uuid.UUID
	WorkflowVersion int
	Inputs          []byte
	IdempotencyKey  *string
	Snapshot        []byte
	RequestID       string
	TraceContext    map[string]string
}

// Dispatch is an execution the sweeper publishes again.
type Dispatch struct {
	ID           uuid.UUID
	WorkflowID   uuid.UUID
	UserID       uuid.UUID
	Inputs       []byte
	Snapshot     []byte
	RequestID    string
	TraceContext map[string]string
}

const executionColumns = `id, workflow_id, user_id, workflow_version, status, inputs, result, node_results, error,
	idempotency_key, started_at, finished_at, created_at, last_event_seq, attempt, event_sequence`

func scanExecution(row pgx.Row) (Execution, error) {
	var e Execution
	err := row.Scan(&e.ID, &e.WorkflowID, &e.UserID, &e.WorkflowVersion, &e.Status, &e.Inputs, &e.Result, &e.NodeResults, &e.Error,
		&e.IdempotencyKey, &e.StartedAt, &e.FinishedAt, &e.CreatedAt, &e.LastEventSeq, &e.Attempt, &e.EventSequence)
	return e, translate(err)
}

// InsertExecution stores a new execution (status new) for the
// transaction's user; row level security requires the workflow to be
// theirs. A reused idempotency key is ErrConflict.
func InsertExecution(ctx context.Context, tx pgx.Tx, n NewExecution) (Execution, error) {
	trace := n.TraceContext
	if trace == nil {
		trace = map[string]string{}
	}
	return scanExecution(tx.QueryRow(ctx,
		`insert into workflow_executions (id, workflow_id, workflow_version, inputs, idempotency_key, workflow_snapshot, request_id, trace_context)
		 values ($1, $2, $3, $4, $5, $6, $7, $8) returning `+executionColumns,
		n.ID, n.WorkflowID, n.WorkflowVersion, n.Inputs, n.IdempotencyKey, n.Snapshot, n.RequestID, trace))
}

// GetExecution reads one execution the transaction may see.
func GetExecution(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Execution, error) {
	return scanExecution(tx.QueryRow(ctx, `select `+executionColumns+` from workflow_executions where id = $1`, id))
}

// ExecutionByIdempotencyKey finds the user's execution made with key
// within the idempotency window (by the database's clock).
func ExecutionByIdempotencyKey(ctx context.Context, tx pgx.Tx, key string, window time.Duration) (Execution, error) {
	return scanExecution(tx.QueryRow(ctx, `select `+executionColumns+` from workflow_executions
		where idempotency_key = $1 and created_at >= now() - make_interval(secs => $2)`, key, window.Seconds()))
}

// SameExecuteRequest reports whether an execute call for workflowID with
// inputs repeats the one that made the execution: the same workflow and
// the same inputs as JSON values (key order and spacing do not matter).
func SameExecuteRequest(ctx context.Context, tx pgx.Tx, id, workflowID uuid.UUID, inputs []byte) (bool, error) {
	var same bool
	err := tx.QueryRow(ctx, `select workflow_id = $2 and inputs = $3::jsonb from workflow_executions where id = $1`,
		id, workflowID, inputs).Scan(&same)
	return same, translate(err)
}

// ReleaseIdempotencyKey frees a user's key once its execution is older
// than the idempotency window, so the key can start a new one. Service
// role: users cannot update executions.
func ReleaseIdempotencyKey(ctx context.Context, tx pgx.Tx, userID uuid.UUID, key string, window time.Duration) error {
	_, err := tx.Exec(ctx,
		`update workflow_executions set idempotency_key = null
		 where user_id = $1 and idempotency_key = $2 and created_at < now() - make_interval(secs => $3)`,
		userID, key, window.Seconds())
	return translate(err)
}

// ListExecutions returns a workflow's executions, newest first, without
// their node results.
func ListExecutions(ctx context.Context, tx pgx.Tx, workflowID uuid.UUID, p Page) ([]Execution, error) {
	cols := `select id, workflow_id, user_id, workflow_version, status, inputs, result, '{}'::jsonb, error,
		idempotency_key, started_at, finished_at, created_at, last_event_seq, attempt, event_sequence from workflow_executions`
	var rows pgx.Rows
	var err error
	if p.After.IsZero() {
		rows, err = tx.Query(ctx, cols+` where workflow_id = $1 order by created_at desc, id desc limit $2`, workflowID, p.Limit+1)
	} else {
		rows, err = tx.Query(ctx, cols+` where workflow_id = $1 and (created_at, id) < ($2, $3) order by created_at desc, id desc limit $4`,
			workflowID, p.After.At, p.After.ID, p.Limit+1)
	}
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Execution, error) { return scanExecution(r) })
	return out, translate(err)
}

// LockExecution reads an execution and locks its row until the
// transaction ends, so events of one execution apply one after another
// whichever replica holds them. Service role.
func LockExecution(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Execution, error) {
	return scanExecution(tx.QueryRow(ctx, `select `+executionColumns+` from workflow_executions where id = $1 for update`, id))
}

// SaveExecutionProgress writes what applying events changed. Service role.
func SaveExecutionProgress(ctx context.Context, tx pgx.Tx, e Execution) error {
	_, err := tx.Exec(ctx,
		`update workflow_executions set status = $2, result = $3, node_results = $4, error = $5, started_at = $6,
		        finished_at = $7, last_event_seq = $8, attempt = $9, event_sequence = $10
		 where id = $1`,
		e.ID, e.Status, e.Result, e.NodeResults, e.Error, e.StartedAt, e.FinishedAt, e.LastEventSeq, e.Attempt, e.EventSequence)
	return translate(err)
}

// DueForDispatch locks up to limit executions still new whose creation and
// last publication are both older than grace, skipping rows another
// replica's sweeper holds. Service role; the locks last until the
// transaction ends.
func DueForDispatch(ctx context.Context, tx pgx.Tx, grace time.Duration, limit int) ([]Dispatch, error) {
	rows, err := tx.Query(ctx,
		`select id, workflow_id, user_id, inputs, workflow_snapshot, request_id, trace_context from workflow_executions
		 where status = 'new' and workflow_snapshot is not null
		   and created_at < now() - make_interval(secs => $1)
		   and (published_at is null or published_at < now() - make_interval(secs => $1))
		 order by created_at
		 limit $2
		 for update skip locked`, grace.Seconds(), limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Dispatch, error) {
		var d Dispatch
		err := r.Scan(&d.ID, &d.WorkflowID, &d.UserID, &d.Inputs, &d.Snapshot, &d.RequestID, &d.TraceContext)
		return d, err
	})
	return out, translate(err)
}

// MarkPublished records that the sweeper published the executions now.
func MarkPublished(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	_, err := tx.Exec(ctx, `update workflow_executions set published_at = now() where id = any($1)`, ids)
	return translate(err)
}
