"""One id from the gateway to a flattened bundle, with the retry loop around the client."""

from __future__ import annotations

from datetime import timedelta

import anyio

from syncer.clock import now
from syncer.documents.envelope import RATE_LIMITED_KIND
from syncer.documents.flatten import flatten_body
from syncer.documents.rows import SessionBundle
from syncer.errors import PermanentError, TransientError
from syncer.gateway import retry
from syncer.gateway.client import RATE_LIMITED_PAUSE, GatewayClient
from syncer.ids import shown, valid_id
from syncer.outcomes import Failure, FailureKind, RunSummary
from syncer.pipeline.budget import UNBOUNDED, ByteBudget, Ticket
from syncer.pipeline.health import GatewayHealth

__all__ = ["RATE_LIMITED_PAUSE", "fetch_bundle"]


async def fetch_bundle(
    client: GatewayClient,
    id: str,
    policy: retry.RetryPolicy,
    summary: RunSummary,
    health: GatewayHealth | None = None,
    future_tolerance: timedelta | None = None,
    ticket: Ticket | None = None,
) -> SessionBundle | Failure:
    """Fetch and flatten `id`, retrying transient errors with backoff. Never raises for a
    problem of this id alone: it becomes a `Failure` (kind `not_found` for a 404).
    `CredentialsRejected` propagates: it concerns every id; so does `GatewayUnusable`, raised by
    `health` (told of every attempt) when the first answers show the URL is not the gateway.

    `ticket` holds the memory budget for the body (acquired before the request): still held
    when a bundle is returned (the writer releases it once committed), released otherwise.

    A document whose version is more than `future_tolerance` ahead of this clock fails as
    `future_version`: stored, it would make every later, correct version of it `stale`.

    An envelope 2004 (rate limited inside an HTTP 200) slows down and pauses the shared rate
    limiter, as the client does for a 429: the gateway is telling the whole process to slow
    down. Any other transient error delays this id's retry only (by its Retry-After if any)."""
    ticket = ticket or Ticket(ByteBudget(UNBOUNDED))
    health = health or GatewayHealth("")
    attempt = 0
    while True:
        attempt += 1
        try:
            await ticket.start()
            body = await client.fetch(id)
            summary.fetched += 1
            ticket.settle(len(body))
            bundle = flatten_body(body, requested_id=id)
            del body
            health.attempt(id, None)
            too_new = _from_the_future(bundle, future_tolerance)
            if too_new is not None:
                ticket.release()
            return too_new or bundle
        except TransientError as error:
            ticket.release()
            health.attempt(id, error)
            if error.kind == RATE_LIMITED_KIND:
                client.limiter.slow_down()
                client.limiter.pause(error.delay or RATE_LIMITED_PAUSE)
                if client.metrics is not None:
                    client.metrics.rate_limited_in_body()
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
            ticket.release()
            health.attempt(id, error)
            # A source that did not check its ids (the client always does): report it safely.
            reported = id if valid_id(id) else shown(id)
            return Failure(reported, error.kind, str(error), error.http_status)
        except BaseException:  # refused credentials, cancellation
            ticket.release()
            raise


def _from_the_future(bundle: SessionBundle, tolerance: timedelta | None) -> Failure | None:
    version = bundle.session.last_updated
    if tolerance is None or version <= now() + tolerance:
        return None
    message = (
        f"last_updated {version.isoformat()} is more than {tolerance.total_seconds():g} s"
        " ahead of this worker's clock"
    )
    return Failure(bundle.id, FailureKind.FUTURE_VERSION, message)
