// Package config reads a service's configuration once, from the environment
// (and a .env file when present), into a typed struct. ENVIRONMENT picks a
// profile of defaults; production refuses unsafe settings; secrets are masked
// when the configuration is logged. No other package reads the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
)

// Environments.
const (
	Development = "development"
	Staging     = "staging"
	Production  = "production"
)

// profiles are the defaults of each ENVIRONMENT, from the original design:
// development is chatty and open to the local front-ends, production is quiet
// and strict. Anything set in the environment or .env wins.
var profiles = map[string]map[string]string{
	Development: {
		"DEBUG":                     "true",
		"LOG_LEVEL":                 "DEBUG",
		"LOG_FORMAT":                "standard",
		"CORS_ORIGINS":              "http://localhost:3000,http://localhost:8080",
		"PUBLIC_RATE_LIMIT_ENABLED": "false",
		"SHUTDOWN_DRAIN_DELAY":      "0s",
		"DOCS_ENABLED":              "true",
	},
	Staging: {
		"DEBUG":                     "false",
		"LOG_LEVEL":                 "INFO",
		"LOG_FORMAT":                "json",
		"PUBLIC_RATE_LIMIT_ENABLED": "true",
		"SHUTDOWN_DRAIN_DELAY":      "5s",
		"DOCS_ENABLED":              "true",
	},
	Production: {
		"DEBUG":                     "false",
		"LOG_LEVEL":                 "INFO",
		"LOG_FORMAT":                "json",
		"PUBLIC_RATE_LIMIT_ENABLED": "true",
		"SHUTDOWN_DRAIN_DELAY":      "5s",
		"DOCS_ENABLED":              "true",
	},
}

// Base is what every service reads. Services embed it in their own Config.
type Base struct {
	Environment     string        `env:"ENVIRONMENT" envDefault:"development"`
	Debug           bool          `env:"DEBUG"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"INFO"`
	LogFormat       string        `env:"LOG_FORMAT" envDefault:"standard"`
	Host            string        `env:"HOST" envDefault:"127.0.0.1"`
	Port            int           `env:"PORT"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// DrainDelay keeps serving, with /readyz false, so load balancers stop
	// sending before the listener closes.
	DrainDelay     time.Duration `env:"SHUTDOWN_DRAIN_DELAY" envDefault:"0s"`
	TrustedProxies []string      `env:"TRUSTED_PROXIES" envSeparator:","`
	MetricsEnabled bool          `env:"METRICS_ENABLED" envDefault:"true"`
	HealthEnabled  bool          `env:"HEALTH_CHECK_ENABLED" envDefault:"true"`
	OTLPEndpoint   string        `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	OTLPInsecure   bool          `env:"OTEL_EXPORTER_OTLP_INSECURE"`
}

// IsProduction reports ENVIRONMENT=production.
func (b Base) IsProduction() bool { return b.Environment == Production }

// Addr is HOST:PORT.
func (b Base) Addr() string { return fmt.Sprintf("%s:%d", b.Host, b.Port) }

// Validate checks what every service shares.
func (b Base) Validate() error {
	var errs []error
	if !slices.Contains([]string{Development, Staging, Production}, b.Environment) {
		errs = append(errs, fmt.Errorf("ENVIRONMENT=%q: want development, staging or production", b.Environment))
	}
	if b.Port <= 0 || b.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT=%d: want 1-65535", b.Port))
	}
	if b.IsProduction() && b.Debug {
		errs = append(errs, errors.New("DEBUG=true is refused when ENVIRONMENT=production"))
	}
	if b.ShutdownTimeout <= b.DrainDelay {
		errs = append(errs, fmt.Errorf("SHUTDOWN_TIMEOUT (%s) must exceed SHUTDOWN_DRAIN_DELAY (%s)", b.ShutdownTimeout, b.DrainDelay))
	}
	return errors.Join(errs...)
}

// Layers switches the three API layers on and off (edge routing, health).
type Layers struct {
	PublicEnabled bool `env:"PUBLIC_API_ENABLED" envDefault:"true"`
	AppEnabled    bool `env:"APP_API_ENABLED" envDefault:"true"`
	MCPEnabled    bool `env:"MCP_API_ENABLED" envDefault:"true"`
}

// CORS is the cross-origin policy, enforced at the edge.
type CORS struct {
	Origins          []string      `env:"CORS_ORIGINS" envSeparator:","`
	AllowCredentials bool          `env:"CORS_ALLOW_CREDENTIALS" envDefault:"true"`
	AllowMethods     []string      `env:"CORS_ALLOW_METHODS" envSeparator:"," envDefault:"GET,POST,PUT,PATCH,DELETE,OPTIONS"`
	AllowHeaders     []string      `env:"CORS_ALLOW_HEADERS" envSeparator:"," envDefault:"Authorization,Content-Type,X-API-Key,X-Request-ID,Idempotency-Key,Last-Event-ID,Mcp-Session-Id,Mcp-Protocol-Version,X-Timestamp,X-Signature"`
	MaxAge           time.Duration `env:"CORS_MAX_AGE" envDefault:"10m"`
}

