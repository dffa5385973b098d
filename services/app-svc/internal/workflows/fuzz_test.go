package workflows

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/nodes"
)

// FuzzSeal feeds arbitrary workflow JSON through what a create does:
// Seal either refuses it with a validation error or stores something that
// reads back (Present) and seals again (marker round trip) to the same
// nodes. The seeds run in every `go test`.
func FuzzSeal(f *testing.F) {
	for _, s := range []string{
		withKey,
		`{"name": "x", "nodes": []}`,
		`{"name": "c", "nodes": [{"id": "a", "name": "A", "type": "TRIGGER_NODE", "subtype": "MANUAL"},
		  {"id": "b", "name": "B", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 1}}],
		  "connections": {"A": {"main": [[{"node": "B", "type": "main", "index": 0}]]}, "B": {"main": [[{"node": "B", "type": "main", "index": 0}]]}}}`,
		`{"name": "k", "nodes": [{"id": "a", "name": "A", "type": "TRIGGER_NODE", "subtype": "EMAIL", "credentials": {"password": {"configured": true}}}]}`,
	} {
		f.Add([]byte(s))
	}
	c := codec(f)
	id := uuid.MustParse("11111111-2222-4333-8444-555555555555")
	f.Fuzz(func(t *testing.T, data []byte) {
		var w nodes.Workflow
		if json.Unmarshal(data, &w) != nil {
			return
		}
		rec, err := c.Seal(id, w, nil)
		if err != nil {
			if !errors.Is(err, nodes.ErrInvalidWorkflow) {
				t.Fatalf("Seal: unexpected error kind %v", err)
			}
			return
		}
		shown, err := Present(rec)
		if err != nil {
			t.Fatalf("Present of a sealed record: %v", err)
		}
		prev, err := StoredCredentials(rec.Credentials)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Seal(id, shown, prev)
		if err != nil {
			t.Fatalf("re-sealing what was shown: %v", err)
		}
		a, _ := Present(again)
		if !reflect.DeepEqual(a.Nodes, shown.Nodes) {
			t.Fatalf("round trip changed the nodes")
		}
	})
}
