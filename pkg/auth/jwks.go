package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// jwksFetchTimeout bounds one JWKS download, including the one made for a
// token with an unknown kid (that request waits for it).
const jwksFetchTimeout = 3 * time.Second

// newJWKS returns a key source for the project's JWKS: fetched now, again
// every cfg.JWKSRefresh, and on a token whose kid it does not know — at most
// once per cfg.JWKSUnknownKIDInterval, so tokens with random kids cannot
// turn the gateway into a JWKS download loop. A refresh replaces the whole
// set: a key removed from the JWKS stops verifying after the next refresh,
// and during a rotation both keys are published, so both verify.
func newJWKS(ctx context.Context, url string, cfg Config, client *http.Client, log *slog.Logger) (keyfunc.Keyfunc, error) {
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		Client:          client,
		HTTPTimeout:     jwksFetchTimeout,
		RefreshInterval: cfg.JWKSRefresh,
		// One refresh right away for the first unknown kid, then one per
		// interval. Waiting is capped by RateLimitWaitMax: a request never
		// sleeps for a token longer than a fetch would take.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.JWKSUnknownKIDInterval), 1),
		RateLimitWaitMax:  jwksFetchTimeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "JWKS refresh failed", "url", u, "error", err.Error())
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS %s: %w", url, err)
	}
	return kf, nil
}
