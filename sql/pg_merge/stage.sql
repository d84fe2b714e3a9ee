-- The PostgreSQL fast path's staging tables (syncer/pg_merge.py), one per versioned table.
-- Temporary, so nothing in them is WAL-logged; created once per connection and kept (no
-- catalog churn per batch); ON COMMIT DELETE ROWS empties them at every commit, and the
-- DELETEs clear what an earlier merge in the same transaction left. Staged rows have no
-- key constraint: the batch is deduplicated before it is staged.
CREATE TEMP TABLE IF NOT EXISTS syncer_stage_sessions (LIKE sessions) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS syncer_stage_locations (LIKE locations) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS syncer_stage_evses (LIKE evses) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS syncer_stage_connectors (LIKE connectors) ON COMMIT DELETE ROWS;
DELETE FROM syncer_stage_sessions;
DELETE FROM syncer_stage_locations;
DELETE FROM syncer_stage_evses;
DELETE FROM syncer_stage_connectors;
