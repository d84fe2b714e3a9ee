-- `syncer grant writer ROLE`: what the worker needs and no DDL; idempotent. Bound first in the same
-- transaction: syncer.grant_role = the role, syncer.grant_read = every table (comma-separated),
-- syncer.grant_none = unused here. It reads and writes every table and their sequences, and may
-- create TEMPORARY tables (the COPY fast path stages in them); it gets no CREATE on the schema, so
-- `syncer migrate` (run by an owner) is the only DDL. Names are quoted by %I.
DO $$
DECLARE
    grantee text := current_setting('syncer.grant_role');
    rel text;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), grantee);
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), grantee);
    FOREACH rel IN ARRAY string_to_array(current_setting('syncer.grant_read'), ',') LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', rel, grantee);
    END LOOP;
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), grantee);
END $$;
