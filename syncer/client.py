"""The only module that speaks HTTP: one GET per call against the gateway.

`GatewayClient.fetch(id)` makes ONE attempt (the worker owns the retry loop) and either
returns the body bytes of an HTTP 200 (the envelope is checked by the parser, via
`gateway_status`) or raises a `syncer.errors` error chosen by HTTP status:

    200                               -> body bytes
    401, 403                          -> CredentialsRejected
    404                               -> PermanentError(kind="not_found")
    408, 425, 429, 5xx                -> TransientError(kind="http_<status>", delay=Retry-After)
    any other status                  -> PermanentError(kind="http_<status>")
    deadline passed                   -> TransientError(kind="timeout")
    I/O error before / after headers  -> TransientError(kind="connection" / "truncated")

429 (and 503 with Retry-After) also pauses the shared `RateLimiter`, slowing the whole process.
No message carries the token or a header: httpx exceptions are never chained, only their
class name and the URL path are kept.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self
from urllib.parse import quote

import anyio
import httpx

from syncer import __version__
from syncer.errors import ConfigError, CredentialsRejected, PermanentError, TransientError
from syncer.ids import valid_id
from syncer.ratelimit import RateLimiter, parse_retry_after

RETRYABLE_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
DRAIN_LIMIT: Final = 64 * 1024
"""Error bodies up to this size are read so the connection can be reused."""


class GatewayClient:
    """An async context manager owning one shared `httpx.AsyncClient` for the whole run."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        limiter: RateLimiter,
        timeout: float = 30.0,
        max_body_bytes: int = 5 * 1024 * 1024,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError("gateway URL must be an absolute http:// or https:// URL")
        headers = {"Accept": "application/json", "User-Agent": f"syncer/{__version__}"}
        token = (token or "").strip()  # secrets mounted from files often end in a newline
        if token:
            if not all(" " <= ch <= "~" for ch in token):
                raise ConfigError("gateway token contains characters not allowed in an HTTP header")
            headers["Authorization"] = f"Bearer {token}"
        self._limiter = limiter
        self._timeout = timeout
        self._max_body_bytes = max_body_bytes
        self._base_path = url.path.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch(self, id: str) -> bytes:
        """One GET of ``{base_url}/sessions/{id}``; the body of a 200, else a syncer error."""
        if not valid_id(id):  # also refuses "." and ".."
            raise PermanentError(f"invalid session id {id[:80]!r}", kind="invalid_id")
        relative = f"sessions/{quote(id, safe='')}"  # httpx appends it to the base URL's path
        path = f"{self._base_path}/{relative}"  # for messages: the path only, never host or headers
        await self._limiter.acquire()
        got_headers = False
        try:
            with anyio.fail_after(self._timeout):
                async with self._http.stream("GET", relative) as response:
                    got_headers = True
                    if response.status_code == 200:
                        return await self._read_body(response, path)
                    error = self._status_error(response, path)
                    await _drain(response)
                    raise error
        except (TimeoutError, httpx.TimeoutException) as exc:
            kind, name = "timeout", type(exc).__name__
        except (httpx.TransportError, httpx.DecodingError) as exc:
            kind, name = ("truncated" if got_headers else "connection"), type(exc).__name__
        # Raised outside the except block so no httpx exception is attached as the context.
        raise TransientError(f"{name} on GET {path}", kind=kind)

    async def _read_body(self, response: httpx.Response, path: str) -> bytes:
        limit = self._max_body_bytes
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise _too_large(path, limit)
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is counted inflated
            total += len(chunk)
            if total > limit:
                raise _too_large(path, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _status_error(self, response: httpx.Response, path: str) -> Exception:
        status = response.status_code
        where = f"HTTP {status} on GET {path}"
        if status in (401, 403):
            return CredentialsRejected(
                f"gateway refused the credentials ({where}); check --token / SYNCER_TOKEN",
                http_status=status,
            )
        if status == 404:
            return PermanentError(f"session not found ({where})", kind="not_found", http_status=404)
        if status in RETRYABLE_STATUSES or 500 <= status <= 599:
            delay = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            if status == 429 or (status == 503 and delay is not None):
                self._limiter.pause(delay or 1.0)
            return TransientError(
                f"gateway busy or failing ({where})", kind=f"http_{status}", http_status=status, delay=delay
            )
        return PermanentError(f"unexpected response ({where})", kind=f"http_{status}", http_status=status)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _too_large(path: str, limit: int) -> PermanentError:
    return PermanentError(f"response body over {limit} bytes on GET {path}", kind="body_too_large")


async def _drain(response: httpx.Response) -> None:
    """Read a small error body so the connection goes back to the pool; ignore failures."""
    size = _content_length(response)
    if size is not None and size <= DRAIN_LIMIT:
        with contextlib.suppress(httpx.HTTPError):
            await response.aread()
