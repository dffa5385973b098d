package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// maxAPIKeyLen refuses absurd header values before hashing.
const maxAPIKeyLen = 256

// APIKeyOptions configures APIKeyAuth.
type APIKeyOptions struct {
	// Required false lets requests without any key through (development).
	// A key that is sent is always checked.
	Required bool
	// AllowQueryKey reads ?api_key= (discouraged: URLs end up in logs).
	AllowQueryKey bool
	// CacheTTL is how long a found key is trusted without asking the store
	// (≤ 30s so revocations show quickly); 0 disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the cache (default 10000 keys).
	CacheSize int
	Logger    *slog.Logger
}

// APIKeyOptionsFrom maps the environment configuration.
func APIKeyOptionsFrom(cfg APIKeyConfig, production bool, log *slog.Logger) APIKeyOptions {
	return APIKeyOptions{Required: cfg.Required, AllowQueryKey: cfg.QueryKeyAllowed(production), CacheTTL: cfg.CacheTTL, Logger: log}
}

// APIKeyAuth authenticates MCP clients by API key.
type APIKeyAuth struct {
	store      KeyStore
	cache      *keyCache
	required   bool
	allowQuery bool
	log        *slog.Logger
	now        func() time.Time
}

// NewAPIKeyAuth checks keys against store, through a bounded cache.
func NewAPIKeyAuth(store KeyStore, o APIKeyOptions) *APIKeyAuth {
	if o.CacheSize == 0 {
		o.CacheSize = 10000
	}
	if o.CacheTTL > 30*time.Second {
		o.CacheTTL = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &APIKeyAuth{
		store: store, cache: newKeyCache(o.CacheTTL, o.CacheSize),
		required: o.Required, allowQuery: o.AllowQueryKey, log: o.Logger, now: time.Now,
	}
}

// Authenticate returns the active, unexpired key whose plaintext is given.
// Errors wrap ErrMissingAPIKey, ErrInvalidAPIKey, ErrClientDisabled,
// ErrKeyExpired or ErrKeyStoreUnavailable.
func (a *APIKeyAuth) Authenticate(ctx context.Context, plaintext string) (*APIKey, error) {
	if plaintext == "" {
		return nil, ErrMissingAPIKey
	}
	if len(plaintext) > maxAPIKeyLen {
		return nil, ErrInvalidAPIKey
	}
	hash := HashAPIKey(plaintext)
	k, ok := a.cache.get(hash)
	if !ok {
		found, err := a.store.LookupAPIKey(ctx, hash)
		switch {
		case errors.Is(err, ErrKeyNotFound):
			return nil, ErrInvalidAPIKey
		case err != nil:
			return nil, fmt.Errorf("%w: %w", ErrKeyStoreUnavailable, err)
		}
		k = *found
		a.cache.put(hash, k)
	}
	// Checked on every use, not cached as a verdict: an expiry takes effect
	// on the second, whatever the cache holds.
	switch {
	case !k.Active:
		return &k, ErrClientDisabled
	case k.Expired(a.now()):
		return &k, ErrKeyExpired
	}
	return &k, nil
}

// Key sources, for logs.
const (
	sourceHeader = "x-api-key"
	sourceBearer = "authorization"
	sourceQuery  = "query"
)

// keyFrom finds the key in X-API-Key, Authorization: Bearer, then
// ?api_key= (when allowed), in that order.
func (a *APIKeyAuth) keyFrom(r *http.Request) (key, source string, err error) {
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); k != "" {
		return k, sourceHeader, nil
	}
	if k := BearerToken(r); k != "" {
		return k, sourceBearer, nil
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		if !a.allowQuery {
			return "", sourceQuery, fmt.Errorf("%w: ?api_key= is disabled here, send X-API-Key", ErrMissingAPIKey)
		}
		return k, sourceQuery, nil
	}
	return "", "", ErrMissingAPIKey
}

// Middleware authenticates the request's key and stores it in the request
// context (APIKeyFrom). Without a key it refuses when keys are required and
// passes otherwise. Refusals abort with AppError's *apperr.Error; the MCP
// layer may wrap this handler to render its own shape (errors.As finds the
// *apperr.Error, errors.Is the sentinel).
func (a *APIKeyAuth) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		plain, source, err := a.keyFrom(c.Request)
		if errors.Is(err, ErrMissingAPIKey) && source == "" && !a.required {
			c.Next()
			return
		}
		var k *APIKey
		if err == nil {
			k, err = a.Authenticate(ctx, plain)
		}
		if err != nil {
			attrs := []any{"reason", err.Error(), "source", source}
			if k != nil {
				attrs = append(attrs, "key_id", k.ID, "client", k.ClientName)
			}
			a.log.InfoContext(ctx, "api key refused", attrs...)
			_ = c.Error(AppError(err))
			c.Abort()
			return
		}
		if source == sourceQuery {
			a.log.WarnContext(ctx, "api key sent in the query string", "key_id", k.ID, "client", k.ClientName)
		}
		c.Request = c.Request.WithContext(WithAPIKey(ctx, k))
		c.Next()
	}
}

// RequireScope refuses (403 insufficient_scope) a request whose key lacks
// any of scopes. Requests without a key pass only when keys are not
// required (development).
func (a *APIKeyAuth) RequireScope(scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, ok := APIKeyFrom(c.Request.Context())
		var err error
		switch {
		case !ok && a.required:
			err = ErrMissingAPIKey
		case ok:
			err = CheckScopes(k, scopes...)
		}
		if err != nil {
			_ = c.Error(AppError(err))
			c.Abort()
			return
		}
		c.Next()
	}
}

// CheckScopes returns an error wrapping ErrInsufficientScope unless k has
// every scope (for MCP tools/call, where the tool and not the route decides).
func CheckScopes(k *APIKey, scopes ...string) error {
	for _, s := range scopes {
		if !k.HasScope(s) {
			return fmt.Errorf("%w: %s", ErrInsufficientScope, s)
		}
	}
	return nil
}

type apiKeyKey struct{}

// WithAPIKey stores k in ctx.
func WithAPIKey(ctx context.Context, k *APIKey) context.Context {
	return context.WithValue(ctx, apiKeyKey{}, k)
}

// APIKeyFrom returns the request's authenticated key.
func APIKeyFrom(ctx context.Context) (*APIKey, bool) {
	k, ok := ctx.Value(apiKeyKey{}).(*APIKey)
	return k, ok && k != nil
}