// Validate refuses a wildcard origin together with credentials anywhere:
// browsers reject it and reflecting every origin instead would be unsafe.
func (c CORS) Validate() error {
	if c.AllowCredentials && slices.Contains(c.Origins, "*") {
		return errors.New("CORS_ORIGINS=* together with CORS_ALLOW_CREDENTIALS=true is refused: list the origins")
	}
	for _, o := range c.Origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("CORS_ORIGINS entry %q: want scheme://host[:port]", o)
		}
	}
	return nil
}

// Option adjusts Load.
type Option func(*loader)

type loader struct {
	defaults map[string]string
	environ  []string
	dotenv   string
}

// WithDefaults sets a service's own defaults (such as PORT); the profile,
// .env and the environment override them.
func WithDefaults(d map[string]string) Option {
	return func(l *loader) { l.defaults = d }
}

// WithEnviron replaces os.Environ (tests).
func WithEnviron(environ []string) Option { return func(l *loader) { l.environ = environ } }

// WithDotEnv reads this file instead of ./.env ("" disables it).
func WithDotEnv(path string) Option { return func(l *loader) { l.dotenv = path } }

// Load fills dst (a pointer to a struct) from service defaults, the
// ENVIRONMENT profile, .env and the process environment, in rising order of
// precedence, then validates it: tagged `prod:"required"` fields must be set
// in production, and dst's Validate method, when it has one, must pass.
func Load(dst any, opts ...Option) error {
	l := loader{environ: os.Environ(), dotenv: ".env"}
	for _, o := range opts {
		o(&l)
	}
	vars := map[string]string{}
	for _, kv := range l.environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	dot := map[string]string{}
	if l.dotenv != "" {
		if m, err := godotenv.Read(l.dotenv); err == nil {
			dot = m
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", l.dotenv, err)
		}
	}
	environment := Development
	if v, ok := dot["ENVIRONMENT"]; ok {
		environment = v
	}
	if v, ok := vars["ENVIRONMENT"]; ok {
		environment = v
	}
	merged := map[string]string{}
	for _, layer := range []map[string]string{l.defaults, profiles[environment], dot, vars} {
		for k, v := range layer {
			merged[k] = v
		}
	}
	if err := env.ParseWithOptions(dst, env.Options{Environment: merged}); err != nil {
		return nameVariables(dst, merged, err)
	}
	var errs []error
	if environment == Production {
		walk(reflect.ValueOf(dst).Elem(), func(f reflect.StructField, v reflect.Value) {
			if f.Tag.Get("prod") == "required" && v.IsZero() {
				errs = append(errs, fmt.Errorf("%s is required when ENVIRONMENT=production", f.Tag.Get("env")))
			}
		})
	}
	if val, ok := dst.(interface{ Validate() error }); ok {
		errs = append(errs, val.Validate())
	}
	return errors.Join(errs...)
}

// nameVariables rewrites env's parse errors, which name Go fields, so they
// name the variable and the value that was refused.
func nameVariables(dst any, vars map[string]string, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[string]string{}
	walk(reflect.ValueOf(dst).Elem(), func(f reflect.StructField, _ reflect.Value) {
		keys[f.Name] = strings.Split(f.Tag.Get("env"), ",")[0]
	})
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && keys[pe.Name] != "" {
			errs = append(errs, fmt.Errorf("%s=%q: %w", keys[pe.Name], vars[keys[pe.Name]], pe.Err))
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// walk calls fn for every field with an env tag, descending into embedded
// and nested structs.
func walk(v reflect.Value, fn func(reflect.StructField, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) && f.Tag.Get("env") == "" {
			walk(fv, fn)
			continue
		}
		if f.Tag.Get("env") != "" {
			fn(f, fv)
		}
	}
}

// LogAttrs lists every setting for the startup log, masking fields tagged
// `secret:"true"` and the password of those tagged `secret:"url"`.
func LogAttrs(cfg any) []slog.Attr {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	var attrs []slog.Attr
	walk(v, func(f reflect.StructField, fv reflect.Value) {
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		val := fmt.Sprint(fv.Interface())
		switch f.Tag.Get("secret") {
		case "true":
			val = Mask(val)
		case "url":
			val = MaskURL(val)
		}
		attrs = append(attrs, slog.String(name, val))
	})
	return attrs
}

// Mask hides a secret, telling only whether it is set.
func Mask(s string) string {
	if s == "" || s == "[]" || s == "map[]" {
		return ""
	}
	return "********"
}

// MaskURL hides the password in a URL such as a DATABASE_URL.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Mask(s)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
