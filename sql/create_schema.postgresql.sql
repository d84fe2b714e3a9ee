-- `--db-schema`: create the schema every table goes in, when missing. The name comes bound
-- (set_config('syncer.db_schema', :schema, true) in the same transaction) and is quoted by %I.
DO $$
BEGIN
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', current_setting('syncer.db_schema'));
END $$;
