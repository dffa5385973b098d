// Package auth authenticates the two kinds of callers the gateway has.
//
// App-layer users present Supabase access tokens (Verifier, Middleware,
// UserFrom): verified locally against the legacy HS256 secret and/or the
// project's JWKS, optionally confirmed with Supabase's /auth/v1/user.
// Services calling app-svc on a user's behalf present short-lived internal
// tokens (InternalTokens) that the same Verifier accepts.
//
// MCP clients present API keys (APIKeyAuth, KeyStore, GenerateAPIKey) and,
// optionally, HMAC request signatures (SignatureVerifier).
//
// Every refusal is a sentinel error (ErrInvalidToken, ErrKeyExpired, …) that
// AppError turns into the *apperr.Error the HTTP layers render; the MCP layer
// can read the same code and kind for its own error shape.
package auth
