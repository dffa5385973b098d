-- Supabase compatibility. On Supabase the auth schema, auth.uid() and the
-- roles exist and belong to Supabase: create each only when missing, never
-- replace. On plain PostgreSQL this makes the same names behave the same way.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
  -- Checked first: a role without CREATEROLE is refused even for a role
  -- that exists. duplicate_object covers two databases migrating at once.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    BEGIN CREATE ROLE anon NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object THEN NULL; END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    BEGIN CREATE ROLE authenticated NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object THEN NULL; END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    BEGIN CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; EXCEPTION WHEN duplicate_object THEN NULL; END;
  END IF;
END
$$;
-- +goose StatementEnd

-- The role the service logs in as switches to these per transaction
-- (SET LOCAL ROLE), so it must be a member; a superuser already may.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT (pg_has_role(current_user, 'anon', 'MEMBER') AND pg_has_role(current_user, 'authenticated', 'MEMBER')
              AND pg_has_role(current_user, 'service_role', 'MEMBER')) THEN
    BEGIN
      EXECUTE format('GRANT anon, authenticated, service_role TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'role % must be a member of anon, authenticated and service_role: as a superuser run GRANT anon, authenticated, service_role TO %;', current_user, current_user;
    END;
  END IF;
END
$$;
-- +goose StatementEnd

CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

-- auth.uid(), auth.role(), auth.email() as Supabase defines them: the
-- legacy per-claim setting first, then the claims JSON PostgREST sets.
-- +goose StatementBegin
DO $$
BEGIN
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
  END IF;
  IF to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $f$;
  END IF;
  IF to_regprocedure('auth.email()') IS NULL THEN
    CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
      )::text
    $f$;
  END IF;
END
$$;
-- +goose StatementEnd
GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.email() TO anon, authenticated, service_role;

-- +goose Down
-- Roles and the auth schema may be shared with Supabase or other databases
-- of the cluster: they are left in place.
SELECT 1;
