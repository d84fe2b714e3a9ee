-- Version 2 (PostgreSQL; SQLite files keep what they have). Measured in bench/ (docs/benchmark.md):
-- charging_periods.session_id is no longer a declared foreign key: PostgreSQL checked it once per
-- period row (~50 per session), a third of the write's CPU. The write path keeps the relation by
-- construction: periods are written only in the transaction that wrote their session, and the
-- syncer never deletes sessions. The constraint's name comes from the catalog (quoted with %I).
DO $$
DECLARE
    fk text;
BEGIN
    FOR fk IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'charging_periods'::regclass
          AND confrelid = 'sessions'::regclass
          AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE charging_periods DROP CONSTRAINT %I', fk);
    END LOOP;
END $$;
