package store

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrBusy means another chat stream, on this replica or another, holds the
// session.
var ErrBusy = errors.New("session busy")

// lockCallTimeout bounds one lock, unlock or liveness check.
const lockCallTimeout = 5 * time.Second

// SessionLocks lets one chat stream at a time run on a session across every
// app-svc replica. Each replica holds the session-level advisory locks of
// all its streams on one dedicated connection, outside the pool: PostgreSQL
// releases them by itself if the replica dies, with no expiry to tune, and a
// thousand open streams cost one connection, not a thousand. When that
// connection breaks, the locks are gone, so every lease held on it is
// reported lost and its stream ends.
type SessionLocks struct {
	connect func(context.Context) (*pgx.Conn, error)

	mu   sync.Mutex
	conn *pgx.Conn
	held map[uuid.UUID]*Lease
}

// NewSessionLocks dials with cfg (the pool's connection settings) when the
// first lock is taken.
func NewSessionLocks(cfg *pgx.ConnConfig) *SessionLocks {
	return &SessionLocks{
		connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg.Copy()) },
		held:    map[uuid.UUID]*Lease{},
	}
}

// Lease is a held session lock.
type Lease struct {
	locks *SessionLocks
	id    uuid.UUID
	lost  chan struct{}
	once  sync.Once
}

// Lost is closed when the lock was lost with its connection.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// TryLock takes the session's lock or returns ErrBusy at once.
func (s *SessionLocks) TryLock(ctx context.Context, id uuid.UUID) (*Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Advisory locks are re-entrant on one connection: this replica's own
	// streams are told apart here.
	if _, ok := s.held[id]; ok {
		return nil, ErrBusy
	}
	ctx, cancel := context.WithTimeout(ctx, lockCallTimeout)
	defer cancel()
	ok, err := s.tryLocked(ctx, id)
	if err != nil && len(s.held) == 0 {
		// A connection that died while idle loses nothing: dial again once.
		ok, err = s.tryLocked(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBusy
	}
	l := &Lease{locks: s, id: id, lost: make(chan struct{})}
	s.held[id] = l
	return l, nil
}

func (s *SessionLocks) tryLocked(ctx context.Context, id uuid.UUID) (bool, error) {
	if s.conn == nil {
		c, err := s.connect(ctx)
		if err != nil {
			return false, translate(err)
		}
		s.conn = c
	}
	var ok bool
	if err := s.conn.QueryRow(ctx, `select pg_try_advisory_lock($1)`, lockKey(id)).Scan(&ok); err != nil {
		s.dropLocked()
		return false, translate(err)
	}
	return ok, nil
}

// Release gives the lock back; it is safe to call more than once.
func (l *Lease) Release() {
	l.once.Do(func() {
		s := l.locks
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.held[l.id] != l {
			return // lost with its connection
		}
		delete(s.held, l.id)
		ctx, cancel := context.WithTimeout(context.Background(), lockCallTimeout)
		defer cancel()
		if _, err := s.conn.Exec(ctx, `select pg_advisory_unlock($1)`, lockKey(l.id)); err != nil {
			s.dropLocked()
		}
	})
}

// Check verifies the connection while locks are held and reports them lost
// when it is gone (PostgreSQL then has released them already). Watch calls
// it periodically.
func (s *SessionLocks) Check(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || len(s.held) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, lockCallTimeout)
	defer cancel()
	if err := s.conn.Ping(ctx); err != nil {
		s.dropLocked()
	}
}

// Watch runs Check every interval until ctx ends.
func (s *SessionLocks) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Check(ctx)
		}
	}
}

// Close closes the connection; held leases are reported lost.
func (s *SessionLocks) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked()
}

// dropLocked closes the connection and reports every lease on it lost.
func (s *SessionLocks) dropLocked() {
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.conn.Close(ctx)
		cancel()
		s.conn = nil
	}
	for id, l := range s.held {
		close(l.lost)
		delete(s.held, id)
	}
}

// lockKey folds a session id into a 64-bit advisory lock key. A shared key
// would only make two sessions refuse each other (409) while both stream;
// with 64 bits that, and a clash with another feature's fixed key such as
// the migrations', is negligible.
func lockKey(id uuid.UUID) int64 {
	return int64(binary.BigEndian.Uint64(id[:8]) ^ binary.BigEndian.Uint64(id[8:]))
}
