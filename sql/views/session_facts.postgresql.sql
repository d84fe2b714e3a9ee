-- session_facts: one row per session with its place, the connector used, local times, and
-- money rounded to the currency's minor unit (ISO 4217: JPY 0, BHD 3, most 2; an unknown or
-- missing currency rounds to 2) beside the exact value. Columns: docs/warehouse.md.
-- The connector joins only through sessions.connector_uid (null when the document did not say
-- which connector was used: no wrong join). max_power_kw: max_electric_power (W), else
-- voltage x amperage (x 3 phases for AC_3_PHASE, OCPI's voltage being line to neutral), in kW. The subquery `s` computes the minor unit once.
-- PostgreSQL: CREATE OR REPLACE keeps the grants analysts were given (columns are only appended).
CREATE OR REPLACE VIEW session_facts AS
SELECT
    s.id AS session_id,
    s.cpo_session_id,
    s.status,
    s.location_id,
    l.name AS location_name,
    l.city,
    l.country_code,
    s.evse_uid,
    e.evse_id,
    s.connector_uid,
    c.power_type,
    c.standard,
    c.max_electric_power AS max_electric_power,
    round(
        coalesce(
            c.max_electric_power,
            c.voltage * c.amperage * CASE WHEN c.power_type = 'AC_3_PHASE' THEN 3 ELSE 1 END
        ) / 1000,
        3
    ) AS max_power_kw,
    l.time_zone_iana AS time_zone,
    s.start_datetime,
    s.end_datetime,
    s.local_start_datetime,
    s.local_end_datetime,
    extract(epoch FROM s.end_datetime - s.start_datetime) AS duration_s,
    s.kwh AS kwh,
    s.currency,
    s.minor_unit AS currency_minor_unit,
    s.total_cost AS total_cost,
    round(s.total_cost, s.minor_unit) AS total_cost_rounded,
    s.total_cost_incl_vat AS total_cost_incl_vat,
    round(s.total_cost_incl_vat, s.minor_unit) AS total_cost_incl_vat_rounded,
    round(s.total_cost / nullif(s.kwh, 0), 4) AS price_per_kwh,
    s.last_updated,
    s.synced_at,
    s.last_run_id
FROM (
    SELECT
        sessions.*,
        CASE upper(sessions.currency)
            WHEN 'BHD' THEN 3 WHEN 'IQD' THEN 3 WHEN 'JOD' THEN 3 WHEN 'KWD' THEN 3 WHEN 'LYD' THEN 3
            WHEN 'OMR' THEN 3 WHEN 'TND' THEN 3
            WHEN 'BIF' THEN 0 WHEN 'CLP' THEN 0 WHEN 'DJF' THEN 0 WHEN 'GNF' THEN 0 WHEN 'ISK' THEN 0
            WHEN 'JPY' THEN 0 WHEN 'KMF' THEN 0 WHEN 'KRW' THEN 0 WHEN 'PYG' THEN 0 WHEN 'RWF' THEN 0
            WHEN 'UGX' THEN 0 WHEN 'VND' THEN 0 WHEN 'VUV' THEN 0 WHEN 'XAF' THEN 0 WHEN 'XOF' THEN 0
            WHEN 'XPF' THEN 0
            ELSE 2
        END AS minor_unit
    FROM sessions
) AS s
LEFT JOIN locations AS l ON l.location_id = s.location_id
LEFT JOIN evses AS e ON e.location_id = s.location_id AND e.uid = s.evse_uid
LEFT JOIN connectors AS c
    ON c.location_id = s.location_id AND c.evse_uid = s.evse_uid AND c.id = s.connector_uid;
