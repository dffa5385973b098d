package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Scopes an API key can carry.
const (
	ScopeToolsRead    = "tools:read"
	ScopeToolsExecute = "tools:execute"
	ScopeHealthCheck  = "health:check"
)

// KnownScopes are the scopes the MCP layer checks.
var KnownScopes = []string{ScopeToolsRead, ScopeToolsExecute, ScopeHealthCheck}

// APIKeyPrefix starts every key the gateway issues, so secret scanners and
// people recognise one at a glance.
const APIKeyPrefix = "wfa_"

// apiKeyRandomBytes is 256 bits of randomness.
const apiKeyRandomBytes = 32

// base62 keeps keys free of characters that break double-click selection
// or need escaping in URLs and shells.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// apiKeyBodyLen is ceil(256 / log2(62)) characters.
const apiKeyBodyLen = 43

// NewAPIKey is a freshly generated key. Plaintext is shown to the user once
// and then forgotten; Hash and Prefix are what a store keeps.
type NewAPIKey struct {
	Plaintext string
	Hash      string // HashAPIKey(Plaintext)
	Prefix    string // first characters, for listing keys without revealing them
}

// GenerateAPIKey returns "wfa_" + 43 base62 characters of 256 random bits.
func GenerateAPIKey() (NewAPIKey, error) {
	b := make([]byte, apiKeyRandomBytes)
	if _, err := rand.Read(b); err != nil {
		return NewAPIKey{}, err
	}
	n := new(big.Int).SetBytes(b)
	body := make([]byte, apiKeyBodyLen)
	base, mod := big.NewInt(62), new(big.Int)
	for i := apiKeyBodyLen - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		body[i] = base62[mod.Int64()]
	}
	plain := APIKeyPrefix + string(body)
	return NewAPIKey{Plaintext: plain, Hash: HashAPIKey(plain), Prefix: plain[:len(APIKeyPrefix)+8]}, nil
}

// HashAPIKey is the hex SHA-256 of a key: the only form ever stored. A
// plain (unsalted, fast) hash is enough because keys carry 256 random bits;
// it also lets the store look a key up by hash.
func HashAPIKey(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// APIKey is a stored key's record, without the key itself.
type APIKey struct {
	// ID is stable and safe to log and to key rate limits by.
	ID         string
	ClientName string
	Scopes     []string
	// Tier selects the rate-limit multiplier (ratelimit.Config tiers).
	Tier      string
	Active    bool
	ExpiresAt time.Time // zero: never
	// Owner is the user the key acts for (workflow tools); invalid when
	// the key has none and may use the catalogue tools only.
	Owner  uuid.NullUUID
	Prefix string
}

// HasScope reports whether the key carries scope.
func (k *APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Expired reports whether the key is past its expiry at now.
func (k *APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// displayPrefix is what may be shown of a key: the recognisable start of a
// generated key, never anything of a hand-made one (it may be short).
func displayPrefix(plaintext string) string {
	if strings.HasPrefix(plaintext, APIKeyPrefix) && len(plaintext) == len(APIKeyPrefix)+apiKeyBodyLen {
		return plaintext[:len(APIKeyPrefix)+8]
	}
	return ""
}
