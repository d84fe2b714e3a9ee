-- The stored versions of sessions a concurrent writer wrote first (pg_merge: classify again).
-- $1: the session ids.
SELECT id, last_updated FROM sessions WHERE id = ANY($1::text[])
