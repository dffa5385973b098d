package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Verifier checks App-layer bearer tokens: Supabase access tokens and, when
// JWT_SECRET_KEY is set, the gateway's internal tokens. It is safe for
// concurrent use.
type Verifier struct {
	cfg      Config
	supabase *jwt.Parser
	hmacKey  []byte
	jwks     keyfunc.Keyfunc // nil without a JWKS URL
	internal *InternalTokens // nil without JWT_SECRET_KEY
	remote   *remoteChecker  // nil unless the remote check is on
	log      *slog.Logger
}

// Option adjusts NewVerifier.
type Option func(*options)

type options struct {
	httpClient *http.Client
	redis      redis.UniversalClient
	keyPrefix  string
	log        *slog.Logger
}

// WithHTTPClient sets the client for the JWKS and the remote check.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithRedis caches remote-check answers in Redis (shared by replicas).
// Without it every request with the remote check on asks Supabase.
func WithRedis(rdb redis.UniversalClient) Option { return func(o *options) { o.redis = rdb } }

// WithCachePrefix namespaces the remote-check cache keys (default
// "auth:user:"), e.g. per environment sharing one Redis.
func WithCachePrefix(p string) Option { return func(o *options) { o.keyPrefix = p } }

// WithLogger sets the logger for key refresh failures and refusals.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// NewVerifier builds a verifier from cfg. ctx bounds the JWKS background
// refresh: cancel it on shutdown. The first JWKS fetch happens here; when it
// fails the verifier still starts and fetches again on the first token.
func NewVerifier(ctx context.Context, cfg Config, opts ...Option) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{httpClient: &http.Client{Timeout: 5 * time.Second}, log: slog.Default(), keyPrefix: "auth:user:"}
	for _, opt := range opts {
		opt(&o)
	}
	algs := cfg.EffectiveAlgorithms()
	if len(algs) == 0 {
		return nil, errors.New("auth: no key source: set SUPABASE_JWT_SECRET and/or SUPABASE_URL (or AUTH_JWKS_URL)")
	}
	v := &Verifier{cfg: cfg, log: o.log}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
	}
	if iss := cfg.IssuerURL(); iss != "" {
		popts = append(popts, jwt.WithIssuer(iss))
	}
	v.supabase = jwt.NewParser(popts...)
	if cfg.JWTSecret != "" {
		v.hmacKey = []byte(cfg.JWTSecret)
	}
	if u := cfg.JWKSEndpoint(); u != "" && needsJWKS(algs) {
		kf, err := newJWKS(ctx, u, cfg, o.httpClient, o.log)
		if err != nil {
			return nil, err
		}
		v.jwks = kf
	}
	if cfg.InternalSecret != "" {
		it, err := NewInternalTokens(cfg)
		if err != nil {
			return nil, err
		}
		v.internal = it
	}
	if cfg.remoteCheck() {
		v.remote = newRemoteChecker(cfg, o.httpClient, o.redis, o.keyPrefix, o.log)
	}
	return v, nil
}

func needsJWKS(algs []string) bool {
	for _, a := range algs {
		if a != "HS256" {
			return true
		}
	}
	return false
}

// Verify checks raw (the token without "Bearer ") and returns its user. The
// error wraps ErrMissingToken, ErrInvalidToken (joined with the precise
// cause), ErrTokenExpired, ErrEmailNotConfirmed or ErrAuthUnavailable.
func (v *Verifier) Verify(ctx context.Context, raw string) (*User, error) {
	if raw == "" {
		return nil, ErrMissingToken
	}
	// Refuse before any decoding: the size bounds the work an attacker can
	// make us do, and real Supabase tokens are well under 8 KiB.
	if len(raw) > v.cfg.MaxTokenBytes {
		return nil, errors.Join(ErrInvalidToken, ErrTokenTooLarge)
	}
	kid, err := peekKID(raw)
	if err != nil {
		return nil, errors.Join(ErrInvalidToken, err)
	}
	if kid == internalKID {
		if v.internal == nil {
			return nil, errors.Join(ErrInvalidToken, ErrNoKeyForAlgorithm)
		}
		return v.internal.verify(raw)
	}
	var c claims
	tok, err := v.supabase.ParseWithClaims(raw, &c, v.keyFor(ctx))
	if err != nil {
		return nil, classify(err)
	}
	u, err := userOf(tok, &c)
	if err != nil {
		return nil, err
	}
	if v.remote != nil {
		if err := v.remote.check(ctx, raw, u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// keyFor picks the key by the token's algorithm family, never by anything
// else in the header: HMAC tokens only ever meet the shared secret, so a
// token "signed" with a public key as HMAC secret cannot verify.
func (v *Verifier) keyFor(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok {
			if v.hmacKey == nil {
				return nil, ErrNoKeyForAlgorithm
			}
			return v.hmacKey, nil
		}
		if v.jwks == nil {
			return nil, ErrNoKeyForAlgorithm
		}
		return v.jwks.KeyfuncCtx(ctx)(t)
	}
}

// classify maps a golang-jwt error to our sentinels. Only a token whose sole
// fault is its age is "expired": a client that sees token_expired refreshes,
// which cannot help a token meant for another audience.
func classify(err error) error {
	if errors.Is(err, jwt.ErrTokenExpired) {
		expiredOnly := true
		for _, other := range []error{jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenNotValidYet,
			jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidSubject} {
			if errors.Is(err, other) {
				expiredOnly = false
			}
		}
		if expiredOnly {
			return fmt.Errorf("%w: %w", ErrTokenExpired, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrInvalidToken, err)
}

// userOf checks what golang-jwt does not (sub is a UUID) and copies the claims.
func userOf(tok *jwt.Token, c *claims) (*User, error) {
	id, err := parseUUID(c.Subject)
	if err != nil {
		return nil, errors.Join(ErrInvalidToken, ErrSubjectNotUUID)
	}
	raw, err := payloadOf(tok.Raw)
	if err != nil {
		return nil, errors.Join(ErrInvalidToken, err)
	}
	u := &User{
		ID: id, Email: c.Email, Phone: c.Phone, Role: c.Role, AAL: c.AAL, SessionID: c.SessionID,
		IsAnonymous: c.IsAnonymous, AMR: c.AMR, AppMetadata: c.AppMetadata, UserMetadata: c.UserMetadata,
		Caller: c.AuthorizedParty, RawClaims: raw,
	}
	if c.ExpiresAt != nil {
		u.ExpiresAt = c.ExpiresAt.Time
	}
	return u, nil
}

// parseUUID accepts only the canonical 36-character form: uuid.Parse also
// takes braces, urn: and unhyphenated forms, which auth.uid() would not
// compare equal to.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, ErrSubjectNotUUID
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, ErrSubjectNotUUID
	}
	return id, nil
}

// payloadOf returns the decoded middle segment: the claims JSON as signed.
func payloadOf(raw string) (json.RawMessage, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, jwt.ErrTokenMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, jwt.ErrTokenMalformed
	}
	return b, nil
}

// peekKID reads the kid of the (unverified) header only to choose which
// verifier gets the token; each of them then checks everything itself.
func peekKID(raw string) (string, error) {
	head, rest, ok := strings.Cut(raw, ".")
	if !ok || strings.Count(rest, ".") != 1 {
		return "", jwt.ErrTokenMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", jwt.ErrTokenMalformed
	}
	var h struct {
		Kid any `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", jwt.ErrTokenMalformed
	}
	kid, _ := h.Kid.(string)
	return kid, nil
}
