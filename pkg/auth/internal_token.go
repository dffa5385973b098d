package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// internalKID marks internal tokens in the JWT header so the Verifier hands
// them to the internal parser; the kid is a routing hint, not a credential.
const internalKID = "wfagent-internal"

// InternalTokens mints and checks the short-lived tokens a service (mcp-svc)
// sends to app-svc when it acts for a key's owner. They are signed with
// JWT_SECRET_KEY and carry their own issuer and audience, so a Supabase
// token can never pass for one and the other way round. Their claims are
// shaped like Supabase's (sub, role authenticated) so RLS treats the call
// exactly as the owner's own request.
type InternalTokens struct {
	key      []byte
	issuer   string
	audience string
	ttl      time.Duration
	parser   *jwt.Parser
	now      func() time.Time
}

// NewInternalTokens needs cfg.InternalSecret.
func NewInternalTokens(cfg Config) (*InternalTokens, error) {
	if len(cfg.InternalSecret) < 32 {
		return nil, errors.New("auth: JWT_SECRET_KEY must be set (at least 32 characters) for internal tokens")
	}
	return &InternalTokens{
		key:      []byte(cfg.InternalSecret),
		issuer:   cfg.InternalIssuer,
		audience: cfg.InternalAudience,
		ttl:      cfg.InternalTTL,
		now:      time.Now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"HS256"}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(cfg.InternalIssuer),
			jwt.WithAudience(cfg.InternalAudience),
			jwt.WithLeeway(5*time.Second),
		),
	}, nil
}

// Issue mints a token for userID; caller names the service (azp claim).
func (t *InternalTokens) Issue(userID uuid.UUID, email, caller string) (string, error) {
	if userID == uuid.Nil {
		return "", ErrSubjectNotUUID
	}
	now := t.now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   userID.String(),
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Email:           email,
		Role:            "authenticated",
		AuthorizedParty: caller,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = internalKID
	return tok.SignedString(t.key)
}

func (t *InternalTokens) verify(raw string) (*User, error) {
	var c claims
	tok, err := t.parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.key, nil })
	if err != nil {
		return nil, classify(err)
	}
	u, err := userOf(tok, &c)
	if err != nil {
		return nil, err
	}
	u.Internal = true
	return u, nil
}
