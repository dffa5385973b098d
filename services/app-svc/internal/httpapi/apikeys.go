package httpapi

import (
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// UserTiers are the rate-limit tiers a user may give their own keys; the
// higher ones (premium, enterprise) are granted with the admin CLI.
var UserTiers = []string{"basic", "standard"}

// UserScopes are the scopes a user may give their own keys: all of them,
// since an owned key only ever acts as its owner.
var UserScopes = auth.KnownScopes

const (
	defaultTier      = "standard"
	maxKeyNameLength = 100
)

type apiKeyJSON struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	Tier       string     `json:"tier"`
	Active     bool       `json:"active"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
	// Key is the plaintext, in the creation response only.
	Key string `json:"key,omitempty"`
}

func apiKeyOut(k store.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, Tier: k.Tier, Active: k.Active,
		ExpiresAt: utc(k.ExpiresAt), LastUsedAt: utc(k.LastUsedAt), CreatedAt: k.CreatedAt.UTC()}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type apiKeyCreate struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Tier      string   `json:"tier"`
	ExpiresAt *string  `json:"expires_at"`
}

// createAPIKey issues an MCP key owned by the caller and returns it once.
func (h *handlers) createAPIKey(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	var in apiKeyCreate
	if err := decode(c, &in); err != nil {
		return err
	}
	nk, err := h.newKey(in)
	if err != nil {
		return err
	}
	key, err := auth.GenerateAPIKey()
	if err != nil {
		return err
	}
	nk.UserID = uuid.NullUUID{UUID: u.ID, Valid: true}
	nk.Prefix = key.Prefix
	if nk.Hash, err = hex.DecodeString(key.Hash); err != nil {
		return err
	}
	var k store.APIKey
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		k, err = store.InsertAPIKey(c, tx, nk)
		return err
	})
	if err != nil {
		return dbError(err, "api key")
	}
	out := apiKeyOut(k)
	out.Key = key.Plaintext
	c.Header("Cache-Control", "no-store")
	c.Header("Location", Prefix+"/api-keys/"+k.ID.String())
	c.JSON(http.StatusCreated, out)
	return nil
}

// newKey checks a creation request against what a user may have.
func (h *handlers) newKey(in apiKeyCreate) (store.NewAPIKey, error) {
	var problems []apperr.FieldError
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxKeyNameLength {
		problems = append(problems, apperr.FieldError{Field: "name", Message: "is required, at most 100 characters"})
	}
	if len(in.Scopes) == 0 {
		problems = append(problems, apperr.FieldError{Field: "scopes", Message: "at least one of " + strings.Join(UserScopes, ", ")})
	}
	var scopes []string
	for _, s := range in.Scopes {
		if !slices.Contains(UserScopes, s) {
			problems = append(problems, apperr.FieldError{Field: "scopes", Message: "unknown scope " + s + "; expected " + strings.Join(UserScopes, ", ")})
		} else if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	tier := in.Tier
	if tier == "" {
		tier = defaultTier
	}
	if !slices.Contains(UserTiers, tier) {
		problems = append(problems, apperr.FieldError{Field: "tier", Message: "must be one of " + strings.Join(UserTiers, ", ")})
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		switch {
		case err != nil:
			problems = append(problems, apperr.FieldError{Field: "expires_at", Message: "must be an RFC 3339 time, e.g. 2030-01-31T00:00:00Z"})
		case !t.After(h.Now()):
			problems = append(problems, apperr.FieldError{Field: "expires_at", Message: "must be in the future"})
		default:
			expires = &t
		}
	}
	if problems != nil {
		return store.NewAPIKey{}, apperr.Validation(problems...)
	}
	return store.NewAPIKey{Name: name, Scopes: scopes, Tier: tier, ExpiresAt: expires}, nil
}

// listAPIKeys shows the caller's keys, revoked ones included, never the
// key or its hash.
func (h *handlers) listAPIKeys(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	p, err := page(c, "api_keys")
	if err != nil {
		return err
	}
	var rows []store.APIKey
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		rows, err = store.ListAPIKeys(c, tx, p)
		return err
	})
	if err != nil {
		return dbError(err, "api key")
	}
	rows, next := trim(rows, p, "api_keys", func(k store.APIKey) cursor { return cursor{At: k.CreatedAt, ID: k.ID} })
	out := make([]apiKeyJSON, len(rows))
	for i, k := range rows {
		out[i] = apiKeyOut(k)
	}
	c.JSON(http.StatusOK, gin.H{"api_keys": out, "next_cursor": next})
	return nil
}

// revokeAPIKey deactivates a key; mcp-svc sees it within its key cache TTL.
func (h *handlers) revokeAPIKey(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "api key")
	if err != nil {
		return err
	}
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error { return store.RevokeAPIKey(c, tx, id) })
	if err != nil {
		return dbError(err, "api key")
	}
	c.Status(http.StatusNoContent)
	return nil
}
