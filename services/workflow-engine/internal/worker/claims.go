package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A claim record per execution id, in the engine's KV bucket, is how a
// request delivered more than once (a redelivery after an engine died, a
// lost ack, the sweeper's re-publication after the duplicate window) never
// runs twice: creating the key is atomic, so one engine wins; it refreshes
// a heartbeat while it runs and marks the record done before acking.
//
//   - no record:            create it (attempt 1) and run;
//   - done:                 already finished, just ack;
//   - running, heartbeat
//     fresh (< AckWait·⅔):  another engine is on it: NAK with a delay;
//   - running but stale, or
//     released (handed back
//     at shutdown):         take it over with a compare-and-set
//     (attempt + 1) and run it again from the trigger, unless the attempts
//     are used up: then it is marked failed.
const (
	stateRunning  = "running"
	stateDone     = "done"
	stateReleased = "released"
)

type claimRecord struct {
	Engine    string `json:"engine"`
	State     string `json:"state"`
	Attempt   uint32 `json:"attempt"`
	Heartbeat int64  `json:"heartbeat_ms"`
}

type decision int

const (
	own       decision = iota + 1 // run it
	finished                      // done before: ack
	busy                          // someone else runs it: NAK with delay
	exhausted                     // too many attempts: fail it
)

// claim is this engine's hold on one execution.
type claim struct {
	kv  jetstream.KeyValue
	key string
	rec claimRecord
	rev uint64
}

var errClaimLost = errors.New("claim taken over by another engine")

func encode(r claimRecord) []byte {
	b, _ := json.Marshal(r)
	return b
}

// acquire decides what to do with a delivered request.
func (w *Worker) acquire(ctx context.Context, id string) (*claim, decision, error) {
	for range 3 {
		rec := claimRecord{Engine: w.o.InstanceID, State: stateRunning, Attempt: 1, Heartbeat: time.Now().UnixMilli()}
		rev, err := w.claims.Create(ctx, id, encode(rec))
		if err == nil {
			return &claim{kv: w.claims, key: id, rec: rec, rev: rev}, own, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, 0, fmt.Errorf("claim %s: %w", id, err)
		}
		e, err := w.claims.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired in between: try to create again
		}
		if err != nil {
			return nil, 0, fmt.Errorf("claim %s: %w", id, err)
		}
		var cur claimRecord
		if err := json.Unmarshal(e.Value(), &cur); err != nil {
			cur = claimRecord{State: stateReleased} // unreadable: treat as handed back
		}
		// A live engine refreshes its claim every AckWait/3; a redelivery
		// comes AckWait after the last in-progress signal, which went out
		// with the last refresh. Two thirds keeps clear of both.
		stale := time.Since(time.UnixMilli(cur.Heartbeat)) > w.o.AckWait*2/3
		switch {
		case cur.State == stateDone:
			return nil, finished, nil
		case cur.State == stateRunning && !stale:
			return nil, busy, nil
		}
		next := claimRecord{Engine: w.o.InstanceID, State: stateRunning, Attempt: cur.Attempt + 1, Heartbeat: time.Now().UnixMilli()}
		if int(next.Attempt) > w.o.MaxAttempts {
			next.State = stateDone
		}
		rev, err = w.claims.Update(ctx, id, encode(next), e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, busy, nil // another engine took it over first
		}
		if err != nil {
			return nil, 0, fmt.Errorf("claim %s: %w", id, err)
		}
		c := &claim{kv: w.claims, key: id, rec: next, rev: rev}
		if next.State == stateDone {
			return c, exhausted, nil
		}
		return c, own, nil
	}
	return nil, busy, nil
}

// heartbeat refreshes the claim; errClaimLost when another engine took it.
func (c *claim) heartbeat(ctx context.Context) error {
	c.rec.Heartbeat = time.Now().UnixMilli()
	rev, err := c.kv.Update(ctx, c.key, encode(c.rec), c.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return errClaimLost
	}
	if err != nil {
		return err
	}
	c.rev = rev
	return nil
}

// settle marks the claim done (finished: never run again) or released
// (handed back: the next delivery takes it over at once).
func (c *claim) settle(ctx context.Context, state string) error {
	c.rec.State, c.rec.Heartbeat = state, time.Now().UnixMilli()
	rev, err := c.kv.Update(ctx, c.key, encode(c.rec), c.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return errClaimLost
	}
	if err == nil {
		c.rev = rev
	}
	return err
}
