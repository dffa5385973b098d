package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

type profileJSON struct {
	ID             string         `json:"id"`
	Email          string         `json:"email"`
	Phone          string         `json:"phone"`
	Role           string         `json:"role"`
	IsAnonymous    bool           `json:"is_anonymous"`
	AAL            string         `json:"aal"`
	SessionID      string         `json:"session_id"`
	AppMetadata    map[string]any `json:"app_metadata"`
	UserMetadata   map[string]any `json:"user_metadata"`
	TokenExpiresAt time.Time      `json:"token_expires_at"`
	Counts         countsJSON     `json:"counts"`
}

type countsJSON struct {
	Workflows     int64 `json:"workflows"`
	Sessions      int64 `json:"sessions"`
	ActiveAPIKeys int64 `json:"active_api_keys"`
}

// profile is the caller as the token describes them, with how many
// workflows, sessions and active API keys they have.
func (h *handlers) profile(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	var n store.Counts
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		n, err = store.CountMine(c, tx)
		return err
	})
	if err != nil {
		return dbError(err, "profile")
	}
	c.JSON(http.StatusOK, profileJSON{
		ID: u.ID.String(), Email: u.Email, Phone: u.Phone, Role: u.Role, IsAnonymous: u.IsAnonymous,
		AAL: u.AAL, SessionID: u.SessionID, AppMetadata: orEmpty(u.AppMetadata), UserMetadata: orEmpty(u.UserMetadata),
		TokenExpiresAt: u.ExpiresAt.UTC(),
		Counts:         countsJSON{Workflows: n.Workflows, Sessions: n.Sessions, ActiveAPIKeys: n.ActiveAPIKeys},
	})
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
