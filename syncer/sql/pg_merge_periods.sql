-- The written sessions' new period rows, from staging (pg_merge.py `_staged_periods`): the
-- start was staged as UTC wall time, the volume as its exact decimal text. Their old rows are
-- gone (pg_merge_replace_children.sql) and their session rows locked by this transaction.
INSERT INTO charging_periods (
    session_id, period_index, dimension_index, start_date_time, dimension_type, volume
)
SELECT
    session_id, period_index, dimension_index, start_date_time AT TIME ZONE 'UTC', dimension_type,
    volume::numeric
FROM syncer_stage_periods
