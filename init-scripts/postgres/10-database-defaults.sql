-- First boot only (the postgres image runs /docker-entrypoint-initdb.d/* on an empty volume;
-- `make run` applies the same files when it creates .data/postgres). Schema lives in Alembic.

-- Timestamps are stored as timestamptz; UTC keeps psql output and logs unambiguous.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'UTC');
    -- A session stuck in an open transaction holds locks and a pool slot; end it.
    EXECUTE format(
        'ALTER DATABASE %I SET idle_in_transaction_session_timeout TO %L',
        current_database(), '60s'
    );
END
$$;

-- Nobody but the owner creates objects in the public schema (PostgreSQL 15+ default, explicit).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
