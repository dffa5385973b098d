package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wfagent/gateway/pkg/testkit"
)

// newStore migrates a fresh database and returns a Store connected as
// loginRole ("" keeps the default superuser).
func newStore(t *testing.T, loginRole string) *Store {
	t.Helper()
	dsn := testkit.NewDatabase(t)
	ctx := context.Background()
	if loginRole != "" {
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		db := pgx.Identifier{mustDBName(t, dsn)}.Sanitize()
		role := pgx.Identifier{loginRole}.Sanitize()
		for _, q := range []string{
			"CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS",
			"ALTER DATABASE " + db + " OWNER TO " + role,
			"ALTER SCHEMA public OWNER TO " + role,
			"GRANT anon, authenticated, service_role TO " + role,
		} {
			if _, err := admin.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		admin.Close(ctx)
		t.Cleanup(func() {
			c, err := pgx.Connect(context.Background(), testkit.PostgresURL)
			if err == nil {
				_, _ = c.Exec(context.Background(), "DROP OWNED BY "+role)
				c.Close(context.Background())
			}
		})
		u, _ := url.Parse(dsn)
		u.User = url.User(loginRole)
		dsn = u.String()
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate as %q: %v", loginRole, err)
	}
	return New(pool, 5*time.Second)
}

func mustDBName(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path[1:]
}

func claims(sub uuid.UUID) []byte {
	return fmt.Appendf(nil, `{"sub":%q,"role":"authenticated","aud":"authenticated"}`, sub)
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := newStore(t, "")
	applied, err := Migrate(context.Background(), s.Pool())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, err %v", applied, err)
	}
}

