package testkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func TestNewDatabaseIsFreshAndIsolated(t *testing.T) {
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatal("two tests got the same database")
	}
	ctx := context.Background()
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "create table t(x int)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "select count(*) from pg_tables where tablename = 't'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("database b sees a's table: n=%d err=%v", n, err)
	}
}

func TestProcessHelpers(t *testing.T) {
	p := FreePort(t)
	if p <= 0 {
		t.Fatalf("port %d", p)
	}
	var b SyncBuffer
	done := make(chan struct{})
	for range 4 {
		go func() { _, _ = b.Write([]byte("x")); done <- struct{}{} }()
	}
	for range 4 {
		<-done
	}
	if b.String() != "xxxx" {
		t.Fatalf("buffer = %q", b.String())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	WaitHTTP(t, srv.URL, time.Second, &b)
}

func TestRedisPrefixIsCleanedUp(t *testing.T) {
	var key string
	var rdb *redis.Client
	t.Run("inner", func(t *testing.T) {
		var prefix string
		rdb, prefix = Redis(t)
		key = prefix + "k"
		if err := rdb.Set(context.Background(), key, "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	check := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer check.Close()
	if n, err := check.Exists(context.Background(), key).Result(); err != nil || n != 0 {
		t.Fatalf("key %s left behind: n=%d err=%v", key, n, err)
	}
}
