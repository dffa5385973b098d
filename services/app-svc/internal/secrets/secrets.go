// Package secrets is app-svc's name for pkg/secrets, which seals node
// credentials with AES-256-GCM under ENCRYPTION_KEY (the workflow-engine
// opens them with the same package).
package secrets

import "github.com/wfagent/gateway/pkg/secrets"

// KeySize is the length of an AES-256 key.
const KeySize = secrets.KeySize

// ErrUnreadable means a sealed value is malformed, or was sealed under
// another key or for another place.
var ErrUnreadable = secrets.ErrUnreadable

// Sealer seals and opens values. It is safe for concurrent use.
type Sealer = secrets.Sealer

// ParseKey reads a 32-byte key written as 64 hex characters or as base64.
func ParseKey(s string) ([]byte, error) { return secrets.ParseKey(s) }

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) { return secrets.NewSealer(key) }

// DevelopmentKey is the public development ENCRYPTION_KEY.
const DevelopmentKey = secrets.DevelopmentKey
