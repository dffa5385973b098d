package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Signature headers.
const (
	HeaderTimestamp = "X-Timestamp"
	HeaderSignature = "X-Signature"
)

// StringToSign is what a request signature covers, one item a line: the
// method, the path with its query exactly as sent (RequestURI), the Unix
// timestamp in seconds, and the hex SHA-256 of the body.
func StringToSign(method, requestURI string, timestamp int64, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.ToUpper(method) + "\n" + requestURI + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + hex.EncodeToString(sum[:])
}

// Sign returns the X-Signature value: hex HMAC-SHA256 of StringToSign.
func Sign(secret []byte, method, requestURI string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(StringToSign(method, requestURI, timestamp, body)))
	return hex.EncodeToString(m.Sum(nil))
}

// SignatureOptions configures a SignatureVerifier.
type SignatureOptions struct {
	// Window is how far X-Timestamp may be from now, either way (5 min).
	Window time.Duration
	// Required refuses unsigned requests; otherwise only requests that
	// carry a signature are checked.
	Required bool
	// MaxBody bounds the body read to hash it (default 1 MiB).
	MaxBody int64
	Logger  *slog.Logger
}

// SignatureVerifier checks HMAC request signatures and refuses replays.
type SignatureVerifier struct {
	secret []byte
	replay ReplayGuard
	o      SignatureOptions
	now    func() time.Time
}

// NewSignatureVerifier checks signatures made with secret (API_SECRET_KEY);
// replay remembers each accepted signature for twice the window.
func NewSignatureVerifier(secret string, replay ReplayGuard, o SignatureOptions) (*SignatureVerifier, error) {
	if len(secret) < 32 {
		return nil, errors.New("auth: API_SECRET_KEY must be at least 32 characters to verify signatures")
	}
	if replay == nil {
		return nil, errors.New("auth: signatures need a replay guard")
	}
	if o.Window <= 0 {
		o.Window = 5 * time.Minute
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &SignatureVerifier{secret: []byte(secret), replay: replay, o: o, now: time.Now}, nil
}

// Verify checks one request's signature. Errors wrap ErrMissingSignature,
// ErrSignatureExpired, ErrInvalidSignature, ErrSignatureReplayed or
// ErrReplayGuardUnavailable.
func (v *SignatureVerifier) Verify(ctx context.Context, method, requestURI, timestamp, signature string, body []byte) error {
	if timestamp == "" || signature == "" {
		return ErrMissingSignature
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Timestamp is not Unix seconds", ErrInvalidSignature)
	}
	if d := v.now().Sub(time.Unix(ts, 0)); d > v.o.Window || d < -v.o.Window {
		return ErrSignatureExpired
	}
	got, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(signature), "sha256="))
	if err != nil {
		return fmt.Errorf("%w: X-Signature is not hex", ErrInvalidSignature)
	}
	want, _ := hex.DecodeString(Sign(v.secret, method, requestURI, ts, body))
	if !hmac.Equal(got, want) {
		return ErrInvalidSignature
	}
	// Remember only signatures that verified, so forged requests cannot
	// fill the replay store.
	fresh, err := v.replay.Remember(ctx, "sig:"+hex.EncodeToString(want), 2*v.o.Window)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrReplayGuardUnavailable, err)
	case !fresh:
		return ErrSignatureReplayed
	}
	return nil
}

// Middleware verifies the signature of each request that has one (every
// request when Required), reading the body to hash it and putting it back
// for the handler.
func (v *SignatureVerifier) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		ts, sig := c.GetHeader(HeaderTimestamp), c.GetHeader(HeaderSignature)
		if ts == "" && sig == "" && !v.o.Required {
			c.Next()
			return
		}
		var body []byte
		var err error
		if c.Request.Body != nil {
			body, err = io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, v.o.MaxBody))
		}
		if err != nil {
			_ = c.Error(err)
			c.Abort()
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Verify(c.Request.Context(), c.Request.Method, c.Request.URL.RequestURI(), ts, sig, body); err != nil {
			v.o.Logger.InfoContext(c.Request.Context(), "request signature refused", "reason", err.Error())
			_ = c.Error(AppError(err))
			c.Abort()
			return
		}
		c.Next()
	}
}
