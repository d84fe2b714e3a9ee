-- PostgreSQL: add the ids in :ids as pending at :now, in one statement (the generic path sends a
-- row per id). Pending or leased ids are left as they are; done and failed ones are queued
-- again with a fresh attempt count. DISTINCT: an id twice in one statement would make ON
-- CONFLICT touch its row twice, which PostgreSQL refuses. ORDER BY id: rows locked in key order.
-- Result: (added, written); written - added ids were queued again, the rest were in the queue.
WITH incoming AS (
    SELECT DISTINCT unnest(CAST(:ids AS text[])) AS id
),
written AS (
    INSERT INTO sync_queue AS q (id, status, attempts, available_at, enqueued_at, updated_at)
    SELECT id, 'pending', 0, CAST(:now AS timestamptz), CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM incoming
    ORDER BY id
    ON CONFLICT (id) DO UPDATE SET
        status = 'pending',
        attempts = 0,
        available_at = excluded.available_at,
        leased_until = NULL,
        lease_token = NULL,
        last_error = NULL,
        last_error_kind = NULL,
        updated_at = excluded.updated_at
    WHERE q.status IN ('done', 'failed')
    RETURNING q.enqueued_at
)
SELECT count(*) FILTER (WHERE enqueued_at = CAST(:now AS timestamptz)) AS added, count(*) AS written
FROM written
