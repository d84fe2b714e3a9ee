"""Everything SQL: the schema and its migrations, engines, the versioned upsert (`store`, with
the PostgreSQL COPY fast path `pg_merge`), the queue table (`queue`) and run bookkeeping.

Hand-written statements live in the top-level `sql/` folder (`sql_files` reads them).
May import: documents (the rows), outcomes, errors, observe. Never the gateway, sources,
pipeline or CLI.
"""
