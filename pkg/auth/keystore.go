package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// KeyStore finds API keys by hash. The env source (NewEnvKeyStore) and the
// PostgreSQL source of app-svc implement it; APIKeyAuth caches its answers.
type KeyStore interface {
	// LookupAPIKey returns the key whose HashAPIKey is hash, inactive and
	// expired ones included (the caller tells the client which), or an
	// error wrapping ErrKeyNotFound. Any other error means the store could
	// not answer. A database store may record last use here: the cache
	// calls it at most once per key per cache TTL.
	LookupAPIKey(ctx context.Context, hash string) (*APIKey, error)
}

// MemoryKeyStore is a KeyStore held in memory, keyed by hash only.
type MemoryKeyStore struct {
	mu     sync.RWMutex
	byHash map[string]APIKey
}

// NewMemoryKeyStore returns an empty store.
func NewMemoryKeyStore() *MemoryKeyStore { return &MemoryKeyStore{byHash: map[string]APIKey{}} }

// Put adds or replaces the key stored under hash (see HashAPIKey).
func (s *MemoryKeyStore) Put(hash string, k APIKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.Scopes = slices.Clone(k.Scopes)
	s.byHash[hash] = k
}

// Len is the number of keys.
func (s *MemoryKeyStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byHash)
}

// LookupAPIKey implements KeyStore.
func (s *MemoryKeyStore) LookupAPIKey(_ context.Context, hash string) (*APIKey, error) {
	s.mu.RLock()
	k, ok := s.byHash[hash]
	s.mu.RUnlock()
	if !ok {
		return nil, ErrKeyNotFound
	}
	k.Scopes = slices.Clone(k.Scopes)
	return &k, nil
}

// envKey is one entry of MCP_API_KEYS. In the object form the key is the
// object's member name; in the list form it is "key", or "key_hash" (hex
// SHA-256) for deployments that keep even the env free of plaintext.
type envKey struct {
	Key        string     `json:"key"`
	KeyHash    string     `json:"key_hash"`
	ID         string     `json:"id"`
	ClientName string     `json:"client_name"`
	Scopes     *[]string  `json:"scopes"`
	Tier       string     `json:"rate_limit_tier"`
	Active     *bool      `json:"active"`
	ExpiresAt  *envTime   `json:"expires_at"`
	OwnerID    *uuid.UUID `json:"owner_id"`
}

// envTime accepts RFC 3339 or a bare date (midnight UTC), as hand-written
// env JSON tends to use both.
type envTime struct{ time.Time }

func (t *envTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("expires_at %q: want RFC 3339 or YYYY-MM-DD", s)
}

// Defaults for env entries that leave fields out: active, read-only, the
// standard tier.
var (
	defaultEnvScopes = []string{ScopeToolsRead, ScopeHealthCheck}
	defaultTier      = "standard"
)

var idUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// minProductionKeyLen refuses hand-made keys short enough to guess.
const minProductionKeyLen = 32

// NewEnvKeyStore loads MCP_API_KEYS (the original design's JSON) into a
// memory store that keeps only hashes. Both shapes are accepted:
//
//	{"<key>": {"client_name": "ci", "scopes": ["tools:read"], "rate_limit_tier": "standard",
//	           "active": true, "expires_at": "2026-12-31T00:00:00Z"}}
//	[{"key": "<key>", "client_name": "ci", …}, {"key_hash": "<sha256 hex>", "owner_id": "<uuid>", …}]
//
// Missing fields default to active, scopes tools:read + health:check, tier
// standard, no expiry. In production keys under 32 characters are refused.
func NewEnvKeyStore(raw string, production bool) (*MemoryKeyStore, error) {
	entries, err := parseEnvKeys(raw, production)
	if err != nil {
		return nil, err
	}
	s := NewMemoryKeyStore()
	for hash, k := range entries {
		s.Put(hash, k)
	}
	return s, nil
}

func parseEnvKeys(raw string, production bool) (map[string]APIKey, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return map[string]APIKey{}, nil
	}
	var list []envKey
	// Unknown fields are ignored: the original design's entries may carry
	// descriptive extras (description, created_at).
	dec := json.NewDecoder(strings.NewReader(raw))
	switch raw[0] {
	case '{':
		var obj map[string]envKey
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("MCP_API_KEYS: %w", err)
		}
		names := make([]string, 0, len(obj))
		for k := range obj {
			names = append(names, k)
		}
		sort.Strings(names) // stable ids whatever the map order
		for _, k := range names {
			e := obj[k]
			e.Key = k
			list = append(list, e)
		}
	case '[':
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("MCP_API_KEYS: %w", err)
		}
	default:
		return nil, fmt.Errorf("MCP_API_KEYS: want a JSON object or list")
	}
	out := make(map[string]APIKey, len(list))
	ids := map[string]int{}
	for i, e := range list {
		// Errors name the entry by position and client, never by key.
		where := fmt.Sprintf("MCP_API_KEYS entry %d (%s)", i+1, e.ClientName)
		var hash, prefix string
		switch {
		case e.Key != "" && e.KeyHash != "":
			return nil, fmt.Errorf("%s: set key or key_hash, not both", where)
		case e.Key == "" && e.KeyHash == "":
			return nil, fmt.Errorf("%s: set key or key_hash", where)
		case e.Key != "":
			if production && len(e.Key) < minProductionKeyLen {
				return nil, fmt.Errorf("%s: key shorter than %d characters is refused when ENVIRONMENT=production", where, minProductionKeyLen)
			}
			hash, prefix = HashAPIKey(e.Key), displayPrefix(e.Key)
		default:
			if b, err := hex.DecodeString(e.KeyHash); err != nil || len(b) != 32 {
				return nil, fmt.Errorf("%s: key_hash must be 64 hex characters (SHA-256)", where)
			}
			hash = strings.ToLower(e.KeyHash)
		}
		if _, dup := out[hash]; dup {
			return nil, fmt.Errorf("%s: the same key appears twice", where)
		}
		k := APIKey{ClientName: e.ClientName, Tier: e.Tier, Active: true, Prefix: prefix, Scopes: defaultEnvScopes}
		if e.Active != nil {
			k.Active = *e.Active
		}
		if e.Scopes != nil {
			k.Scopes = *e.Scopes
		}
		for _, sc := range k.Scopes {
			if !slices.Contains(KnownScopes, sc) {
				return nil, fmt.Errorf("%s: unknown scope %q (want %s)", where, sc, strings.Join(KnownScopes, ", "))
			}
		}
		if k.Tier == "" {
			k.Tier = defaultTier
		}
		if e.ExpiresAt != nil {
			k.ExpiresAt = e.ExpiresAt.Time
		}
		if e.OwnerID != nil {
			k.Owner = uuid.NullUUID{UUID: *e.OwnerID, Valid: true}
		}
		k.ID = e.ID
		if k.ID == "" {
			// Derived from the client name, never from the key or its hash
			// (a hash prefix in logs would help guess a weak hand-made key).
			k.ID = "env-" + strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(e.ClientName), "-"), "-")
		}
		if n := ids[k.ID]; n > 0 {
			ids[k.ID] = n + 1
			k.ID = fmt.Sprintf("%s-%d", k.ID, n+1)
		} else {
			ids[k.ID] = 1
		}
		out[hash] = k
	}
	return out, nil
}
