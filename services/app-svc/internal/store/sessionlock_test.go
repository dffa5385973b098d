package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/testkit"
)

// replicas are two SessionLocks on one database, as two app-svc replicas.
func replicas(t *testing.T) (a, b *SessionLocks, admin *pgx.Conn) {
	t.Helper()
	dsn := testkit.NewDatabase(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	a, b = NewSessionLocks(cfg), NewSessionLocks(cfg)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	admin, err = pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	return a, b, admin
}

func TestSessionLocksAcrossReplicas(t *testing.T) {
	a, b, _ := replicas(t)
	ctx := context.Background()
	s1, s2 := uuid.New(), uuid.New()
	held := map[string]*Lease{}
	steps := []struct {
		name    string
		locks   *SessionLocks
		session uuid.UUID
		release string // the lease released before this step
		wantErr error
	}{
		{"first stream on s1", a, s1, "", nil},
		{"second stream on s1, same replica", a, s1, "", ErrBusy},
		{"second stream on s1, other replica", b, s1, "", ErrBusy},
		{"another session, other replica", b, s2, "", nil},
		{"s1 again once released, other replica", b, s1, "first stream on s1", nil},
		{"s1 now held by the other replica", a, s1, "", ErrBusy},
	}
	for _, st := range steps {
		if st.release != "" {
			held[st.release].Release()
			held[st.release].Release() // twice is harmless
		}
		l, err := st.locks.TryLock(ctx, st.session)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if err == nil {
			held[st.name] = l
		}
	}
}

func TestSessionLocksLostWithTheirConnection(t *testing.T) {
	a, b, admin := replicas(t)
	ctx := context.Background()
	s1 := uuid.New()
	lease, err := a.TryLock(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	pid := a.conn.PgConn().PID()
	a.mu.Unlock()
	if _, err := admin.Exec(ctx, `select pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL released the lock with the session: another replica may
	// stream now, so this one must learn that its lease is gone.
	a.Check(ctx)
	select {
	case <-lease.Lost():
	case <-time.After(time.Second):
		t.Fatal("the lease was not reported lost")
	}
	lease.Release()
	other, err := b.TryLock(ctx, s1)
	if err != nil {
		t.Fatalf("other replica after the loss: %v", err)
	}
	other.Release()
	// The replica that lost its connection dials a new one.
	again, err := a.TryLock(ctx, s1)
	if err != nil {
		t.Fatalf("after reconnecting: %v", err)
	}
	again.Release()
}
