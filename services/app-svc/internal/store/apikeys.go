package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// APIKey is an api_keys row without its hash, which users cannot read.
type APIKey struct {
	ID         uuid.UUID
	UserID     uuid.NullUUID
	Name       string
	Prefix     string
	Scopes     []string
	Tier       string
	Active     bool
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// NewAPIKey is what creating a key stores: the SHA-256 of the key, never
// the key.
type NewAPIKey struct {
	UserID    uuid.NullUUID
	Name      string
	Hash      []byte
	Prefix    string
	Scopes    []string
	Tier      string
	ExpiresAt *time.Time
}

const apiKeyColumns = `id, user_id, client_name, prefix, scopes, tier, active, expires_at, last_used_at, created_at`

func scanAPIKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Scopes, &k.Tier, &k.Active, &k.ExpiresAt, &k.LastUsedAt, &k.CreatedAt)
	return k, translate(err)
}

// InsertAPIKey stores a key. Under a user's claims row level security
// refuses any UserID but the user's own.
func InsertAPIKey(ctx context.Context, tx pgx.Tx, k NewAPIKey) (APIKey, error) {
	return scanAPIKey(tx.QueryRow(ctx,
		`insert into api_keys (user_id, client_name, key_hash, prefix, scopes, tier, expires_at)
		 values ($1, $2, $3, $4, $5, $6, $7) returning `+apiKeyColumns,
		k.UserID, k.Name, k.Hash, k.Prefix, k.Scopes, k.Tier, k.ExpiresAt))
}

// ListAPIKeys returns the user's keys, revoked ones included, newest first.
func ListAPIKeys(ctx context.Context, tx pgx.Tx, p Page) ([]APIKey, error) {
	var rows pgx.Rows
	var err error
	if p.After.IsZero() {
		rows, err = tx.Query(ctx, `select `+apiKeyColumns+` from api_keys order by created_at desc, id desc limit $1`, p.Limit+1)
	} else {
		rows, err = tx.Query(ctx, `select `+apiKeyColumns+` from api_keys where (created_at, id) < ($1, $2)
			order by created_at desc, id desc limit $3`, p.After.At, p.After.ID, p.Limit+1)
	}
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) { return scanAPIKey(r) })
	return out, translate(err)
}

// RevokeAPIKey deactivates a key (idempotent), or returns ErrNotFound. The
// row stays so that mcp-svc tells its client "disabled", not "unknown".
func RevokeAPIKey(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `update api_keys set active = false where id = $1`, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
