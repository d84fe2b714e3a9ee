-- Write the staged sessions that are new or strictly newer than the stored row ($2 = force:
-- or equal, for `syncer reprocess`), and report on every staged id. $1 = synced_at,
-- $3 = the run id every written row records as last_run_id.
--   staged:  each staged row with the version stored before this statement (NULL = new).
--   written: the upsert. Its SELECT leaves out rows that are not newer, so an unchanged rerun
--            touches (locks, rewrites, WAL-logs) no row at all; the ON CONFLICT guard repeats
--            the test against the latest committed row, for a concurrent writer that got there
--            between our snapshot and the insert. ORDER BY id: rows are locked in key order.
-- Result: (id, stored_version, written, inserted); a row not written although newer than
-- stored_version lost a race, and is classified again by the caller. `inserted` is what the
-- database did, not what the snapshot suggested: xmax = 0 on a row this statement inserted,
-- our own transaction id on one it updated (a concurrent writer inserted it after our snapshot:
-- counted updated, so two runs writing the same new ids add up to one insert per id).
WITH staged AS (
    SELECT s.*, t.last_updated AS stored_version
    FROM syncer_stage_sessions AS s
    LEFT JOIN sessions AS t ON t.id = s.id
),
written AS (
    INSERT INTO sessions AS t (
        id, cpo_session_id, country_code, party_id, location_id, evse_uid, connector_id, cpo_id,
        auth_id, auth_method, currency, status, start_datetime, end_datetime, created_date,
        last_modified_date, kwh, total_cost, total_cost_incl_vat, last_updated, synced_at,
        connector_uid, vendor_connector_ref, local_start_datetime, local_end_datetime, last_run_id
    )
    SELECT
        id, cpo_session_id, country_code, party_id, location_id, evse_uid, connector_id, cpo_id,
        auth_id, auth_method, currency, status, start_datetime, end_datetime, created_date,
        last_modified_date, kwh, total_cost, total_cost_incl_vat, last_updated, $1::timestamptz,
        connector_uid, vendor_connector_ref, local_start_datetime, local_end_datetime, $3::text
    FROM staged
    WHERE stored_version IS NULL
        OR last_updated > stored_version
        OR ($2::boolean AND last_updated = stored_version)
    ORDER BY id
    ON CONFLICT (id) DO UPDATE SET
        cpo_session_id = excluded.cpo_session_id,
        country_code = excluded.country_code,
        party_id = excluded.party_id,
        location_id = excluded.location_id,
        evse_uid = excluded.evse_uid,
        connector_id = excluded.connector_id,
        cpo_id = excluded.cpo_id,
        auth_id = excluded.auth_id,
        auth_method = excluded.auth_method,
        currency = excluded.currency,
        status = excluded.status,
        start_datetime = excluded.start_datetime,
        end_datetime = excluded.end_datetime,
        created_date = excluded.created_date,
        last_modified_date = excluded.last_modified_date,
        kwh = excluded.kwh,
        total_cost = excluded.total_cost,
        total_cost_incl_vat = excluded.total_cost_incl_vat,
        last_updated = excluded.last_updated,
        synced_at = excluded.synced_at,
        connector_uid = excluded.connector_uid,
        vendor_connector_ref = excluded.vendor_connector_ref,
        local_start_datetime = excluded.local_start_datetime,
        local_end_datetime = excluded.local_end_datetime,
        last_run_id = excluded.last_run_id
    WHERE excluded.last_updated > t.last_updated
        OR ($2::boolean AND excluded.last_updated = t.last_updated)
    RETURNING t.id, (t.xmax = 0) AS inserted
)
SELECT staged.id, staged.stored_version, written.id IS NOT NULL AS written, written.inserted
FROM staged
LEFT JOIN written ON written.id = staged.id
