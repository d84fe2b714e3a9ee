-- Before the written sessions' new periods and raw documents are copied in: remove the old
-- ones ($1 = the written ids). Their session rows are already locked by this transaction's
-- upsert, so no other writer can be replacing the same children meanwhile.
WITH periods AS (
    DELETE FROM charging_periods WHERE session_id = ANY($1::text[])
)
DELETE FROM raw_sessions WHERE id = ANY($1::text[])
