package nodes

import (
	"encoding/json"
	"testing"
)

// helloPipeline is DESIGN §6's example, verbatim: outside checks send exactly this.
const helloPipeline = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

func hello(t testing.TB) Workflow {
	t.Helper()
	var w Workflow
	if err := json.Unmarshal([]byte(helloPipeline), &w); err != nil {
		t.Fatalf("unmarshal hello pipeline: %v", err)
	}
	return w
}
