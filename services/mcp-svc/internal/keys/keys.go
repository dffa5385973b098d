// Package keys composes the API-key sources mcp-svc checks keys against:
// the MCP_API_KEYS environment store first, then the database store of keys
// users create in the App API (pkg/auth/pgkeys).
package keys

import (
	"context"
	"errors"
	"time"

	"github.com/wfagent/gateway/pkg/auth"
)

// MultiStore asks each store in order and returns the first key found.
//
// The env store comes first: it answers from memory, and its keys keep
// working while the database is down. A store that fails (anything but
// auth.ErrKeyNotFound) ends the lookup with its error, so an outage shows
// as 503 auth_failed instead of a misleading 401 invalid_api_key. Each
// store keeps its own last_used_at bookkeeping; auth.APIKeyAuth's cache
// already limits lookups to one per key per cache TTL.
type MultiStore []auth.KeyStore

// LookupAPIKey implements auth.KeyStore.
func (m MultiStore) LookupAPIKey(ctx context.Context, hash string) (*auth.APIKey, error) {
	for _, s := range m {
		k, err := s.LookupAPIKey(ctx, hash)
		switch {
		case err == nil:
			return k, nil
		case !errors.Is(err, auth.ErrKeyNotFound):
			return nil, err
		}
	}
	return nil, auth.ErrKeyNotFound
}

// Bounded gives each lookup of s at most d, so a database that hangs
// answers 503 auth_failed in time instead of holding every request.
func Bounded(s auth.KeyStore, d time.Duration) auth.KeyStore { return bounded{s, d} }

type bounded struct {
	auth.KeyStore
	d time.Duration
}

func (b bounded) LookupAPIKey(ctx context.Context, hash string) (*auth.APIKey, error) {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.KeyStore.LookupAPIKey(ctx, hash)
}
