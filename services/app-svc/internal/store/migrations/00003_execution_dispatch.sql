-- What running an execution needs beyond 00002's record (issue 6):
--
-- * the snapshot the engine runs, so the sweeper re-publishes exactly what
--   was executed even when the workflow was edited meanwhile; it is the
--   workflows row's content with the credentials still sealed (the same
--   AES-GCM values, bound to the workflow id), revealed only in memory;
-- * the request id and W3C trace context of the execute call, which the
--   sweeper's re-publication carries on (it has no request of its own);
-- * when the sweeper last published it (re-publication is paced by it);
-- * the workflow version executed, for the history;
-- * the attempt and per-attempt sequence of the last event applied, so the
--   event consumer sees at once whether an event follows the last one or
--   whether earlier ones are still in flight on another replica.

-- +goose Up
ALTER TABLE workflow_executions
  ADD COLUMN workflow_version integer NOT NULL DEFAULT 0,
  ADD COLUMN workflow_snapshot jsonb,
  ADD COLUMN request_id text NOT NULL DEFAULT '',
  ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN published_at timestamptz,
  ADD COLUMN attempt integer NOT NULL DEFAULT 0,
  ADD COLUMN event_sequence bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE workflow_executions
  DROP COLUMN IF EXISTS event_sequence,
  DROP COLUMN IF EXISTS attempt,
  DROP COLUMN IF EXISTS published_at,
  DROP COLUMN IF EXISTS trace_context,
  DROP COLUMN IF EXISTS request_id,
  DROP COLUMN IF EXISTS workflow_snapshot,
  DROP COLUMN IF EXISTS workflow_version;
