// Package events is the executions contract over NATS JetStream that app-svc
// and the workflow-engine share (DESIGN §1, §6): the stream and the
// cancellation bucket, created idempotently by whichever service starts
// first; the subjects; publishing requests and events as protobuf
// (proto/events/v1) with their headers; decoding them; and cancellation.
//
// Subjects, in the stream EXECUTIONS:
//
//	exec.requests              app-svc → engine, one ExecutionRequest per execution
//	exec.events.<execution_id> engine → app-svc, ExecutionEvents of that execution
//
// Retention. One stream holds both subjects (issue 6), and its consumers
// rule out the two "consume once" policies: a work-queue stream refuses
// consumers whose subjects overlap, and the events are read by app-svc's
// durable consumer and again by every SSE client replaying an execution;
// interest retention would delete an event as soon as the durable consumer
// acked it, so a later replay (Last-Event-ID, a second tab) would find
// nothing. The stream therefore keeps messages by limits: MaxAge
// (EXEC_STREAM_MAX_AGE, default 7 days) bounds how long events can be
// replayed over SSE — after that the execution row in PostgreSQL is the
// history — and an optional MaxBytes caps the disk. Requests age out with
// the same MaxAge; once acked they are history nobody reads, and an
// unacked request is not lost to age while the engine is down for less than
// MaxAge, and even then app-svc's sweeper publishes it again. Per-subject
// TTLs (NATS 2.11 message TTLs) would let requests go sooner but the local
// and CI server is NATS 2.9, so the package does not depend on them; should
// request volume ever matter, the split is a work-queue stream of its own
// for exec.requests, hidden behind Config.RequestSubject.
//
// De-duplication: a request's Nats-Msg-Id is its execution id, so the
// sweeper's re-publications inside the duplicate window (EXEC_DEDUP_WINDOW)
// are dropped by JetStream; later ones reach the engine, which runs an
// execution at most once per attempt through its own claim records. An
// event's Nats-Msg-Id is <execution_id>.<attempt>.<sequence>.
//
// What each side calls:
//
//	app-svc    Open at startup; PublishRequest on execute and in the sweeper
//	           (same execution id, stored TraceContext); RequestCancel;
//	           a durable consumer from Config.EventsConsumerConfig, each
//	           message through DecodeEvent and applied when its StreamSeq is
//	           above last_event_seq; for SSE, ExecutionEvents(id, Last-Event-ID)
//	           and SSEData, with StreamSeq as the SSE id.
//	engine     Open; DecodeRequest; PublishEvent; Canceled and WatchCancels;
//	           EnsureBucket for its own claim records.
//
// Cancellation: RequestCancel writes the execution id into the KV bucket
// EXEC_CANCELS; every engine replica watches it (WatchCancels) and checks it
// (Canceled) before starting a queued execution.
package events
