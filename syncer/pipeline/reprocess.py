"""`syncer reprocess`: rebuild the flat tables from `raw_sessions`, with no network.

For after a flattening fix: every stored document is parsed and flattened again and written
with `force`, so rows of an equal version are rewritten too (an older one still never is).
"""

from __future__ import annotations

import time
import uuid

import anyio

from syncer import __version__
from syncer.clock import now
from syncer.documents.flatten import flatten
from syncer.documents.parse import parse_raw
from syncer.errors import DocumentError
from syncer.observe.heartbeat import Heartbeat
from syncer.observe.logs import get_logger
from syncer.outcomes import Failure, Outcome, RunSource, RunStatus, RunSummary
from syncer.warehouse import runs
from syncer.warehouse.store import Store

log = get_logger("syncer.pipeline.reprocess")


async def reprocess(store: Store, *, page_size: int = 500, progress_interval: float = 30.0) -> int:
    run_id, clock = uuid.uuid4().hex, time.monotonic()
    summary = RunSummary()
    started = now()
    await store.start_run(run_id, RunSource.RAW, started)
    await runs.mark_started(store, run_id, syncer_version=__version__, gateway_url=None, at=started)
    log.info("run.started", run_id=run_id, source=RunSource.RAW, syncer_version=__version__)

    async def record(summary: RunSummary, elapsed: float) -> None:
        await runs.heartbeat(store, run_id, summary, at=now(), duration_s=elapsed)

    heartbeat = Heartbeat(run_id, summary, progress_interval, record, log_progress=True, started=clock)
    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat.run)
        await _reprocess(store, run_id, summary, page_size)
        tg.cancel_scope.cancel()
    summary.duration_s = time.monotonic() - clock
    code = summary.exit_code()
    await store.finish_run(
        run_id, summary, status=RunStatus.FAILED if code else RunStatus.OK, exit_code=code, finished_at=now()
    )
    log.info("reprocess.finished", run_id=run_id, exit_code=code, **summary.as_dict())
    return code


async def _reprocess(store: Store, run_id: str, summary: RunSummary, page_size: int) -> None:
    async for page in store.raw_documents(page_size=page_size):
        bundles, failures = [], []
        for id, document in page:
            summary.requested += 1
            try:
                bundles.append(flatten(parse_raw(document, requested_id=id)))
            except DocumentError as error:
                failures.append(Failure(id, error.kind, str(error)))
                summary.add(Outcome.FAILED)
        summary.fetched += len(bundles)
        for outcome in (await store.write(bundles, now=now(), force=True, run_id=run_id)).values():
            summary.add(outcome)
        await store.record_failures(run_id, failures, at=now())
