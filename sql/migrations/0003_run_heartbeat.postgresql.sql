-- Version 3: run heartbeats and what ran (sync_runs).
ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS heartbeat_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS syncer_version VARCHAR;
ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS gateway_url VARCHAR;
