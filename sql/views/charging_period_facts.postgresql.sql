-- charging_period_facts: one row per charging period (charging_periods has one per dimension),
-- with its end and duration, and one column per common dimension (a dimension sent twice in a
-- period is summed; other types stay in charging_periods). A period ends where the next one
-- starts, the last one at its session's end.
-- `f` groups by columns only (period_start is the grouping column start_date_time), so a filter
-- on session_id or period_start reaches charging_periods' indexes; the next period's start is
-- one primary-key lookup (ORDER BY period_index LIMIT 1), not a window over the whole table.
CREATE OR REPLACE VIEW charging_period_facts AS
SELECT
    f.session_id,
    f.period_index,
    f.period_start,
    f.period_end,
    extract(epoch FROM f.period_end - f.period_start) AS duration_s,
    f.energy_kwh,
    f.power_kw,
    f.current_a,
    f.state_of_charge_pct,
    f.parking_time_h,
    f.time_h,
    f.last_run_id
FROM (
    SELECT
        p.session_id,
        p.period_index,
        p.start_date_time AS period_start,
        coalesce(
            (
                SELECT n.start_date_time
                FROM charging_periods AS n
                WHERE n.session_id = p.session_id AND n.period_index > p.period_index
                ORDER BY n.period_index
                LIMIT 1
            ),
            s.end_datetime
        ) AS period_end,
        sum(p.volume) FILTER (WHERE p.dimension_type = 'ENERGY') AS energy_kwh,
        sum(p.volume) FILTER (WHERE p.dimension_type = 'POWER') AS power_kw,
        sum(p.volume) FILTER (WHERE p.dimension_type = 'CURRENT') AS current_a,
        sum(p.volume) FILTER (WHERE p.dimension_type = 'STATE_OF_CHARGE') AS state_of_charge_pct,
        sum(p.volume) FILTER (WHERE p.dimension_type = 'PARKING_TIME') AS parking_time_h,
        sum(p.volume) FILTER (WHERE p.dimension_type = 'TIME') AS time_h,
        max(p.last_run_id) AS last_run_id
    FROM charging_periods AS p
    LEFT JOIN sessions AS s ON s.id = p.session_id
    GROUP BY p.session_id, p.period_index, p.start_date_time, s.end_datetime
) AS f;
