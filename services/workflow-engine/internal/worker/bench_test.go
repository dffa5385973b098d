package worker

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wfagent/gateway/pkg/events"
)

// threeNodes is a workflow without I/O: trigger, expressions, condition.
const threeNodes = `{"name": "bench", "nodes": [
  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "s", "name": "Total", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"total": "input.price * input.qty"}}},
  {"id": "c", "name": "Big?", "type": "FLOW_NODE", "subtype": "IF", "parameters": {"condition": "input.total > 100"}}],
 "connections": {"Start": {"main": [[{"node": "Total", "type": "main", "index": 0}]]}, "Total": {"main": [[{"node": "Big?", "type": "main", "index": 0}]]}}}`

// BenchmarkExecutions measures executions per second end to end (request
// published → execution_succeeded stored) with one and with two engines,
// each running up to 16 executions at once, against the local NATS server.
func BenchmarkExecutions(b *testing.B) {
	for _, engines := range []int{1, 2} {
		b.Run(fmt.Sprintf("engines=%d", engines), func(b *testing.B) {
			env := newEnv(b)
			for i := range engines {
				env.startEngine(b, engineOpts{name: fmt.Sprint(i), concurrency: 16})
			}
			nc := connect(b)
			defer nc.Close()
			var succeeded atomic.Int64
			all := make(chan struct{})
			target := int64(b.N)
			sub, err := nc.Subscribe(env.cfg.EventsWildcard(), func(m *nats.Msg) {
				if m.Header.Get(events.HeaderEventType) == "execution_succeeded" && succeeded.Add(1) == target {
					close(all)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Unsubscribe()
			inputs := map[string]any{"price": 12.5, "qty": 10}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				env.submit(b, fmt.Sprintf("b-%d", i), threeNodes, inputs)
			}
			select {
			case <-all:
			case <-time.After(2 * time.Minute):
				b.Fatalf("%d of %d executions finished", succeeded.Load(), b.N)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "executions/s")
		})
	}
}
