// Package store is app-svc's PostgreSQL adapter. Every user request runs in
// one transaction that first switches to the `authenticated` role and sets
// the verified JWT claims, transaction-locally, the way PostgREST does; row
// level security then scopes every query to the user even when the SQL
// forgets a where clause. System writes run as `service_role`.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors the app layer maps to HTTP.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrTimeout  = errors.New("database statement timed out")
	// ErrUnavailable means the database could not be reached.
	ErrUnavailable = errors.New("database unavailable")
)

// Store wraps the pool.
type Store struct {
	pool             *pgxpool.Pool
	statementTimeout time.Duration
}

// New returns a Store; statementTimeout bounds each statement of a request.
func New(pool *pgxpool.Pool, statementTimeout time.Duration) *Store {
	return &Store{pool: pool, statementTimeout: statementTimeout}
}

// Pool exposes the pool for health checks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// WithUser runs fn in a transaction as the user whose verified claims (the
// raw JWT payload JSON) are given. The role switch, the claims and the
// statement timeout are set in one round trip and end with the transaction.
func (s *Store) WithUser(ctx context.Context, claimsJSON []byte, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, "authenticated", claimsJSON, fn)
}

// AsService runs fn as service_role (BYPASSRLS), for system writes such as
// execution events and the admin CLI.
func (s *Store) AsService(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, "service_role", []byte(`{"role":"service_role"}`), fn)
}

func (s *Store) inTx(ctx context.Context, role string, claims []byte, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	timeout := strconv.FormatInt(s.statementTimeout.Milliseconds(), 10)
	if _, err := tx.Exec(ctx,
		`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('statement_timeout', $3, true)`,
		role, string(claims), timeout); err != nil {
		return translate(err)
	}
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit(ctx))
}

// translate turns driver errors into the package's sentinels, once.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", ErrConflict, pg.ConstraintName)
		case "42501", "23503": // RLS refusal or a reference to a row the user cannot see
			return fmt.Errorf("%w: %s", ErrNotFound, pg.Message)
		case "57014": // query_canceled by statement_timeout
			return ErrTimeout
		}
	}
	return err
}
