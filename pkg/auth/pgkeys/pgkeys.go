// Package pgkeys is the PostgreSQL auth.KeyStore: the MCP API keys users
// create in the App API and operators create with `app-svc apikey create`,
// in the api_keys table of app-svc's migrations.
//
// It reads no table. Each lookup runs, in a transaction as the NOLOGIN role
// anon, the SECURITY DEFINER function api_key_by_hash(bytea), which returns
// only the row whose SHA-256 matches; so mcp-svc's database role needs no
// grant on api_keys at all, only membership of anon. Last use is recorded
// in memory and written in the background through api_keys_touch(uuid[],
// timestamptz), at most once per key per TouchInterval, in one statement
// for all keys used: never a write per request.
package pgkeys

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wfagent/gateway/pkg/auth"
)

// DefaultTouchInterval is how often last_used_at is written when Options
// leaves it zero.
const DefaultTouchInterval = time.Minute

// Options configures New.
type Options struct {
	// TouchInterval bounds last_used_at writes to one per key per interval
	// (and sets how often Run flushes); last_used_at is accurate to it.
	TouchInterval time.Duration
	Logger        *slog.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Store implements auth.KeyStore. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	pending map[uuid.UUID]time.Time // uses not yet written
	noted   map[uuid.UUID]time.Time // when each key's last write was queued
}

var _ auth.KeyStore = (*Store)(nil)

// New returns a Store on pool. Call Run to write last use in the background.
func New(pool *pgxpool.Pool, o Options) *Store {
	if o.TouchInterval <= 0 {
		o.TouchInterval = DefaultTouchInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{pool: pool, interval: o.TouchInterval, log: o.Logger, now: o.Now,
		pending: map[uuid.UUID]time.Time{}, noted: map[uuid.UUID]time.Time{}}
}

// LookupAPIKey implements auth.KeyStore. An active, unexpired key's use is
// queued for the next flush.
func (s *Store) LookupAPIKey(ctx context.Context, hash string) (*auth.APIKey, error) {
	raw, err := hex.DecodeString(hash)
	if err != nil || len(raw) != 32 {
		return nil, auth.ErrKeyNotFound
	}
	var (
		id      uuid.UUID
		owner   uuid.NullUUID
		expires *time.Time
		k       auth.APIKey
	)
	err = asAnon(ctx, s.pool, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&id, &owner, &k.ClientName, &k.Prefix, &k.Scopes, &k.Tier, &k.Active, &expires)
	}, `select id, user_id, client_name, prefix, scopes, tier, active, expires_at from api_key_by_hash($1)`, raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgkeys: lookup: %w", err)
	}
	k.ID, k.Owner = id.String(), owner
	if expires != nil {
		k.ExpiresAt = *expires
	}
	if now := s.now(); k.Active && !k.Expired(now) {
		s.noteUse(id, now)
	}
	return &k, nil
}

// noteUse queues a last-use write unless one was queued for this key
// within the interval.
func (s *Store) noteUse(id uuid.UUID, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.noted[id]; ok && at.Sub(last) < s.interval {
		return
	}
	s.noted[id] = at
	s.pending[id] = at
}

// Pending is the number of keys whose last use awaits a flush.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Flush writes the queued last uses in one statement, stamped with the
// latest of them. On failure they stay queued for the next flush.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	batch := s.pending
	s.pending = map[uuid.UUID]time.Time{}
	now := s.now()
	for id, t := range s.noted {
		if now.Sub(t) >= s.interval {
			delete(s.noted, id)
		}
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(batch))
	var latest time.Time
	for id, t := range batch {
		ids = append(ids, id)
		if t.After(latest) {
			latest = t
		}
	}
	err := asAnon(ctx, s.pool, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	}, `select api_keys_touch($1, $2)`, ids, latest)
	if err != nil {
		s.mu.Lock()
		for id, t := range batch {
			if cur, ok := s.pending[id]; !ok || t.After(cur) {
				s.pending[id] = t
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("pgkeys: recording last use of %d keys: %w", len(ids), err)
	}
	return nil
}

// Run flushes every TouchInterval until ctx ends, then flushes once more
// (bounded by 5s) so a stopping replica loses no last use.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(ctx); err != nil {
				s.log.WarnContext(ctx, "api key last use not recorded", "error", err.Error())
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return s.Flush(fctx)
		}
	}
}

// asAnon runs one statement in a transaction as anon: the role switch and
// the statement travel in one batch. read consumes the statement's result.
func asAnon(ctx context.Context, pool *pgxpool.Pool, read func(pgx.BatchResults) error, sql string, args ...any) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`set local role anon`)
		b.Queue(sql, args...)
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
		if err := read(br); err != nil {
			_ = br.Close()
			return err
		}
		return br.Close()
	})
}
