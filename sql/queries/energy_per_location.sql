-- Energy and revenue per location: the demo's sample analyst query (PostgreSQL and SQLite).
-- Sessions join their location by the operator's location id (both stored lower case).
SELECT
    l.name                      AS location,
    l.city                      AS city,
    s.currency                  AS currency,
    count(*)                    AS sessions,
    sum(s.kwh)                  AS kwh,
    sum(s.total_cost)           AS revenue
FROM sessions AS s
JOIN locations AS l ON l.location_id = s.location_id
GROUP BY l.name, l.city, s.currency
ORDER BY kwh DESC
LIMIT :limit
