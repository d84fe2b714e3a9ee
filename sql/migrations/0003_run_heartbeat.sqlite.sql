-- Version 3: run heartbeats and what ran (sync_runs).
ALTER TABLE sync_runs ADD COLUMN heartbeat_at DATETIME;
ALTER TABLE sync_runs ADD COLUMN syncer_version VARCHAR;
ALTER TABLE sync_runs ADD COLUMN gateway_url VARCHAR;
