package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// remoteCacheTimeout bounds each Redis call of the remote check; a slow
// cache is treated as a miss.
const remoteCacheTimeout = 50 * time.Millisecond

// remoteChecker asks Supabase whether a locally valid token's session still
// exists (GET /auth/v1/user) and caches the answer by token hash.
type remoteChecker struct {
	url          string
	anonKey      string
	requireEmail bool
	ttl          time.Duration
	client       *http.Client
	rdb          redis.UniversalClient
	log          *slog.Logger
	prefix       string
}

func newRemoteChecker(cfg Config, client *http.Client, rdb redis.UniversalClient, prefix string, log *slog.Logger) *remoteChecker {
	return &remoteChecker{
		url:          strings.TrimRight(cfg.SupabaseURL, "/") + "/auth/v1/user",
		anonKey:      cfg.AnonKey,
		requireEmail: cfg.RequireEmailConfirmed,
		ttl:          cfg.CacheTTL(),
		client:       client,
		rdb:          rdb,
		log:          log,
		prefix:       prefix,
	}
}

// verdict is what is cached: the facts the checks need, never the token.
type verdict struct {
	Revoked        bool `json:"revoked,omitempty"`
	EmailConfirmed bool `json:"email_confirmed,omitempty"`
	HasEmail       bool `json:"has_email,omitempty"`
}

// goTrueUser is the part of GoTrue's user object the checks read.
type goTrueUser struct {
	ID               string  `json:"id"`
	Email            string  `json:"email"`
	EmailConfirmedAt *string `json:"email_confirmed_at"`
	IsAnonymous      bool    `json:"is_anonymous"`
}

func (r *remoteChecker) check(ctx context.Context, raw string, u *User) error {
	key := r.prefix + tokenHash(raw)
	vd, ok := r.cached(ctx, key)
	if !ok {
		var err error
		vd, err = r.fetch(ctx, raw, u)
		if err != nil {
			return err
		}
		r.store(ctx, key, vd, u.ExpiresAt)
	}
	if vd.Revoked {
		return errors.Join(ErrInvalidToken, ErrSessionRevoked)
	}
	// Anonymous and phone-only users have no e-mail to confirm.
	if r.requireEmail && vd.HasEmail && !vd.EmailConfirmed && !u.IsAnonymous {
		return ErrEmailNotConfirmed
	}
	return nil
}

func (r *remoteChecker) fetch(ctx context.Context, raw string, u *User) (verdict, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return verdict{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+raw)
	if r.anonKey != "" {
		req.Header.Set("apikey", r.anonKey)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		r.log.WarnContext(ctx, "supabase user check failed", "error", err.Error())
		return verdict{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		// GoTrue: session_not_found, bad_jwt, user_not_found — the token
		// verified locally but its session or user no longer exists.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return verdict{Revoked: true}, nil
	default:
		r.log.WarnContext(ctx, "supabase user check failed", "status", resp.StatusCode)
		return verdict{}, fmt.Errorf("%w: supabase answered %d", ErrAuthUnavailable, resp.StatusCode)
	}
	var gu goTrueUser
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&gu); err != nil {
		return verdict{}, fmt.Errorf("%w: decoding the user: %w", ErrAuthUnavailable, err)
	}
	if gu.ID != u.ID.String() {
		return verdict{Revoked: true}, nil
	}
	return verdict{HasEmail: gu.Email != "", EmailConfirmed: gu.EmailConfirmedAt != nil && *gu.EmailConfirmedAt != ""}, nil
}

func (r *remoteChecker) cached(ctx context.Context, key string) (verdict, bool) {
	if r.rdb == nil || r.ttl <= 0 {
		return verdict{}, false
	}
	cctx, cancel := context.WithTimeout(ctx, remoteCacheTimeout)
	defer cancel()
	b, err := r.rdb.Get(cctx, key).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			r.log.WarnContext(ctx, "auth cache read failed", "error", err.Error())
		}
		return verdict{}, false
	}
	var vd verdict
	if json.Unmarshal(b, &vd) != nil {
		return verdict{}, false
	}
	return vd, true
}

// store keeps the verdict for min(CACHE_TTL, time to expiry): a cached "ok"
// never outlives the token, and a revocation is seen within CACHE_TTL.
func (r *remoteChecker) store(ctx context.Context, key string, vd verdict, exp time.Time) {
	if r.rdb == nil {
		return
	}
	ttl := min(r.ttl, time.Until(exp))
	if ttl < time.Second {
		return
	}
	b, _ := json.Marshal(vd)
	cctx, cancel := context.WithTimeout(ctx, remoteCacheTimeout)
	defer cancel()
	if err := r.rdb.Set(cctx, key, b, ttl).Err(); err != nil {
		r.log.WarnContext(ctx, "auth cache write failed", "error", err.Error())
	}
}

// tokenHash names a token in caches without storing it.
func tokenHash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
