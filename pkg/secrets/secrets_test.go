package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, KeySize)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"hex", hex.EncodeToString(key), true},
		{"base64", base64.StdEncoding.EncodeToString(key), true},
		{"base64 unpadded", base64.RawStdEncoding.EncodeToString(key), true},
		{"base64url", base64.URLEncoding.EncodeToString(key), true},
		{"surrounding space", " " + hex.EncodeToString(key) + "\n", true},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), false},
		{"a passphrase", "correct horse battery staple", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if tt.ok != (err == nil) || (tt.ok && !bytes.Equal(got, key)) {
				t.Fatalf("ParseKey = %x, %v", got, err)
			}
		})
	}
}

func TestSealAndOpen(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{2}, KeySize))
	sealed, err := s.Seal([]byte("sk-secret"), []byte("here"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Seal([]byte("sk-secret"), []byte("here"))
	if sealed == again || strings.Contains(sealed, "sk-secret") || !strings.HasPrefix(sealed, "v1.") {
		t.Fatalf("sealed %q (again %q)", sealed, again)
	}
	if got, err := s.Open(sealed, []byte("here")); err != nil || string(got) != "sk-secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	tests := []struct {
		name   string
		sealer *Sealer
		value  string
		aad    string
	}{
		{"another place", s, sealed, "elsewhere"},
		{"another key", other, sealed, "here"},
		{"tampered", s, string(tampered), "here"},
		{"not sealed", s, "sk-secret", "here"},
		{"truncated", s, sealed[:10], "here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.sealer.Open(tt.value, []byte(tt.aad)); !errors.Is(err, ErrUnreadable) {
				t.Fatalf("err = %v, want ErrUnreadable", err)
			}
		})
	}
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
}

// TestCredentialAADIsStable pins the associated data of stored credentials:
// a change would make every stored credential unreadable.
func TestCredentialAADIsStable(t *testing.T) {
	got := string(CredentialAAD("0b0c9d8e-1f2a-4b3c-8d4e-5f6a7b8c9d0e", `n"1`, "api_key"))
	want := `wfagent/workflow/0b0c9d8e-1f2a-4b3c-8d4e-5f6a7b8c9d0e/node/"n\"1"/credential/"api_key"`
	if got != want {
		t.Fatalf("CredentialAAD = %s, want %s", got, want)
	}
}

func TestWrapUnwrap(t *testing.T) {
	s, _ := NewSealer(bytes.Repeat([]byte{1}, KeySize))
	sealed, err := s.Seal([]byte(`"sk-secret"`), CredentialAAD("w", "n", "api_key"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(Wrap(sealed))
	if err != nil {
		t.Fatal(err)
	}
	var wrapped any
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     any
		want   string
		wantOK bool
	}{
		{"wrapped, through JSON", wrapped, sealed, true},
		{"wrapped", Wrap(sealed), sealed, true},
		{"clear string", "sk-secret", "", false},
		{"sealed but not wrapped", sealed, "", false},
		{"another object", map[string]any{"sealed": sealed, "x": 1}, "", false},
		{"not a sealed value", map[string]any{"sealed": "sk-secret"}, "", false},
		{"nil", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Unwrap(tt.in)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Fatalf("Unwrap = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
