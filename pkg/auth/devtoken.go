package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// MintDevToken signs a Supabase-shaped access token with the legacy HS256
// secret (cfg.JWTSecret) for local development (`make token`): the same
// audience, issuer and claims GoTrue would issue, so the dev stack's
// Verifier accepts it unchanged. environment is ENVIRONMENT; production is
// refused, whatever the secret.
func MintDevToken(cfg Config, environment, sub, email string, ttl time.Duration) (string, error) {
	if environment == "production" {
		return "", ErrDevTokenInProduction
	}
	if cfg.JWTSecret == "" {
		return "", errors.New("auth: SUPABASE_JWT_SECRET must be set to mint dev tokens")
	}
	id, err := parseUUID(sub)
	if err != nil {
		return "", err
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	aud := cfg.Audience
	if aud == "" {
		aud = "authenticated"
	}
	now := time.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    cfg.IssuerURL(),
			Subject:   id.String(),
			Audience:  jwt.ClaimStrings{aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		Email:        email,
		Role:         "authenticated",
		AAL:          "aal1",
		SessionID:    uuid.NewString(),
		AMR:          []AMR{{Method: "password", Timestamp: now.Unix()}},
		AppMetadata:  map[string]any{"provider": "email", "providers": []string{"email"}},
		UserMetadata: map[string]any{},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(cfg.JWTSecret))
}
