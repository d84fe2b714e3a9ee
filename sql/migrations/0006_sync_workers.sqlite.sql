-- Version 6: the registry of live workers sharing one gateway budget (--global-rate; unused on
-- SQLite, where one process runs at a time, but the schema is the same on both).
CREATE TABLE IF NOT EXISTS sync_workers (
    worker_id VARCHAR NOT NULL,
    run_id VARCHAR,
    host VARCHAR,
    pid INTEGER,
    started_at DATETIME,
    heartbeat_at DATETIME,
    expires_at DATETIME,
    PRIMARY KEY (worker_id)
);
