package auth

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is what verifying App-layer tokens and issuing internal tokens
// need. Services embed it in their own configuration.
//
// Algorithms: when AUTH_JWT_ALGORITHMS is empty the verifier accepts HS256
// if SUPABASE_JWT_SECRET is set and ES256 and RS256 if a JWKS URL is known
// (SUPABASE_URL or AUTH_JWKS_URL). When it is set, it is the exact allow-list
// and each listed algorithm must have its key source configured.
type Config struct {
	// SupabaseURL is the project URL (https://<ref>.supabase.co). It implies
	// the issuer <SupabaseURL>/auth/v1, the JWKS URL and the remote check URL.
	SupabaseURL string `env:"SUPABASE_URL"`
	// JWTSecret is the project's legacy HS256 secret.
	JWTSecret string `env:"SUPABASE_JWT_SECRET" secret:"true"`
	// AnonKey is sent as the apikey header of the remote check.
	AnonKey string `env:"SUPABASE_ANON_KEY" secret:"true"`
	// JWKSURL overrides <SupabaseURL>/auth/v1/.well-known/jwks.json.
	JWKSURL string `env:"AUTH_JWKS_URL"`
	// Issuer overrides <SupabaseURL>/auth/v1 (self-hosted GoTrue behind
	// another host name); empty with no SupabaseURL disables the iss check.
	Issuer     string   `env:"AUTH_JWT_ISSUER"`
	Audience   string   `env:"AUTH_JWT_AUDIENCE" envDefault:"authenticated"`
	Algorithms []string `env:"AUTH_JWT_ALGORITHMS" envSeparator:","`
	// Leeway absorbs clock skew on exp, nbf and iat.
	Leeway time.Duration `env:"AUTH_JWT_LEEWAY" envDefault:"10s"`
	// MaxTokenBytes refuses larger tokens before any decoding.
	MaxTokenBytes int `env:"AUTH_MAX_TOKEN_BYTES" envDefault:"8192"`
	// JWKSRefresh is the background refresh period of the JWKS; an unknown
	// kid also triggers a refresh, at most once per JWKSUnknownKIDInterval.
	JWKSRefresh            time.Duration `env:"AUTH_JWKS_REFRESH_INTERVAL" envDefault:"10m"`
	JWKSUnknownKIDInterval time.Duration `env:"AUTH_JWKS_UNKNOWN_KID_INTERVAL" envDefault:"30s"`
	// RemoteVerify asks Supabase (GET /auth/v1/user) whether the session
	// still exists; the answer is cached in Redis by token hash for
	// min(CACHE_TTL, time to expiry).
	RemoteVerify bool `env:"AUTH_REMOTE_VERIFY"`
	// RequireEmailConfirmed refuses users whose e-mail is not confirmed.
	// The token does not carry that fact, so it implies the remote check.
	RequireEmailConfirmed bool `env:"AUTH_REQUIRE_EMAIL_CONFIRMED"`
	// CacheTTLSeconds is the original design's CACHE_TTL, in seconds.
	CacheTTLSeconds int `env:"CACHE_TTL" envDefault:"300"`

	// InternalSecret signs the internal tokens services send to app-svc
	// on a user's behalf (HS256, at least 32 bytes).
	InternalSecret   string        `env:"JWT_SECRET_KEY" secret:"true" prod:"required"`
	InternalIssuer   string        `env:"AUTH_INTERNAL_ISSUER" envDefault:"wfagent-gateway"`
	InternalAudience string        `env:"AUTH_INTERNAL_AUDIENCE" envDefault:"wfagent-app"`
	InternalTTL      time.Duration `env:"AUTH_INTERNAL_TOKEN_TTL" envDefault:"5m"`
}

// supportedAlgorithms are the ones a Supabase project can sign with. "none"
// and everything else never pass.
var supportedAlgorithms = []string{"HS256", "ES256", "RS256"}

// CacheTTL is CACHE_TTL as a duration.
func (c Config) CacheTTL() time.Duration { return time.Duration(c.CacheTTLSeconds) * time.Second }

// IssuerURL is the iss every Supabase token must carry, or "" when unchecked.
func (c Config) IssuerURL() string {
	if c.Issuer != "" {
		return c.Issuer
	}
	if c.SupabaseURL == "" {
		return ""
	}
	return strings.TrimRight(c.SupabaseURL, "/") + "/auth/v1"
}

// JWKSEndpoint is where the project's public keys are published, or "".
func (c Config) JWKSEndpoint() string {
	if c.JWKSURL != "" {
		return c.JWKSURL
	}
	if c.SupabaseURL == "" {
		return ""
	}
	return strings.TrimRight(c.SupabaseURL, "/") + "/auth/v1/.well-known/jwks.json"
}

// remoteCheck reports whether the Supabase user endpoint is consulted.
func (c Config) remoteCheck() bool { return c.RemoteVerify || c.RequireEmailConfirmed }

// EffectiveAlgorithms is the allow-list the verifier uses.
func (c Config) EffectiveAlgorithms() []string {
	if len(c.Algorithms) > 0 {
		return c.Algorithms
	}
	var algs []string
	if c.JWTSecret != "" {
		algs = append(algs, "HS256")
	}
	if c.JWKSEndpoint() != "" {
		algs = append(algs, "ES256", "RS256")
	}
	return algs
}

