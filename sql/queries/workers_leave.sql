-- A worker that exits cleanly gives its share back at once instead of when it expires.
DELETE FROM sync_workers WHERE worker_id = :worker_id;
