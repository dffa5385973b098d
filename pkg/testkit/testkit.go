// Package testkit gives integration tests their own slice of the real local
// servers: a fresh PostgreSQL database, a Redis key prefix, a unique NATS
// name. A missing server fails the test with a message naming it and how to
// start it; nothing is skipped.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults are the local servers of the development machine and CI.
const (
	PostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	RedisURL    = "redis://127.0.0.1:6379/0"
	NATSURL     = "nats://127.0.0.1:4222"
)

// Start commands, quoted in failure messages.
const (
	startPostgres = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
	startRedis    = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`
	startNATS     = "nats-server -a 127.0.0.1 -p 4222 -js &"
)

// Unique returns prefix plus 12 random hex characters.
func Unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewDatabase creates an empty database for this test and returns its URL;
// the database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, PostgresURL)
	if err != nil {
		t.Fatalf("PostgreSQL is required at %s: %v\n  start it: %s", PostgresURL, err, startPostgres)
	}
	defer admin.Close(context.Background())
	name := Unique("gw_test_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, PostgresURL)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(PostgresURL)
	u.Path = "/" + name
	return u.String()
}

// RequirePostgres fails the test when PostgreSQL does not answer.
func RequirePostgres(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, PostgresURL)
	if err != nil {
		t.Fatalf("PostgreSQL is required at %s: %v\n  start it: %s", PostgresURL, err, startPostgres)
	}
	_ = c.Close(ctx)
}

// MissingServer formats the failure for a server a test needs.
func MissingServer(name, addr string, err error) string {
	start := map[string]string{"Redis": startRedis, "NATS": startNATS, "PostgreSQL": startPostgres}[name]
	return fmt.Sprintf("%s is required at %s: %v\n  start it: %s", name, addr, err, strings.TrimSpace(start))
}
