package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/testkit"
)

// remoteVerifier has the remote check on, cached in the test's Redis.
func remoteVerifier(t *testing.T, f *fakeSupabase, env ...string) (*Verifier, func(string) string) {
	t.Helper()
	rdb, prefix := testkit.Redis(t)
	base := []string{"SUPABASE_URL=" + f.URL, "SUPABASE_JWT_SECRET=" + testSecret, "SUPABASE_ANON_KEY=" + testAnonKey, "AUTH_REMOTE_VERIFY=true"}
	v, err := NewVerifier(t.Context(), loadConfig(t, append(base, env...)...),
		WithHTTPClient(f.Client()), WithRedis(rdb), WithCachePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ttlOf := func(raw string) string { return rdb.TTL(context.Background(), prefix+tokenHash(raw)).Val().String() }
	return v, ttlOf
}

// userToken mints an HS256 token for a session the fake GoTrue knows.
func userToken(t *testing.T, f *fakeSupabase, user map[string]any, exp time.Duration) string {
	t.Helper()
	c := goodClaims(f.URL + "/auth/v1")
	c["exp"] = time.Now().Add(exp).Unix()
	if user != nil {
		c["sub"] = user["id"]
		f.mu.Lock()
		f.users[c["session_id"].(string)] = user
		f.mu.Unlock()
	}
	return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c)
}

func TestRemoteCheck(t *testing.T) {
	f := newFakeSupabase(t)
	v, _ := remoteVerifier(t, f, "AUTH_REQUIRE_EMAIL_CONFIRMED=true")
	tests := []struct {
		name string
		user map[string]any // nil: GoTrue does not know the session
		want error
		code string
	}{
		{"confirmed user", goTrueUserJSON(uuid.NewString(), "ok@example.com", true, false), nil, ""},
		{"revoked session", nil, ErrSessionRevoked, "invalid_token"},
		{"unconfirmed e-mail", goTrueUserJSON(uuid.NewString(), "new@example.com", false, false), ErrEmailNotConfirmed, "email_not_confirmed"},
		{"anonymous user without e-mail", goTrueUserJSON(uuid.NewString(), "", false, true), nil, ""},
		{"GoTrue answers for another user", goTrueUserJSON(uuid.NewString(), "x@example.com", true, false), ErrSessionRevoked, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := userToken(t, f, tt.user, time.Hour)
			if tt.name == "GoTrue answers for another user" {
				c := goodClaims(f.URL + "/auth/v1") // token for someone else, same session
				var parsed claims
				_, _, _ = jwt.NewParser().ParseUnverified(raw, &parsed)
				c["session_id"] = parsed.SessionID
				raw = sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c)
			}
			_, err := v.Verify(t.Context(), raw)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || AppError(err).Code != tt.code {
				t.Fatalf("error %v (code %s), want %v (%s)", err, AppError(err).Code, tt.want, tt.code)
			}
		})
	}
	if got, _ := f.lastAPIKey.Load().(string); got != testAnonKey {
		t.Fatalf("apikey header %q, want the anon key", got)
	}
}

func TestRemoteCheckCachesByTokenHash(t *testing.T) {
	f := newFakeSupabase(t)
	v, ttlOf := remoteVerifier(t, f, "CACHE_TTL=300")

	raw := userToken(t, f, goTrueUserJSON(uuid.NewString(), "a@example.com", true, false), time.Hour)
	for range 3 {
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.userHits.Load(); n != 1 {
		t.Fatalf("%d calls to /auth/v1/user for one token, want 1 (cached)", n)
	}
	if ttl, _ := time.ParseDuration(ttlOf(raw)); ttl <= 290*time.Second || ttl > 300*time.Second {
		t.Fatalf("cache TTL %s, want CACHE_TTL (300s)", ttl)
	}

	short := userToken(t, f, goTrueUserJSON(uuid.NewString(), "b@example.com", true, false), 40*time.Second)
	if _, err := v.Verify(t.Context(), short); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := time.ParseDuration(ttlOf(short)); ttl <= 0 || ttl > 40*time.Second {
		t.Fatalf("cache TTL %s for a token expiring in 40s, want at most 40s", ttl)
	}

	// A revoked session is cached too: a flood of one revoked token does
	// not become a flood on Supabase.
	revoked := userToken(t, f, nil, time.Hour)
	before := f.userHits.Load()
	for range 3 {
		if _, err := v.Verify(t.Context(), revoked); !errors.Is(err, ErrSessionRevoked) {
			t.Fatalf("error %v, want revoked", err)
		}
	}
	if n := f.userHits.Load() - before; n != 1 {
		t.Fatalf("%d calls for a revoked token, want 1", n)
	}
}

func TestRemoteCheckUnavailable(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"GoTrue 500", http.StatusInternalServerError},
		{"GoTrue 429", http.StatusTooManyRequests},
		{"GoTrue 502", http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSupabase(t)
			f.status = tt.status
			v, _ := remoteVerifier(t, f)
			raw := userToken(t, f, goTrueUserJSON(uuid.NewString(), "a@example.com", true, false), time.Hour)
			_, err := v.Verify(t.Context(), raw)
			if !errors.Is(err, ErrAuthUnavailable) {
				t.Fatalf("error %v, want ErrAuthUnavailable", err)
			}
			if e := AppError(err); e.Code != "auth_failed" || e.Kind.HTTPStatus() != http.StatusServiceUnavailable {
				t.Fatalf("rendered as %s/%d", e.Code, e.Kind.HTTPStatus())
			}
		})
	}
	t.Run("GoTrue unreachable", func(t *testing.T) {
		f := newFakeSupabase(t)
		v, _ := remoteVerifier(t, f)
		raw := userToken(t, f, goTrueUserJSON(uuid.NewString(), "a@example.com", true, false), time.Hour)
		f.Close()
		if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrAuthUnavailable) {
			t.Fatalf("error %v, want ErrAuthUnavailable", err)
		}
	})
}
