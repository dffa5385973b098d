package events

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Config names the stream, subjects and bucket and sets their retention.
// Services embed it in their configuration so both sides read the same
// variables; tests set unique names so they never share a stream.
type Config struct {
	Stream string `env:"EXEC_STREAM" envDefault:"EXECUTIONS"`
	// SubjectPrefix gives <prefix>.requests and <prefix>.events.<id>.
	SubjectPrefix string `env:"EXEC_SUBJECT_PREFIX" envDefault:"exec"`
	CancelBucket  string `env:"EXEC_CANCEL_BUCKET" envDefault:"EXEC_CANCELS"`

	MaxAge   time.Duration `env:"EXEC_STREAM_MAX_AGE" envDefault:"168h"`
	MaxBytes int64         `env:"EXEC_STREAM_MAX_BYTES" envDefault:"-1"`
	Replicas int           `env:"EXEC_STREAM_REPLICAS" envDefault:"1"`
	// Storage is file or memory.
	Storage         string        `env:"EXEC_STREAM_STORAGE" envDefault:"file"`
	DuplicateWindow time.Duration `env:"EXEC_DEDUP_WINDOW" envDefault:"2m"`
	// CancelTTL is how long a cancellation request is kept: longer than an
	// execution can wait in the stream and run.
	CancelTTL time.Duration `env:"EXEC_CANCEL_TTL" envDefault:"24h"`
}

// DefaultConfig is Config with the defaults of its env tags.
func DefaultConfig() Config {
	return Config{
		Stream: "EXECUTIONS", SubjectPrefix: "exec", CancelBucket: "EXEC_CANCELS",
		MaxAge: 7 * 24 * time.Hour, MaxBytes: -1, Replicas: 1, Storage: "file",
		DuplicateWindow: 2 * time.Minute, CancelTTL: 24 * time.Hour,
	}
}

var (
	nameRe    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	subjectRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// idRe keeps execution ids usable as one subject token, a KV key and
	// part of a message id.
	idRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// ErrInvalidExecutionID is returned for ids that cannot name a subject or key.
var ErrInvalidExecutionID = errors.New("events: execution id must be 1-128 characters of [A-Za-z0-9_-]")

func checkID(id string) error {
	if !idRe.MatchString(id) {
		return fmt.Errorf("%w: %q", ErrInvalidExecutionID, id)
	}
	return nil
}

// Validate names the variable that is wrong.
func (c Config) Validate() error {
	var errs []error
	if !nameRe.MatchString(c.Stream) {
		errs = append(errs, fmt.Errorf("EXEC_STREAM=%q: want 1-64 characters of [A-Za-z0-9_-]", c.Stream))
	}
	if !subjectRe.MatchString(c.SubjectPrefix) {
		errs = append(errs, fmt.Errorf("EXEC_SUBJECT_PREFIX=%q: want dot-separated tokens of [A-Za-z0-9_-]", c.SubjectPrefix))
	}
	if !nameRe.MatchString(c.CancelBucket) {
		errs = append(errs, fmt.Errorf("EXEC_CANCEL_BUCKET=%q: want 1-64 characters of [A-Za-z0-9_-]", c.CancelBucket))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("EXEC_STREAM_MAX_AGE=%s: want > 0 (events must expire)", c.MaxAge))
	}
	if c.MaxBytes == 0 || c.MaxBytes < -1 {
		errs = append(errs, fmt.Errorf("EXEC_STREAM_MAX_BYTES=%d: want -1 (unlimited) or > 0", c.MaxBytes))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("EXEC_STREAM_REPLICAS=%d: want 1-5", c.Replicas))
	}
	if c.Storage != "file" && c.Storage != "memory" {
		errs = append(errs, fmt.Errorf("EXEC_STREAM_STORAGE=%q: want file or memory", c.Storage))
	}
	if c.DuplicateWindow <= 0 || c.DuplicateWindow > c.MaxAge {
		errs = append(errs, fmt.Errorf("EXEC_DEDUP_WINDOW=%s: want > 0 and at most EXEC_STREAM_MAX_AGE", c.DuplicateWindow))
	}
	if c.CancelTTL <= 0 {
		errs = append(errs, fmt.Errorf("EXEC_CANCEL_TTL=%s: want > 0", c.CancelTTL))
	}
	return errors.Join(errs...)
}

// RequestSubject is where execution requests are published.
func (c Config) RequestSubject() string { return c.SubjectPrefix + ".requests" }

// EventSubject is where one execution's events are published.
func (c Config) EventSubject(executionID string) string {
	return c.SubjectPrefix + ".events." + executionID
}

// EventsWildcard matches every execution's events (app-svc's consumer).
func (c Config) EventsWildcard() string { return c.SubjectPrefix + ".events.>" }

// StreamConfig is the stream EnsureStream creates or updates.
func (c Config) StreamConfig() jetstream.StreamConfig {
	storage := jetstream.FileStorage
	if c.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:        c.Stream,
		Description: "Workflow executions: requests (app-svc → engine) and events (engine → app-svc, SSE replay)",
		Subjects:    []string{c.RequestSubject(), c.EventsWildcard()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		MaxMsgs:     -1,
		Discard:     jetstream.DiscardOld,
		Storage:     storage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
	}
}

// cancelBucketConfig is the cancellation bucket: one key per execution, no
// history (a repeated cancel changes nothing).
func (c Config) cancelBucketConfig() jetstream.KeyValueConfig {
	storage := jetstream.FileStorage
	if c.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	return jetstream.KeyValueConfig{
		Bucket:      c.CancelBucket,
		Description: "Cancellation requests of workflow executions, by execution id",
		History:     1,
		TTL:         c.CancelTTL,
		Storage:     storage,
		Replicas:    c.Replicas,
	}
}