// TestRowLevelSecurity checks every user table at the SQL level: under A's
// claims a bare select sees only A's rows, writing B's user_id is refused,
// and service_role sees everything.
func TestRowLevelSecurity(t *testing.T) {
	for _, loginRole := range []string{"", testkit.Unique("gw_owner_")} {
		name := "superuser"
		if loginRole != "" {
			name = "non-superuser owner"
		}
		t.Run(name, func(t *testing.T) {
			s := newStore(t, loginRole)
			ctx := context.Background()
			a, b := uuid.New(), uuid.New()
			ids := map[uuid.UUID]map[string]uuid.UUID{}
			for _, u := range []uuid.UUID{a, b} {
				ids[u] = seed(t, s, u)
			}

			tables := []struct {
				table    string
				insertAs func(tx pgx.Tx, owner, victim uuid.UUID) error
			}{
				{"sessions", func(tx pgx.Tx, owner, victim uuid.UUID) error {
					_, err := tx.Exec(ctx, `insert into sessions (user_id) values ($1)`, victim)
					return err
				}},
				{"workflows", func(tx pgx.Tx, owner, victim uuid.UUID) error {
					_, err := tx.Exec(ctx, `insert into workflows (user_id, name) values ($1, 'x')`, victim)
					return err
				}},
				{"chat_messages", func(tx pgx.Tx, owner, victim uuid.UUID) error {
					_, err := tx.Exec(ctx, `insert into chat_messages (session_id, user_id, role, content, sequence) values ($1, $2, 'user', 'x', 99)`, ids[owner]["session"], victim)
					return err
				}},
				{"workflow_states", func(tx pgx.Tx, owner, victim uuid.UUID) error {
					_, err := tx.Exec(ctx, `insert into workflow_states (session_id, user_id, stage) values ($1, $2, 'x') on conflict (session_id) do update set user_id = excluded.user_id`, ids[owner]["session"], victim)
					return err
				}},
				{"workflow_executions", func(tx pgx.Tx, owner, victim uuid.UUID) error {
					_, err := tx.Exec(ctx, `insert into workflow_executions (workflow_id, user_id) values ($1, $2)`, ids[owner]["workflow"], victim)
					return err
				}},
				{"api_keys", func(tx pgx.Tx, owner, victim uuid.UUID) error {
					_, err := tx.Exec(ctx, `insert into api_keys (user_id, client_name, key_hash, prefix) values ($1, 'x', $2, 'p')`, victim, make32())
					return err
				}},
			}
			for _, tt := range tables {
				t.Run(tt.table, func(t *testing.T) {
					// A bare select under A's claims sees only A's rows.
					err := s.WithUser(ctx, claims(a), func(tx pgx.Tx) error {
						var total, mine int
						if err := tx.QueryRow(ctx, `select count(*), count(*) filter (where user_id = $1) from `+tt.table, a).Scan(&total, &mine); err != nil {
							return err
						}
						if total == 0 || total != mine {
							return fmt.Errorf("A sees %d rows of which %d are A's", total, mine)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					// Writing a row that belongs to B is refused.
					err = s.WithUser(ctx, claims(a), func(tx pgx.Tx) error { return tt.insertAs(tx, a, b) })
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("insert with B's user_id: err = %v, want refusal", err)
					}
					// Moving A's row to B is refused too.
					err = s.WithUser(ctx, claims(a), func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, `update `+tt.table+` set user_id = $1`, b)
						return err
					})
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("update to B's user_id: err = %v, want refusal", err)
					}
					// B cannot change or delete A's rows: zero rows affected.
					err = s.WithUser(ctx, claims(b), func(tx pgx.Tx) error {
						tag, err := tx.Exec(ctx, `delete from `+tt.table+` where user_id = $1`, a)
						if err != nil {
							return errRefused // no DELETE grant (executions): refused outright
						}
						if tag.RowsAffected() != 0 {
							return fmt.Errorf("B deleted %d of A's rows", tag.RowsAffected())
						}
						return nil
					})
					if err != nil && !errors.Is(err, errRefused) {
						t.Fatal(err)
					}
					// service_role sees both users' rows.
					err = s.AsService(ctx, func(tx pgx.Tx) error {
						var users int
						if err := tx.QueryRow(ctx, `select count(distinct user_id) from `+tt.table).Scan(&users); err != nil {
							return err
						}
						if users != 2 {
							return fmt.Errorf("service_role sees %d users' rows, want 2", users)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				})
			}

			t.Run("no claims sees nothing", func(t *testing.T) {
				err := s.WithUser(ctx, []byte(`{}`), func(tx pgx.Tx) error {
					var n int
					if err := tx.QueryRow(ctx, `select count(*) from workflows`).Scan(&n); err != nil {
						return err
					}
					if n != 0 {
						return fmt.Errorf("no-claims transaction sees %d workflows", n)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
			t.Run("claims do not leak past the transaction", func(t *testing.T) {
				conn, err := s.Pool().Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Release()
				var role, cl string
				if err := conn.QueryRow(ctx, `select current_user, coalesce(current_setting('request.jwt.claims', true), '')`).Scan(&role, &cl); err != nil {
					t.Fatal(err)
				}
				if role == "authenticated" || role == "service_role" || cl != "" {
					t.Fatalf("pooled connection kept role %q claims %q", role, cl)
				}
			})
			t.Run("api key lookup by hash as anon", func(t *testing.T) {
				var hash []byte
				if err := s.AsService(ctx, func(tx pgx.Tx) error {
					return tx.QueryRow(ctx, `select key_hash from api_keys where user_id = $1`, a).Scan(&hash)
				}); err != nil {
					t.Fatal(err)
				}
				tx, err := s.Pool().Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if _, err := tx.Exec(ctx, `set local role anon`); err != nil {
					t.Fatal(err)
				}
				var owner uuid.UUID
				if err := tx.QueryRow(ctx, `select user_id from api_key_by_hash($1)`, hash).Scan(&owner); err != nil || owner != a {
					t.Fatalf("lookup as anon: owner %v err %v", owner, err)
				}
				if _, err := tx.Exec(ctx, `select * from api_keys`); err == nil {
					t.Fatal("anon may read api_keys directly")
				}
			})
			t.Run("users never read key hashes", func(t *testing.T) {
				err := s.WithUser(ctx, claims(a), func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `select key_hash from api_keys`)
					return err
				})
				if err == nil {
					t.Fatal("authenticated read key_hash")
				}
			})
		})
	}
}

// seed creates one row in every table for user u, as u.
func seed(t *testing.T, s *Store, u uuid.UUID) map[string]uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids := map[string]uuid.UUID{}
	err := s.WithUser(ctx, claims(u), func(tx pgx.Tx) error {
		var wf, sess uuid.UUID
		if err := tx.QueryRow(ctx, `insert into workflows (name) values ('w') returning id`).Scan(&wf); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `insert into sessions (action, source_workflow_id) values ('edit', $1) returning id`, wf).Scan(&sess); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into chat_messages (session_id, role, content, sequence) values ($1, 'user', 'hi', 1)`, sess); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into workflow_states (session_id, stage) values ($1, 'clarification')`, sess); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into workflow_executions (workflow_id) values ($1)`, wf); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into api_keys (user_id, client_name, key_hash, prefix) values ($1, 'c', $2, 'p')`, u, make32()); err != nil {
			return err
		}
		ids["workflow"], ids["session"] = wf, sess
		return nil
	})
	if err != nil {
		t.Fatalf("seeding as %s: %v", u, err)
	}
	return ids
}

var errRefused = errors.New("refused")

func make32() []byte { b := uuid.New(); c := uuid.New(); return append(b[:], c[:]...) }
