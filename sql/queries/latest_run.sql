-- The latest run (syncer demo prints it).
SELECT * FROM sync_runs ORDER BY started_at DESC LIMIT 1
