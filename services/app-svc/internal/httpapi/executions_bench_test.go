package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/testkit"
)

// latencyPipeline pauses long enough for every watcher to connect, then
// produces its events live.
const latencyPipeline = `{"name": "latency", "nodes": [
  {"id": "s", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "w1", "name": "Settle", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.5}},
  {"id": "a", "name": "A", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"a": 1}}},
  {"id": "w2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.1}},
  {"id": "b", "name": "B", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"b": 2}}}],
 "connections": {
  "Start": {"main": [[{"node": "Settle", "type": "main", "index": 0}]]},
  "Settle": {"main": [[{"node": "A", "type": "main", "index": 0}]]},
  "A": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
  "Pause": {"main": [[{"node": "B", "type": "main", "index": 0}]]}}}`

// BenchmarkExecutionEventLatency is the time from the engine's publish
// (the event's JetStream store time) to its arrival at an SSE client, with
// 100 clients watching 10 running executions (10 each) through app-svc's
// HTTP server. Only live events count (stored after the client's stream
// opened), not the replay. Reported as p50-ms and p99-ms.
func BenchmarkExecutionEventLatency(b *testing.B) {
	const executionsPerRound, watchersEach = 10, 10
	bin := buildEngine(b)
	h := newExecHarness(b, testkit.NATSURL)
	app := h.instance(instanceOptions{})
	h.startEngine(b, bin)
	tok := h.token(uuid.New())
	wf := app.createWorkflow(tok, latencyPipeline)
	stream, err := h.js.Stream(context.Background(), h.cfg.Stream)
	if err != nil {
		b.Fatal(err)
	}

	type arrival struct {
		seq       uint64
		at, since time.Time
	}
	var mu sync.Mutex
	var arrivals []arrival
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for range executionsPerRound {
			id := app.execute(tok, wf, "", nil)
			for range watchersEach {
				wg.Go(func() {
					req, _ := http.NewRequest("GET", app.url+"/api/app/executions/"+id+"/events", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					r, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					defer r.Body.Close()
					opened := time.Now()
					br := bufio.NewReader(r.Body)
					var mine []arrival
					for {
						ev := readEvent(b, br)
						seq, _ := strconv.ParseUint(ev.ID, 10, 64)
						mine = append(mine, arrival{seq: seq, at: time.Now(), since: opened})
						if ev.Final() {
							break
						}
					}
					mu.Lock()
					arrivals = append(arrivals, mine...)
					mu.Unlock()
				})
			}
		}
		wg.Wait()
	}
	b.StopTimer()

	stored := map[uint64]time.Time{}
	var ms []float64
	for _, a := range arrivals {
		t, ok := stored[a.seq]
		if !ok {
			m, err := stream.GetMsg(context.Background(), a.seq)
			if err != nil {
				b.Fatal(err)
			}
			t, stored[a.seq] = m.Time, m.Time
		}
		if t.After(a.since) { // live, not replayed
			ms = append(ms, float64(a.at.Sub(t).Microseconds())/1000)
		}
	}
	if len(ms) == 0 {
		b.Fatal("no live events were measured")
	}
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], "p50-ms")
	b.ReportMetric(ms[len(ms)*99/100], "p99-ms")
	b.ReportMetric(float64(len(ms)), "events")
}
