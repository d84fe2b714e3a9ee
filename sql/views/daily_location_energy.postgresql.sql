-- daily_location_energy: per location, local calendar day (of the session's start, in the
-- location's IANA zone; NULL when the zone is unknown) and currency: sessions, kWh and revenue
-- (sums of the amounts rounded to the currency's minor unit). Built on session_facts.
CREATE OR REPLACE VIEW daily_location_energy AS
SELECT
    f.location_id,
    f.location_name,
    CAST(f.local_start_datetime AS date) AS local_date,
    f.currency,
    count(*) AS sessions,
    sum(f.kwh) AS kwh,
    sum(f.total_cost_rounded) AS revenue,
    sum(f.total_cost_incl_vat_rounded) AS revenue_incl_vat
FROM session_facts AS f
GROUP BY f.location_id, f.location_name, CAST(f.local_start_datetime AS date), f.currency;
