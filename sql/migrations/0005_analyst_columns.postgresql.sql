-- Version 5: what analysts join and filter on (docs/warehouse.md). The connector a session used
-- and the vendor's connectorId under an honest name, local wall-clock times, the IANA time zone,
-- the run that last wrote each data row, and an index for periods by time. Old rows keep NULL in
-- the new columns until they are written again (`syncer reprocess` rewrites them all).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS connector_uid VARCHAR;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS vendor_connector_ref VARCHAR;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS local_start_datetime TIMESTAMP WITHOUT TIME ZONE;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS local_end_datetime TIMESTAMP WITHOUT TIME ZONE;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
UPDATE sessions SET vendor_connector_ref = connector_id WHERE vendor_connector_ref IS NULL AND connector_id IS NOT NULL;
ALTER TABLE charging_periods ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
CREATE INDEX IF NOT EXISTS charging_periods_start ON charging_periods (start_date_time);
ALTER TABLE locations ADD COLUMN IF NOT EXISTS time_zone_iana VARCHAR;
ALTER TABLE locations ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
ALTER TABLE evses ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
ALTER TABLE connectors ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
ALTER TABLE raw_sessions ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
