-- The App layer's data (DESIGN §5). Every user table has row level security
-- enabled and forced; policies compare user_id with (select auth.uid()) so
-- the function runs once per statement, not once per row, and each policy
-- has an index behind it.

-- +goose Up
CREATE TABLE sessions (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id            uuid NOT NULL DEFAULT auth.uid(),
  action             text NOT NULL DEFAULT 'create' CHECK (action IN ('create', 'edit', 'copy')),
  source_workflow_id uuid,
  meta_data          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- edit and copy start from a workflow (app-svc requires it at creation);
  -- the reference is cleared, not the session, when that workflow is deleted.
  CHECK (action <> 'create' OR source_workflow_id IS NULL)
);
CREATE INDEX sessions_user_created ON sessions (user_id, created_at DESC, id DESC);

CREATE TABLE chat_messages (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL DEFAULT auth.uid(),
  role       text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content    text NOT NULL,
  sequence   integer NOT NULL CHECK (sequence > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (session_id, sequence)
);
CREATE INDEX chat_messages_user ON chat_messages (user_id);

CREATE TABLE workflow_states (
  session_id uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL DEFAULT auth.uid(),
  stage      text NOT NULL,
  state      jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_states_user ON workflow_states (user_id);

CREATE TABLE workflows (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL DEFAULT auth.uid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '',
  nodes       jsonb NOT NULL DEFAULT '[]'::jsonb,
  connections jsonb NOT NULL DEFAULT '{}'::jsonb,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Node credentials, AES-256-GCM under ENCRYPTION_KEY: node id → field →
  -- sealed value. nodes never holds them.
  credentials jsonb NOT NULL DEFAULT '{}'::jsonb,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_user_updated ON workflows (user_id, updated_at DESC, id DESC);

ALTER TABLE sessions
  ADD CONSTRAINT sessions_source_workflow_fk FOREIGN KEY (source_workflow_id) REFERENCES workflows (id) ON DELETE SET NULL;
-- Behind the ON DELETE SET NULL when a workflow goes.
CREATE INDEX sessions_source_workflow ON sessions (source_workflow_id) WHERE source_workflow_id IS NOT NULL;

CREATE TABLE workflow_executions (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workflow_id     uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  user_id         uuid NOT NULL DEFAULT auth.uid(),
  status          text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'running', 'success', 'error', 'canceled')),
  inputs          jsonb NOT NULL DEFAULT '{}'::jsonb,
  result          jsonb,
  node_results    jsonb NOT NULL DEFAULT '{}'::jsonb,
  error           text,
  idempotency_key text,
  started_at      timestamptz,
  finished_at     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_event_seq  bigint NOT NULL DEFAULT 0
);
CREATE INDEX workflow_executions_workflow_created ON workflow_executions (workflow_id, created_at DESC, id DESC);
CREATE INDEX workflow_executions_user ON workflow_executions (user_id);
CREATE INDEX workflow_executions_new ON workflow_executions (created_at) WHERE status = 'new';
CREATE UNIQUE INDEX workflow_executions_idempotency ON workflow_executions (user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid,
  client_name  text NOT NULL CHECK (length(client_name) BETWEEN 1 AND 100),
  key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  prefix       text NOT NULL,
  scopes       text[] NOT NULL DEFAULT '{}',
  tier         text NOT NULL DEFAULT 'standard',
  active       boolean NOT NULL DEFAULT true,
  expires_at   timestamptz,
  last_used_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at DESC, id DESC);

-- Row level security: enabled and forced (so even the table owner obeys).
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_messages FORCE ROW LEVEL SECURITY;
ALTER TABLE workflow_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_states FORCE ROW LEVEL SECURITY;
ALTER TABLE workflows ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflows FORCE ROW LEVEL SECURITY;
ALTER TABLE workflow_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_executions FORCE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY sessions_owner ON sessions FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (user_id = (SELECT auth.uid())
    AND (source_workflow_id IS NULL OR EXISTS (SELECT 1 FROM workflows w WHERE w.id = source_workflow_id)));

-- Children also require a parent the user can see (the parent's own
-- policy filters that sub-select), so nobody attaches rows to another's.
CREATE POLICY chat_messages_owner ON chat_messages FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (user_id = (SELECT auth.uid()) AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = session_id));

CREATE POLICY workflow_states_owner ON workflow_states FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (user_id = (SELECT auth.uid()) AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = session_id));

CREATE POLICY workflows_owner ON workflows FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (user_id = (SELECT auth.uid()));

CREATE POLICY workflow_executions_owner ON workflow_executions FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (user_id = (SELECT auth.uid()) AND EXISTS (SELECT 1 FROM workflows w WHERE w.id = workflow_id));

CREATE POLICY api_keys_owner ON api_keys FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (user_id = (SELECT auth.uid()));

-- Minimal grants. Users never read key hashes; execution status is written
-- by the service role from engine events, users only create and read runs.
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, chat_messages, workflow_states, workflows TO authenticated;
GRANT SELECT, INSERT ON workflow_executions TO authenticated;
GRANT SELECT (id, user_id, client_name, prefix, scopes, tier, active, expires_at, last_used_at, created_at),
      INSERT (user_id, client_name, key_hash, prefix, scopes, tier, expires_at),
      UPDATE (active)
  ON api_keys TO authenticated;
GRANT DELETE ON api_keys TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, chat_messages, workflow_states, workflows,
      workflow_executions, api_keys TO service_role;

-- mcp-svc verifies keys without any table access: it may only call this,
-- which returns the one active row matching a SHA-256 hash.
-- +goose StatementBegin
CREATE FUNCTION api_key_by_hash(p_hash bytea)
RETURNS TABLE (id uuid, user_id uuid, client_name text, prefix text, scopes text[], tier text, active boolean,
               expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $f$
  SELECT k.id, k.user_id, k.client_name, k.prefix, k.scopes, k.tier, k.active, k.expires_at
  FROM api_keys k WHERE k.key_hash = p_hash
$f$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION api_key_by_hash(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_by_hash(bytea) TO anon, service_role;

-- Batched last-use stamps from mcp-svc (one write per key per interval).
-- +goose StatementBegin
CREATE FUNCTION api_keys_touch(p_ids uuid[], p_at timestamptz)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
  UPDATE api_keys SET last_used_at = greatest(coalesce(last_used_at, p_at), p_at) WHERE id = ANY (p_ids)
$f$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION api_keys_touch(uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_keys_touch(uuid[], timestamptz) TO anon, service_role;

-- The two functions run as their owner, the migrating role. A superuser or
-- BYPASSRLS owner (local PostgreSQL, Supabase's postgres) reads past the
-- forced policies; any other owner gets a policy of its own on api_keys,
-- which costs nothing: an owner can switch RLS off anyway.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY api_keys_definer ON api_keys FOR ALL TO %I USING (true) WITH CHECK (true)', current_user);
  END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS api_keys_touch(uuid[], timestamptz);
DROP FUNCTION IF EXISTS api_key_by_hash(bytea);
DROP TABLE IF EXISTS api_keys, workflow_executions, workflow_states, chat_messages, sessions, workflows CASCADE;
