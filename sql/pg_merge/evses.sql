-- Upsert the staged EVSEs under their own version (last_updated); $1 = synced_at, $3 = run id (last_run_id), $2 = force.
-- Same guard, NULL rules and key-ordered locking as pg_merge_locations.sql.
INSERT INTO evses AS t (
    location_id, uid, gateway_id, evse_id, status, floor_level, physical_reference, capabilities,
    latitude, longitude, last_updated, synced_at, last_run_id
)
SELECT
    s.location_id, s.uid, s.gateway_id, s.evse_id, s.status, s.floor_level, s.physical_reference,
    s.capabilities, s.latitude, s.longitude, s.last_updated, $1::timestamptz, $3::text
FROM syncer_stage_evses AS s
LEFT JOIN evses AS c ON c.location_id = s.location_id AND c.uid = s.uid
WHERE c.uid IS NULL
    OR s.last_updated > c.last_updated
    OR ($2::boolean AND s.last_updated = c.last_updated)
    OR (c.last_updated IS NULL AND s.last_updated IS NOT NULL)
ORDER BY s.location_id, s.uid
ON CONFLICT (location_id, uid) DO UPDATE SET
    gateway_id = excluded.gateway_id,
    evse_id = excluded.evse_id,
    status = excluded.status,
    floor_level = excluded.floor_level,
    physical_reference = excluded.physical_reference,
    capabilities = excluded.capabilities,
    latitude = excluded.latitude,
    longitude = excluded.longitude,
    last_updated = excluded.last_updated,
    synced_at = excluded.synced_at,
    last_run_id = excluded.last_run_id
WHERE excluded.last_updated > t.last_updated
    OR ($2::boolean AND excluded.last_updated = t.last_updated)
    OR (t.last_updated IS NULL AND excluded.last_updated IS NOT NULL)
