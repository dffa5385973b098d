package auth

import (
	"errors"
	"fmt"

	"github.com/wfagent/gateway/pkg/apperr"
)

// Refusals of App-layer tokens. Verify wraps one of them, often joined with
// the precise cause (a golang-jwt error or one of the causes below).
var (
	ErrMissingToken      = errors.New("no bearer token")
	ErrInvalidToken      = errors.New("invalid token")
	ErrTokenExpired      = errors.New("token expired")
	ErrEmailNotConfirmed = errors.New("e-mail not confirmed")
	// ErrAuthUnavailable means the token could not be checked (Supabase
	// unreachable during a remote check): the caller should retry.
	ErrAuthUnavailable = errors.New("authentication backend unavailable")
)

// Causes joined with ErrInvalidToken.
var (
	ErrTokenTooLarge     = errors.New("token too large")
	ErrSubjectNotUUID    = errors.New("sub is not a UUID")
	ErrSessionRevoked    = errors.New("session revoked or user gone")
	ErrNoKeyForAlgorithm = errors.New("no key configured for the token's algorithm")
)

// Refusals of MCP-layer credentials.
var (
	ErrMissingAPIKey     = errors.New("no API key")
	ErrInvalidAPIKey     = errors.New("invalid API key")
	ErrClientDisabled    = errors.New("API key disabled")
	ErrKeyExpired        = errors.New("API key expired")
	ErrInsufficientScope = errors.New("API key lacks the scope")
	// ErrKeyNotFound is what a KeyStore returns for an unknown hash.
	ErrKeyNotFound = errors.New("API key not found")
	// ErrKeyStoreUnavailable means the store could not answer.
	ErrKeyStoreUnavailable = errors.New("API key store unavailable")

	ErrMissingSignature       = errors.New("no request signature")
	ErrInvalidSignature       = errors.New("invalid request signature")
	ErrSignatureExpired       = errors.New("request signature outside the time window")
	ErrSignatureReplayed      = errors.New("request signature already used")
	ErrReplayGuardUnavailable = errors.New("replay guard unavailable")

	// ErrDevTokenInProduction refuses MintDevToken in production.
	ErrDevTokenInProduction = errors.New("dev tokens are refused when ENVIRONMENT=production")
)

// Realms named in WWW-Authenticate.
const (
	realmApp = "wfagent-app"
	realmMCP = "wfagent-mcp"
)

type refusal struct {
	kind    apperr.Kind
	code    string
	message string
	// rfc6750 is the Bearer error parameter; "" omits it (RFC 6750 §3.1:
	// a request without credentials gets no error code).
	rfc6750 string
	realm   string
}

// refusals maps each sentinel to what the client sees. Order matters: the
// first sentinel err matches wins, so the specific ones come first.
var refusals = []struct {
	err error
	r   refusal
}{
	{ErrMissingToken, refusal{apperr.Unauthenticated, "missing_token", "an Authorization: Bearer token is required", "", realmApp}},
	{ErrTokenExpired, refusal{apperr.Unauthenticated, "token_expired", "the access token has expired", "invalid_token", realmApp}},
	{ErrEmailNotConfirmed, refusal{apperr.Unauthenticated, "email_not_confirmed", "the e-mail address is not confirmed", "invalid_token", realmApp}},
	{ErrInvalidToken, refusal{apperr.Unauthenticated, "invalid_token", "the access token is invalid", "invalid_token", realmApp}},
	{ErrAuthUnavailable, refusal{apperr.Unavailable, "auth_failed", "authentication could not be completed, try again", "", ""}},

	{ErrMissingAPIKey, refusal{apperr.Unauthenticated, "missing_api_key", "an API key is required (X-API-Key header)", "", realmMCP}},
	{ErrClientDisabled, refusal{apperr.Unauthenticated, "client_disabled", "the API key is disabled", "invalid_token", realmMCP}},
	{ErrKeyExpired, refusal{apperr.Unauthenticated, "key_expired", "the API key has expired", "invalid_token", realmMCP}},
	{ErrInvalidAPIKey, refusal{apperr.Unauthenticated, "invalid_api_key", "the API key is invalid", "invalid_token", realmMCP}},
	{ErrInsufficientScope, refusal{apperr.PermissionDenied, "insufficient_scope", "the API key lacks the scope this call needs", "", ""}},
	{ErrKeyStoreUnavailable, refusal{apperr.Unavailable, "auth_failed", "the API key could not be checked, try again", "", ""}},

	{ErrMissingSignature, refusal{apperr.Unauthenticated, "missing_signature", "X-Timestamp and X-Signature are required", "", ""}},
	{ErrSignatureExpired, refusal{apperr.Unauthenticated, "signature_expired", "X-Timestamp is outside the accepted window", "", ""}},
	{ErrSignatureReplayed, refusal{apperr.Unauthenticated, "signature_replayed", "this signed request was already received", "", ""}},
	{ErrInvalidSignature, refusal{apperr.Unauthenticated, "invalid_signature", "the request signature does not match", "", ""}},
	{ErrReplayGuardUnavailable, refusal{apperr.Unavailable, "auth_failed", "the request signature could not be checked, try again", "", ""}},
}

// AppError turns a refusal from this package into the error the HTTP layer
// renders (kind, snake_case code, message, WWW-Authenticate on 401), keeping
// err as the logged cause so errors.Is still finds the sentinel. Errors from
// elsewhere come back as apperr.From does.
func AppError(err error) *apperr.Error {
	for _, m := range refusals {
		if !errors.Is(err, m.err) {
			continue
		}
		e := apperr.New(m.r.kind, m.r.code, m.r.message).Wrap(err)
		if m.r.realm != "" {
			h := fmt.Sprintf("Bearer realm=%q", m.r.realm)
			if m.r.rfc6750 != "" {
				h += fmt.Sprintf(", error=%q, error_description=%q", m.r.rfc6750, m.r.message)
			}
			e.WithHeader("WWW-Authenticate", h)
		}
		if m.err == ErrInsufficientScope {
			e.WithHeader("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=%q", realmMCP, "insufficient_scope"))
		}
		return e
	}
	return apperr.From(err)
}
