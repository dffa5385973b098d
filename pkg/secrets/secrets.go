// Package secrets seals small values (node credentials) with AES-256-GCM
// under ENCRYPTION_KEY. A sealed value is "v1." followed by the base64url
// of a random 96-bit nonce and the ciphertext with its tag; the associated
// data binds it to where it is stored, so a value copied into another
// workflow, node or field does not open.
//
// app-svc seals node credentials at rest and hands them to the engine
// still sealed, each as {"sealed": "v1.…"} (Wrap) in the execution
// request's workflow; only the workflow-engine opens them (Unwrap, Open
// with CredentialAAD), in memory, right before it runs the node.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

const version = "v1."

// DevelopmentKey is the development ENCRYPTION_KEY that deploy/devstack
// hands to the local stack. It is public: services refuse it when
// ENVIRONMENT=production.
const DevelopmentKey = "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="

// ErrUnreadable means a sealed value is malformed, or was sealed under
// another key or for another place.
var ErrUnreadable = errors.New("secrets: sealed value cannot be opened")

// ParseKey reads a 32-byte key written as 64 hex characters or as base64
// (standard or URL alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes as 64 hex characters or base64 (e.g. openssl rand -base64 32)", KeySize)
}

// Sealer seals and opens values. It is safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(plaintext, aad []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return version + base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, aad)), nil
}

// Open decrypts a value Seal produced with the same aad.
func (s *Sealer) Open(sealed string, aad []byte) ([]byte, error) {
	body, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return nil, ErrUnreadable
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, ErrUnreadable
	}
	n := s.aead.NonceSize()
	out, err := s.aead.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, ErrUnreadable
	}
	return out, nil
}

// CredentialAAD binds a sealed node credential to its workflow, node and
// field. It is part of the stored format: changing it makes every stored
// credential unreadable.
func CredentialAAD(workflowID, nodeID, field string) []byte {
	return []byte("wfagent/workflow/" + workflowID + "/node/" + strconv.Quote(nodeID) + "/credential/" + strconv.Quote(field))
}

// sealedKey is the one key of a wrapped sealed value.
const sealedKey = "sealed"

// Wrap is how a sealed credential travels in an execution request's
// workflow: {"sealed": "v1.…"}, in place of the value in clear.
func Wrap(sealed string) map[string]any { return map[string]any{sealedKey: sealed} }

// Unwrap returns the sealed value of a credential Wrap made (as decoded
// from JSON); ok is false for anything else, such as a value in clear.
func Unwrap(v any) (sealed string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", false
	}
	sealed, ok = m[sealedKey].(string)
	return sealed, ok && strings.HasPrefix(sealed, version)
}
