"""dlt's merge pipeline on the same ids and gateway: a parallelized transformer fetches each id
(`requests`, one pooled session, `workers` threads), `write_disposition="merge"` on primary key
`id`, nested lists and objects normalised into child tables, loaded into PostgreSQL.
`python -m bench.dlt_merge URL IDS_FILE WORKERS DATABASE_URL WORK_DIR`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import TOKEN, emit, read_ids


def _with_password(database_url: str) -> str:
    """dlt insists on a password; a server with trust authentication ignores the one given."""
    parts = urlsplit(database_url)
    if parts.password is None and parts.username:
        parts = parts._replace(netloc=f"{parts.username}:unused@{parts.hostname}:{parts.port or 5432}")
    return urlunsplit(parts)


def main() -> None:
    url, ids_file, workers, database_url, work_dir = sys.argv[1:6]
    database_url = _with_password(database_url)
    # The parallelized transformer's thread pool and how many items it keeps in flight.
    os.environ["EXTRACT__WORKERS"] = workers
    os.environ["EXTRACT__MAX_PARALLEL_ITEMS"] = workers
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    import dlt
    import requests
    from requests.adapters import HTTPAdapter

    ids = read_ids(ids_file)
    http = requests.Session()
    http.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=int(workers)))
    http.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})

    @dlt.resource(name="session_ids", selected=False)
    def session_ids() -> Iterator[str]:
        yield from ids

    @dlt.transformer(
        data_from=session_ids,
        name="sessions",
        primary_key="id",
        write_disposition="merge",
        parallelized=True,
    )
    def sessions(id: str) -> Iterator[dict[str, Any]]:
        response = http.get(f"{url}/sessions/{id}", timeout=30)
        response.raise_for_status()
        yield response.json()["data"]

    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        pipelines_dir=work_dir,
        destination=dlt.destinations.postgres(database_url),
        dataset_name="dlt_bench",
    )
    started = time.perf_counter()
    info = pipeline.run(sessions)
    elapsed = time.perf_counter() - started
    emit(
        {
            "sessions": len(ids),
            "elapsed_s": elapsed,
            "sessions_per_s": len(ids) / elapsed,
            "loads": len(info.loads_ids),
        }
    )


if __name__ == "__main__":
    main()
