-- Version 6: the registry of live workers sharing one gateway budget (--global-rate).
CREATE TABLE IF NOT EXISTS sync_workers (
    worker_id VARCHAR NOT NULL,
    run_id VARCHAR,
    host VARCHAR,
    pid INTEGER,
    started_at TIMESTAMP WITH TIME ZONE,
    heartbeat_at TIMESTAMP WITH TIME ZONE,
    expires_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (worker_id)
);
