package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/wfagent/gateway/pkg/auth"
)

// failingStore stands for a database store whose server is down.
type failingStore struct{ err error }

func (f failingStore) LookupAPIKey(context.Context, string) (*auth.APIKey, error) { return nil, f.err }

func TestMultiStore(t *testing.T) {
	env := auth.NewMemoryKeyStore()
	env.Put(auth.HashAPIKey("env-key"), auth.APIKey{ID: "env-ci", Active: true})
	db := auth.NewMemoryKeyStore()
	db.Put(auth.HashAPIKey("db-key"), auth.APIKey{ID: "db-1", Active: true})
	db.Put(auth.HashAPIKey("env-key"), auth.APIKey{ID: "db-shadowed", Active: true})
	down := errors.New("connection refused")

	tests := []struct {
		name    string
		stores  MultiStore
		key     string
		wantID  string
		wantErr error
	}{
		{"env key", MultiStore{env, db}, "env-key", "env-ci", nil},
		{"env wins over db for the same hash", MultiStore{env, db}, "env-key", "env-ci", nil},
		{"db key after env miss", MultiStore{env, db}, "db-key", "db-1", nil},
		{"unknown everywhere", MultiStore{env, db}, "nope", "", auth.ErrKeyNotFound},
		{"env key while db is down", MultiStore{env, failingStore{down}}, "env-key", "env-ci", nil},
		{"db down for a non-env key", MultiStore{env, failingStore{down}}, "db-key", "", down},
		{"no stores", MultiStore{}, "env-key", "", auth.ErrKeyNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.stores.LookupAPIKey(context.Background(), auth.HashAPIKey(tt.key))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if k.ID != tt.wantID {
				t.Fatalf("id = %q, want %q", k.ID, tt.wantID)
			}
		})
	}
}
