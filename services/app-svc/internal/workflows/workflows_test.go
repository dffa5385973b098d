package workflows

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/pkg/secrets"
)

const withKey = `{"name": "w", "nodes": [
 {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
 {"id": "n2", "name": "Ask", "type": "AI_AGENT_NODE", "subtype": "OPENAI", "parameters": {"prompt": "hi"},
  "credentials": {"api_key": "sk-1"}}],
 "connections": {"Start": {"main": [[{"node": "Ask", "type": "main", "index": 0}]]}}}`

func parse(t *testing.T, s string) nodes.Workflow {
	t.Helper()
	var w nodes.Workflow
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func codec(t testing.TB) *Codec {
	s, err := secrets.NewSealer(bytes.Repeat([]byte{9}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return NewCodec(s)
}

func TestSealPresentReveal(t *testing.T) {
	c, id := codec(t), uuid.New()
	rec, err := c.Seal(id, parse(t, withKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.Nodes, []byte("sk-1")) || bytes.Contains(rec.Credentials, []byte("sk-1")) || bytes.Contains(rec.Nodes, []byte("credentials")) {
		t.Fatalf("credential in clear or left in nodes: %s %s", rec.Nodes, rec.Credentials)
	}
	shown, err := Present(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := shown.Nodes[1].Credentials["api_key"]; !isConfigured(got) || shown.Nodes[0].Credentials != nil {
		t.Fatalf("presented credentials %v / %v", got, shown.Nodes[0].Credentials)
	}
	if w, err := c.Reveal(id, rec); err != nil || w.Nodes[1].Credentials["api_key"] != "sk-1" {
		t.Fatalf("Reveal = %v, %v", w.Nodes[1].Credentials, err)
	}
	if _, err := c.Reveal(uuid.New(), rec); !errors.Is(err, secrets.ErrUnreadable) {
		t.Fatalf("credentials opened under another workflow id: %v", err)
	}

	prev, err := StoredCredentials(rec.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cred    any
		want    any // revealed afterwards
		problem string
	}{
		{"marker keeps", Configured(), "sk-1", ""},
		{"new value replaces", "sk-2", "sk-2", ""},
		{"object values are fine", map[string]any{"token": "t", "refresh": "r"}, map[string]any{"token": "t", "refresh": "r"}, ""},
		{"marker with nothing stored", Configured(), nil, "nodes[1].credentials.api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := shown
			next.Nodes = append([]nodes.Node(nil), shown.Nodes...)
			next.Nodes[1].Credentials = map[string]any{"api_key": tt.cred}
			p := prev
			if tt.problem != "" {
				p = nil
			}
			rec2, err := c.Seal(id, next, p)
			if tt.problem != "" {
				var ve *nodes.ValidationError
				if !errors.As(err, &ve) || ve.Problems[0].Field != tt.problem {
					t.Fatalf("err = %v, want a problem at %s", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Reveal(id, rec2)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := jsonOf(got.Nodes[1].Credentials["api_key"]), jsonOf(tt.want); a != b {
				t.Fatalf("revealed %s, want %s", a, b)
			}
		})
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSealValidates(t *testing.T) {
	_, err := codec(t).Seal(uuid.New(), parse(t, strings.Replace(withKey, "OPENAI", "NOPE", 1)), nil)
	if !errors.Is(err, nodes.ErrInvalidWorkflow) {
		t.Fatalf("err = %v, want a validation error", err)
	}
}

func TestPatchApply(t *testing.T) {
	base := parse(t, withKey)
	name, empty := "renamed", map[string]any{}
	got := Patch{Name: &name, Settings: &empty}.Apply(base)
	if got.Name != "renamed" || len(got.Nodes) != 2 || got.Connections == nil || got.Settings == nil {
		t.Fatalf("Apply = %+v", got)
	}
	if got := (Patch{}).Apply(base); got.Name != base.Name || len(got.Nodes) != len(base.Nodes) {
		t.Fatal("an empty patch changed the workflow")
	}
}
