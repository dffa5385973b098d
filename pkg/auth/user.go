package auth

import (
	"context"
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// User is the verified caller of an App-layer request.
type User struct {
	ID          uuid.UUID
	Email       string
	Phone       string
	Role        string // "authenticated" for signed-in and anonymous users
	AAL         string // authenticator assurance level: aal1, aal2
	SessionID   string
	IsAnonymous bool
	AMR         []AMR
	AppMetadata map[string]any
	// UserMetadata is user-editable: never base authorisation on it.
	UserMetadata map[string]any
	ExpiresAt    time.Time
	// Internal is true for an internal token a service minted on the
	// user's behalf; Caller then names that service.
	Internal bool
	Caller   string
	// RawClaims is the verified payload exactly as signed, for
	// request.jwt.claims (PostgreSQL RLS) and PostgREST-style policies.
	RawClaims json.RawMessage
}

// AMR is one authentication method reference. Supabase sends objects
// ({"method":"password","timestamp":…}); RFC 8176 sends plain strings. Both
// decode here.
type AMR struct {
	Method    string `json:"method"`
	Timestamp int64  `json:"timestamp,omitempty"`
}

// UnmarshalJSON accepts "pwd" as well as {"method":"pwd","timestamp":1}.
func (a *AMR) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &a.Method)
	}
	type plain AMR
	return json.Unmarshal(b, (*plain)(a))
}

// claims is the token payload Supabase (GoTrue) issues; the internal tokens
// use a subset plus azp.
type claims struct {
	jwt.RegisteredClaims
	Email        string         `json:"email,omitempty"`
	Phone        string         `json:"phone,omitempty"`
	Role         string         `json:"role,omitempty"`
	AAL          string         `json:"aal,omitempty"`
	SessionID    string         `json:"session_id,omitempty"`
	IsAnonymous  bool           `json:"is_anonymous,omitempty"`
	AMR          []AMR          `json:"amr,omitempty"`
	AppMetadata  map[string]any `json:"app_metadata,omitempty"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
	// AuthorizedParty names the service that minted an internal token.
	AuthorizedParty string `json:"azp,omitempty"`
}

type userKey struct{}

// WithUser stores u in ctx (the middleware does it; tests may too).
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the verified user of the request. A gin.Context works
// as ctx because the engine falls back to the request's context.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok && u != nil
}
