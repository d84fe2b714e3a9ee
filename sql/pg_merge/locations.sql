-- Upsert the staged locations under their own version (last_modified_date); $1 = synced_at,
-- $2 = force (equal versions rewrite too), $3 = the run id (last_run_id). The NULL rules of upsert.versioned_upsert: a stored
-- NULL version is overwritten by any non-NULL one; an incoming NULL never overwrites. The
-- SELECT applies the guard first, so rows that would not change are never locked or rewritten;
-- ON CONFLICT applies it again against the latest committed row. Rows are locked in key order.
INSERT INTO locations AS t (
    location_id, gateway_id, name, address, city, postal_code, country, country_code, party_id,
    type, operator_name, operator_website, cpo_id, cpo_resource_id, time_zone, latitude, longitude,
    rating, twentyfourseven, charging_when_closed, publish, created_date, last_modified_date,
    synced_at, time_zone_iana, last_run_id
)
SELECT
    s.location_id, s.gateway_id, s.name, s.address, s.city, s.postal_code, s.country,
    s.country_code, s.party_id, s.type, s.operator_name, s.operator_website, s.cpo_id,
    s.cpo_resource_id, s.time_zone, s.latitude, s.longitude, s.rating, s.twentyfourseven,
    s.charging_when_closed, s.publish, s.created_date, s.last_modified_date, $1::timestamptz,
    s.time_zone_iana, $3::text
FROM syncer_stage_locations AS s
LEFT JOIN locations AS c ON c.location_id = s.location_id
WHERE c.location_id IS NULL
    OR s.last_modified_date > c.last_modified_date
    OR ($2::boolean AND s.last_modified_date = c.last_modified_date)
    OR (c.last_modified_date IS NULL AND s.last_modified_date IS NOT NULL)
ORDER BY s.location_id
ON CONFLICT (location_id) DO UPDATE SET
    gateway_id = excluded.gateway_id,
    name = excluded.name,
    address = excluded.address,
    city = excluded.city,
    postal_code = excluded.postal_code,
    country = excluded.country,
    country_code = excluded.country_code,
    party_id = excluded.party_id,
    type = excluded.type,
    operator_name = excluded.operator_name,
    operator_website = excluded.operator_website,
    cpo_id = excluded.cpo_id,
    cpo_resource_id = excluded.cpo_resource_id,
    time_zone = excluded.time_zone,
    latitude = excluded.latitude,
    longitude = excluded.longitude,
    rating = excluded.rating,
    twentyfourseven = excluded.twentyfourseven,
    charging_when_closed = excluded.charging_when_closed,
    publish = excluded.publish,
    created_date = excluded.created_date,
    last_modified_date = excluded.last_modified_date,
    synced_at = excluded.synced_at,
    time_zone_iana = excluded.time_zone_iana,
    last_run_id = excluded.last_run_id
WHERE excluded.last_modified_date > t.last_modified_date
    OR ($2::boolean AND excluded.last_modified_date = t.last_modified_date)
    OR (t.last_modified_date IS NULL AND excluded.last_modified_date IS NOT NULL)
