package auth

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Middleware requires a valid bearer token (a Supabase access token or an
// internal token) and puts its user in the request context (UserFrom). A
// refusal aborts with the *apperr.Error of AppError, which httpx.Errors
// renders: 401 with WWW-Authenticate, or 503 auth_failed.
func (v *Verifier) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		u, err := v.Verify(c.Request.Context(), BearerToken(c.Request))
		if err != nil {
			// The reason goes to the debug log; the token never does.
			v.log.DebugContext(c.Request.Context(), "bearer token refused", "reason", err.Error())
			_ = c.Error(AppError(err))
			c.Abort()
			return
		}
		c.Request = c.Request.WithContext(WithUser(c.Request.Context(), u))
		c.Next()
	}
}

// BearerToken returns the credentials of "Authorization: Bearer <token>"
// (scheme case-insensitive, RFC 6750 §2.1), or "".
func BearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
