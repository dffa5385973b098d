package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Workflow is a workflows row. The JSON columns are raw; Credentials holds
// sealed values only (see package workflows).
type Workflow struct {
	ID          uuid.UUID
	Name        string
	Description string
	Nodes       []byte
	Connections []byte
	Settings    []byte
	Credentials []byte
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WorkflowSummary is a row of the workflow list.
type WorkflowSummary struct {
	ID          uuid.UUID
	Name        string
	Description string
	NodeCount   int
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const workflowColumns = `id, name, description, nodes, connections, settings, credentials, version, created_at, updated_at`

func scanWorkflow(row pgx.Row) (Workflow, error) {
	var w Workflow
	err := row.Scan(&w.ID, &w.Name, &w.Description, &w.Nodes, &w.Connections, &w.Settings, &w.Credentials, &w.Version, &w.CreatedAt, &w.UpdatedAt)
	return w, translate(err)
}

// InsertWorkflow stores a new workflow owned by the transaction's user
// (user_id defaults to auth.uid()).
func InsertWorkflow(ctx context.Context, tx pgx.Tx, w Workflow) (Workflow, error) {
	return scanWorkflow(tx.QueryRow(ctx,
		`insert into workflows (id, name, description, nodes, connections, settings, credentials)
		 values ($1, $2, $3, $4, $5, $6, $7) returning `+workflowColumns,
		w.ID, w.Name, w.Description, w.Nodes, w.Connections, w.Settings, w.Credentials))
}

// GetWorkflow reads one workflow the user can see, or ErrNotFound.
func GetWorkflow(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Workflow, error) {
	return scanWorkflow(tx.QueryRow(ctx, `select `+workflowColumns+` from workflows where id = $1`, id))
}

// LockWorkflow reads a workflow and locks its row until the transaction
// ends, so concurrent updates apply one after the other.
func LockWorkflow(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Workflow, error) {
	return scanWorkflow(tx.QueryRow(ctx, `select `+workflowColumns+` from workflows where id = $1 for update`, id))
}

// UpdateWorkflow replaces a workflow's content and bumps its version.
func UpdateWorkflow(ctx context.Context, tx pgx.Tx, w Workflow) (Workflow, error) {
	return scanWorkflow(tx.QueryRow(ctx,
		`update workflows set name = $2, description = $3, nodes = $4, connections = $5, settings = $6,
		        credentials = $7, version = version + 1, updated_at = now()
		 where id = $1 returning `+workflowColumns,
		w.ID, w.Name, w.Description, w.Nodes, w.Connections, w.Settings, w.Credentials))
}

// DeleteWorkflow deletes a workflow and returns the version it had, or
// ErrNotFound. Its executions go with it; sessions that started from it
// keep their history and lose the reference.
func DeleteWorkflow(ctx context.Context, tx pgx.Tx, id uuid.UUID) (int, error) {
	var version int
	err := tx.QueryRow(ctx, `delete from workflows where id = $1 returning version`, id).Scan(&version)
	return version, translate(err)
}

// WorkflowExists reports whether the user can see the workflow.
func WorkflowExists(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `select exists (select 1 from workflows where id = $1)`, id).Scan(&ok)
	return ok, translate(err)
}

// ListWorkflows returns the user's workflows, most recently updated first.
func ListWorkflows(ctx context.Context, tx pgx.Tx, p Page) ([]WorkflowSummary, error) {
	const cols = `select id, name, description, jsonb_array_length(nodes), version, created_at, updated_at from workflows`
	var rows pgx.Rows
	var err error
	if p.After.IsZero() {
		rows, err = tx.Query(ctx, cols+` order by updated_at desc, id desc limit $1`, p.Limit+1)
	} else {
		rows, err = tx.Query(ctx, cols+` where (updated_at, id) < ($1, $2) order by updated_at desc, id desc limit $3`,
			p.After.At, p.After.ID, p.Limit+1)
	}
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkflowSummary, error) {
		var w WorkflowSummary
		err := r.Scan(&w.ID, &w.Name, &w.Description, &w.NodeCount, &w.Version, &w.CreatedAt, &w.UpdatedAt)
		return w, err
	})
	return out, translate(err)
}
