-- `syncer grant analyst ROLE`: read access to the data tables, sync_runs (lineage) and the views,
-- nothing else; idempotent. Bound first in the same transaction (never formatted in):
-- syncer.grant_role = the role, syncer.grant_read = the relations to read, comma-separated (from the
-- data dictionary), syncer.grant_none = the worker's tables it must not read. Names are quoted by %I.
DO $$
DECLARE
    grantee text := current_setting('syncer.grant_role');
    rel text;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), grantee);
    FOREACH rel IN ARRAY string_to_array(current_setting('syncer.grant_read'), ',') LOOP
        EXECUTE format('REVOKE ALL ON %I FROM %I', rel, grantee);
        EXECUTE format('GRANT SELECT ON %I TO %I', rel, grantee);
    END LOOP;
    FOREACH rel IN ARRAY string_to_array(current_setting('syncer.grant_none'), ',') LOOP
        EXECUTE format('REVOKE ALL ON %I FROM %I', rel, grantee);
    END LOOP;
END $$;
