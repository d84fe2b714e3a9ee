-- One worker's heartbeat (also its registration: a worker whose row was expired while it was
-- stalled comes back), the removal of workers that stopped beating, and the number of live
-- workers, in one round trip. Times come from the database's clock, so pods' clocks may differ.
-- The data-modifying CTEs and the final SELECT all see the table as it was before the
-- statement: the count takes the others that have not expired, plus this worker.
WITH expired AS (
    DELETE FROM sync_workers
    WHERE expires_at < clock_timestamp() AND worker_id <> :worker_id
), beat AS (
    INSERT INTO sync_workers (worker_id, run_id, host, pid, started_at, heartbeat_at, expires_at)
    VALUES (
        :worker_id, :run_id, :host, :pid, clock_timestamp(), clock_timestamp(),
        clock_timestamp() + make_interval(secs => :ttl_s)
    )
    ON CONFLICT (worker_id) DO UPDATE
    SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
)
SELECT 1 + count(*) AS live
FROM sync_workers
WHERE expires_at >= clock_timestamp() AND worker_id <> :worker_id;
