-- Upsert the staged connectors under their own version (last_updated); $1 = synced_at, $3 = run id (last_run_id),
-- $2 = force. Same guard, NULL rules and key-ordered locking as pg_merge_locations.sql.
INSERT INTO connectors AS t (
    location_id, evse_uid, id, standard, format, power_type, tariff_id, voltage, amperage,
    max_electric_power, last_updated, synced_at, last_run_id
)
SELECT
    s.location_id, s.evse_uid, s.id, s.standard, s.format, s.power_type, s.tariff_id, s.voltage,
    s.amperage, s.max_electric_power, s.last_updated, $1::timestamptz, $3::text
FROM syncer_stage_connectors AS s
LEFT JOIN connectors AS c ON c.location_id = s.location_id AND c.evse_uid = s.evse_uid AND c.id = s.id
WHERE c.id IS NULL
    OR s.last_updated > c.last_updated
    OR ($2::boolean AND s.last_updated = c.last_updated)
    OR (c.last_updated IS NULL AND s.last_updated IS NOT NULL)
ORDER BY s.location_id, s.evse_uid, s.id
ON CONFLICT (location_id, evse_uid, id) DO UPDATE SET
    standard = excluded.standard,
    format = excluded.format,
    power_type = excluded.power_type,
    tariff_id = excluded.tariff_id,
    voltage = excluded.voltage,
    amperage = excluded.amperage,
    max_electric_power = excluded.max_electric_power,
    last_updated = excluded.last_updated,
    synced_at = excluded.synced_at,
    last_run_id = excluded.last_run_id
WHERE excluded.last_updated > t.last_updated
    OR ($2::boolean AND excluded.last_updated = t.last_updated)
    OR (t.last_updated IS NULL AND excluded.last_updated IS NOT NULL)
