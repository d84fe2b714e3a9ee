"""One id from the gateway to a flattened bundle, with the retry loop around the client."""

from __future__ import annotations

import anyio

from syncer import retry
from syncer.client import GatewayClient
from syncer.errors import PermanentError, TransientError
from syncer.flatten import flatten_body
from syncer.rows import SessionBundle
from syncer.summary import Failure, RunSummary


async def fetch_bundle(
    client: GatewayClient, id: str, policy: retry.RetryPolicy, summary: RunSummary
) -> SessionBundle | Failure:
    """Fetch and flatten `id`, retrying transient errors with backoff. Never raises for a
    problem of this id alone: it becomes a `Failure` (kind `not_found` for a 404).
    `CredentialsRejected` propagates: it concerns every id."""
    attempt = 0
    while True:
        attempt += 1
        try:
            body = await client.fetch(id)
            summary.fetched += 1
            return flatten_body(body, requested_id=id)
        except TransientError as error:
            delay = retry.delay_for(policy, attempt, error)
            if delay is None:
                return Failure(
                    id,
                    error.kind,
                    f"{error} (gave up after {attempt} attempts)",
                    error.http_status,
                    retryable=True,
                )
            summary.retries += 1
            await anyio.sleep(delay)
        except PermanentError as error:
            return Failure(id, error.kind, str(error), error.http_status)
