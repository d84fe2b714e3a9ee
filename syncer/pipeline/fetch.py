"""One id from the gateway to a flattened bundle, with the retry loop around the client."""

from __future__ import annotations

import anyio

from syncer.documents.envelope import RATE_LIMITED_KIND
from syncer.documents.flatten import flatten_body
from syncer.documents.rows import SessionBundle
from syncer.errors import PermanentError, TransientError
from syncer.gateway import retry
from syncer.gateway.client import RATE_LIMITED_PAUSE, GatewayClient
from syncer.ids import shown, valid_id
from syncer.outcomes import Failure, RunSummary

__all__ = ["RATE_LIMITED_PAUSE", "fetch_bundle"]


async def fetch_bundle(
    client: GatewayClient, id: str, policy: retry.RetryPolicy, summary: RunSummary
) -> SessionBundle | Failure:
    """Fetch and flatten `id`, retrying transient errors with backoff. Never raises for a
    problem of this id alone: it becomes a `Failure` (kind `not_found` for a 404).
    `CredentialsRejected` propagates: it concerns every id.

    An envelope 2004 (rate limited inside an HTTP 200) slows down and pauses the shared rate
    limiter, as the client does for a 429: the gateway is telling the whole process to slow
    down. Any other transient error delays this id's retry only (by its Retry-After if any)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            body = await client.fetch(id)
            summary.fetched += 1
            return flatten_body(body, requested_id=id)
        except TransientError as error:
            if error.kind == RATE_LIMITED_KIND:
                client.limiter.slow_down()
                client.limiter.pause(error.delay or RATE_LIMITED_PAUSE)
            delay = retry.delay_for(policy, attempt, error)
            if delay is None:
                return Failure(
                    id,
                    error.kind,
                    f"{error} (gave up after {attempt} attempts)",
                    error.http_status,
                    retryable=True,
                    retry_after=error.delay,
                )
            summary.retries += 1
            await anyio.sleep(delay)
        except PermanentError as error:
            # A source that did not check its ids (the client always does): report it safely.
            reported = id if valid_id(id) else shown(id)
            return Failure(reported, error.kind, str(error), error.http_status)