// Validate checks the settings; the service's own Validate calls it.
func (c Config) Validate() error {
	var errs []error
	for _, u := range []struct{ name, v string }{{"SUPABASE_URL", c.SupabaseURL}, {"AUTH_JWKS_URL", c.JWKSURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s=%q: want an http(s) URL", u.name, u.v))
		}
	}
	for _, a := range c.Algorithms {
		switch {
		case !slices.Contains(supportedAlgorithms, a):
			errs = append(errs, fmt.Errorf("AUTH_JWT_ALGORITHMS: %q is not one of %s", a, strings.Join(supportedAlgorithms, ", ")))
		case a == "HS256" && c.JWTSecret == "":
			errs = append(errs, errors.New("AUTH_JWT_ALGORITHMS lists HS256 but SUPABASE_JWT_SECRET is empty"))
		case a != "HS256" && c.JWKSEndpoint() == "":
			errs = append(errs, fmt.Errorf("AUTH_JWT_ALGORITHMS lists %s but neither SUPABASE_URL nor AUTH_JWKS_URL is set", a))
		}
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, errors.New("SUPABASE_JWT_SECRET must be at least 32 characters"))
	}
	if c.InternalSecret != "" && len(c.InternalSecret) < 32 {
		errs = append(errs, errors.New("JWT_SECRET_KEY must be at least 32 characters"))
	}
	if c.InternalSecret != "" && c.InternalSecret == c.JWTSecret {
		errs = append(errs, errors.New("JWT_SECRET_KEY must differ from SUPABASE_JWT_SECRET"))
	}
	if c.InternalTTL <= 0 || c.InternalTTL > time.Hour {
		errs = append(errs, fmt.Errorf("AUTH_INTERNAL_TOKEN_TTL=%s: want (0, 1h]", c.InternalTTL))
	}
	if c.remoteCheck() && c.SupabaseURL == "" {
		errs = append(errs, errors.New("AUTH_REMOTE_VERIFY and AUTH_REQUIRE_EMAIL_CONFIRMED need SUPABASE_URL"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("AUTH_JWT_AUDIENCE must not be empty"))
	}
	if c.MaxTokenBytes < 512 {
		errs = append(errs, fmt.Errorf("AUTH_MAX_TOKEN_BYTES=%d: want at least 512", c.MaxTokenBytes))
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		errs = append(errs, fmt.Errorf("AUTH_JWT_LEEWAY=%s: want [0, 5m]", c.Leeway))
	}
	if c.CacheTTLSeconds < 0 {
		errs = append(errs, fmt.Errorf("CACHE_TTL=%d: want seconds >= 0", c.CacheTTLSeconds))
	}
	return errors.Join(errs...)
}

// APIKeyConfig is what the MCP layer's key and signature checks need.
type APIKeyConfig struct {
	// Keys is the original design's MCP_API_KEYS JSON (see ParseEnvKeys).
	Keys string `env:"MCP_API_KEYS" secret:"true"`
	// Required false lets requests without a key through (development).
	Required bool `env:"MCP_API_KEY_REQUIRED" envDefault:"true"`
	// AllowQueryKey decides whether ?api_key= is read: "true", "false", or
	// empty for the default (on outside production, off in production).
	AllowQueryKey string `env:"MCP_ALLOW_QUERY_API_KEY"`
	// CacheTTL bounds how long a verified key is trusted without asking the
	// store again, hence how late a revocation is seen (at most 30s).
	CacheTTL time.Duration `env:"MCP_API_KEY_CACHE_TTL" envDefault:"30s"`
	// SignatureSecret signs requests (HMAC-SHA256, X-Timestamp/X-Signature).
	SignatureSecret   string        `env:"API_SECRET_KEY" secret:"true"`
	SignatureRequired bool          `env:"MCP_SIGNATURE_REQUIRED"`
	SignatureWindow   time.Duration `env:"MCP_SIGNATURE_WINDOW" envDefault:"5m"`
}

// QueryKeyAllowed resolves AllowQueryKey for an environment.
func (c APIKeyConfig) QueryKeyAllowed(production bool) bool {
	if b, err := strconv.ParseBool(c.AllowQueryKey); err == nil {
		return b
	}
	return !production
}

// Validate checks the settings; production refuses keys that anyone could
// guess and running without keys.
func (c APIKeyConfig) Validate(production bool) error {
	var errs []error
	if c.AllowQueryKey != "" {
		if _, err := strconv.ParseBool(c.AllowQueryKey); err != nil {
			errs = append(errs, fmt.Errorf("MCP_ALLOW_QUERY_API_KEY=%q: want true or false", c.AllowQueryKey))
		}
	}
	if c.CacheTTL < 0 || c.CacheTTL > 30*time.Second {
		errs = append(errs, fmt.Errorf("MCP_API_KEY_CACHE_TTL=%s: want [0, 30s] so revocations show within 30s", c.CacheTTL))
	}
	if c.SignatureWindow <= 0 || c.SignatureWindow > 15*time.Minute {
		errs = append(errs, fmt.Errorf("MCP_SIGNATURE_WINDOW=%s: want (0, 15m]", c.SignatureWindow))
	}
	if c.SignatureRequired && c.SignatureSecret == "" {
		errs = append(errs, errors.New("MCP_SIGNATURE_REQUIRED=true needs API_SECRET_KEY"))
	}
	if c.SignatureSecret != "" && len(c.SignatureSecret) < 32 {
		errs = append(errs, errors.New("API_SECRET_KEY must be at least 32 characters"))
	}
	if production && !c.Required {
		errs = append(errs, errors.New("MCP_API_KEY_REQUIRED=false is refused when ENVIRONMENT=production"))
	}
	if _, err := parseEnvKeys(c.Keys, production); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
