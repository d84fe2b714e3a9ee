"""The only module that speaks HTTP: one GET per call against the gateway.

`GatewayClient.fetch(id)` makes ONE attempt (the worker owns the retry loop) and either
returns the body bytes of an HTTP 200 (the envelope is checked by the parser, via
`gateway_status`) or raises a `syncer.errors` error chosen by HTTP status:

    200                               -> body bytes
    401, 403                          -> CredentialsRejected
    404                               -> PermanentError(kind="not_found"); `foreign` when its
                                         body is not a JSON envelope (a proxy's, a wrong path)
    408, 425, 429, 5xx                -> TransientError(kind="http_<status>", delay=Retry-After)
    any other status                  -> PermanentError(kind="http_<status>")
    deadline passed                   -> TransientError(kind="timeout")
    I/O error before / after headers  -> TransientError(kind="connection" / "truncated");
                                         `unreachable` when no connection could be made

The body of a 200 comes back with the token redacted (a gateway that echoes it in a field
would otherwise have it stored).

A 429 is a rate signal: it slows the shared `RateLimiter` down and pauses it for its
`Retry-After` (capped by the limiter's `max_pause`, the `--max-retry-after`). Other retryable
answers only tell the limiter they happened (sustained errors slow it down); their
`Retry-After` (capped the same way) is the delay of that id's own retry.
No message carries the token or a header: HTTP library exceptions are never chained, only
their class name and the URL path are kept.

Two interchangeable backends carry the GET. By default aiohttp: its connection pool costs
a fraction of the CPU per request of httpx's (httpcore scans every pooled connection on every
request; figures in docs/benchmark.md), and a
run is CPU-bound on the client long before the gateway is. Given `transport=` (tests pass an
`httpx.MockTransport`), httpx over that transport. Everything else (deadline, body cap,
status mapping, messages) is shared, so both behave the same.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, Self
from urllib.parse import quote

import aiohttp
import anyio
import httpx
import yarl

from syncer import __version__
from syncer.errors import ConfigError, CredentialsRejected, PermanentError, TransientError
from syncer.gateway.ratelimit import RateLimiter, parse_retry_after
from syncer.ids import valid_id
from syncer.observe.logs import Redactor

if TYPE_CHECKING:
    from syncer.observe.metrics import Metrics

RETRYABLE_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
REDACT_MIN_CHARS: Final = 8
"""Tokens at least this long are redacted from bodies (`Settings` refuses shorter ones)."""
RATE_LIMITED_PAUSE: Final = 1.0
"""Seconds the whole process pauses on a 429 without a readable Retry-After (and on an envelope
2004, which carries none)."""
DRAIN_LIMIT: Final = 64 * 1024
"""Error bodies up to this size are read so the connection can be reused."""


class _Reply(Protocol):
    """One response as the shared logic sees it, whichever backend received it."""

    status: int
    headers: Mapping[str, str]  # case-insensitive in both backends

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, decoded (a gzip bomb is counted inflated), as it arrives."""
        ...

    async def drain(self) -> None:
        """Read the whole (small) body so the connection can be reused; ignore failures."""
        ...


class _Backend(Protocol):
    enforces_deadline: bool
    """Whether the backend itself bounds the whole response (else `fetch` does, with anyio)."""
    timeouts: tuple[type[BaseException], ...]
    failures: tuple[type[BaseException], ...]
    """I/O errors: `connection` before the headers arrived, `truncated` after."""
    unreachable: tuple[type[BaseException], ...]
    """The failures that mean no connection could be made at all (refused, DNS)."""

    def get(self, relative: str) -> contextlib.AbstractAsyncContextManager[_Reply]: ...

    async def aclose(self) -> None: ...


class _HttpxReply:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self._response = response

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    async def drain(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._response.aread()


class _HttpxBackend:
    """httpx over a given transport (tests: `httpx.MockTransport`)."""

    enforces_deadline = False
    timeouts: tuple[type[BaseException], ...] = (TimeoutError, httpx.TimeoutException)
    failures: tuple[type[BaseException], ...] = (httpx.TransportError, httpx.DecodingError)
    unreachable: tuple[type[BaseException], ...] = (httpx.ConnectError,)

    def __init__(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        timeout: float,
        max_connections: int,
        transport: httpx.AsyncBaseTransport,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            follow_redirects=False,
        )

    @contextlib.asynccontextmanager
    async def get(self, relative: str) -> AsyncIterator[_Reply]:
        async with self._http.stream("GET", relative) as response:  # appended to the base URL's path
            yield _HttpxReply(response)

    async def aclose(self) -> None:
        await self._http.aclose()


class _AiohttpReply:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self._response = response

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.content.iter_any()

    async def drain(self) -> None:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            await self._response.read()


class _AiohttpBackend:
    """aiohttp, set up like httpx's defaults: certifi CAs, proxy variables honoured, 5 s idle
    keep-alive, no redirects. Its session is made on first use, inside the event loop. The
    proxy is looked up once: aiohttp's `trust_env` would look it up (and read ~/.netrc) in a
    worker thread on every request, which costs more than the request itself."""

    enforces_deadline = True
    """aiohttp's `total` timeout covers connecting, sending, the headers and the body read
    (one timer per request; anyio's `fail_after` costs more than a tenth of a request)."""
    timeouts: tuple[type[BaseException], ...] = (TimeoutError,)
    failures: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError)
    unreachable: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError, ConnectionRefusedError)

    def __init__(self, url: httpx.URL, headers: dict[str, str], timeout: float, max_connections: int) -> None:
        self._base = str(url).rstrip("/")
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the gateway client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                keepalive_timeout=5.0,
                ssl=httpx.create_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self._timeout,
                proxy=_env_proxy(self._base),
                auto_decompress=True,
            )
        return self._session

    @contextlib.asynccontextmanager
    async def get(self, relative: str) -> AsyncIterator[_Reply]:
        url = yarl.URL(f"{self._base}/{relative}", encoded=True)  # the id is quoted already
        async with self._open().get(url, allow_redirects=False) as response:
            yield _AiohttpReply(response)

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()


class GatewayClient:
    """An async context manager owning one connection pool for the whole run."""

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
        metrics: Metrics | None = None,
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
        # Settings refuse a shorter token; a test's "t" would redact every "t" of every body.
        self._redactor = Redactor([token] if len(token) >= REDACT_MIN_CHARS else [])
        self._limiter = limiter
        self.metrics = metrics
        """Counts each request by status, with its duration (None: not counted)."""
        self._timeout = timeout
        self._max_body_bytes = max_body_bytes
        self._base_path = url.path.rstrip("/")
        self._http: _Backend = (
            _AiohttpBackend(url, headers, timeout, max_connections)
            if transport is None
            else _HttpxBackend(url, headers, timeout, max_connections, transport)
        )

    @property
    def limiter(self) -> RateLimiter:
        """The process's one limiter (the fetch stage slows it down on an envelope 2004)."""
        return self._limiter

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
        relative = f"sessions/{quote(id, safe='')}"  # appended to the base URL's path
        path = f"{self._base_path}/{relative}"  # for messages: the path only, never host or headers
        await self._limiter.acquire()
        got_headers = False
        http = self._http
        started, status = time.monotonic(), "error"
        try:
            with contextlib.nullcontext() if http.enforces_deadline else anyio.fail_after(self._timeout):
                async with http.get(relative) as response:
                    got_headers, status = True, str(response.status)
                    if response.status == 200:
                        self._limiter.observe(ok=True)
                        return self._redactor.data(await self._read_body(response, path))
                    error = self._status_error(response, path)
                    if isinstance(error, PermanentError):
                        error.foreign = not _is_envelope(await _head(response, http.failures))
                    else:
                        size = _content_length(response)
                        if size is not None and size <= DRAIN_LIMIT:
                            await response.drain()
                    raise error
        except http.timeouts as exc:
            kind, name, unreachable = "timeout", type(exc).__name__, False
            status = kind
        except http.failures as exc:
            unreachable = not got_headers and isinstance(exc, http.unreachable)
            kind, name = ("truncated" if got_headers else "connection"), type(exc).__name__
            status = kind
        finally:
            if self.metrics is not None:
                self.metrics.request(status, time.monotonic() - started)
        self._limiter.observe(ok=False)
        # Raised outside the except block so no library exception is attached as the context.
        failure = TransientError(f"{name} on GET {path}", kind=kind)
        failure.unreachable = unreachable
        raise failure

    async def _read_body(self, response: _Reply, path: str) -> bytes:
        limit = self._max_body_bytes
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise _too_large(path, limit)
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.chunks():  # decoded: a gzip bomb is counted inflated
            total += len(chunk)
            if total > limit:
                raise _too_large(path, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _status_error(self, response: _Reply, path: str) -> Exception:
        status = response.status
        where = f"HTTP {status} on GET {path}"
        if status in (401, 403):
            return CredentialsRejected(
                f"gateway refused the credentials ({where}); check --token / SYNCER_TOKEN",
                http_status=status,
            )
        if status == 404:
            self._limiter.observe(ok=True)
            return PermanentError(f"session not found ({where})", kind="not_found", http_status=404)
        if status in RETRYABLE_STATUSES or 500 <= status <= 599:
            cap = self._limiter.max_pause
            delay = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC), cap)
            if status == 429:
                self._limiter.slow_down()
                self._limiter.pause(delay or RATE_LIMITED_PAUSE)
            else:
                self._limiter.observe(ok=False)
            return TransientError(
                f"gateway busy or failing ({where})", kind=f"http_{status}", http_status=status, delay=delay
            )
        self._limiter.observe(ok=True)  # the gateway answered: not a sign of overload
        return PermanentError(f"unexpected response ({where})", kind=f"http_{status}", http_status=status)


def _env_proxy(url: str) -> str | None:
    """The proxy for `url` from HTTP(S)_PROXY / ALL_PROXY / NO_PROXY, as httpx would use it."""
    parsed = yarl.URL(url)
    if parsed.host is None or urllib.request.proxy_bypass(parsed.host):
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parsed.scheme) or proxies.get("all")


async def _head(response: _Reply, failures: tuple[type[BaseException], ...]) -> bytes | None:
    """The body of an error answer, if it is at most `DRAIN_LIMIT` bytes (read whole, so the
    connection can be reused); None when longer (the connection is then dropped) or unreadable."""
    size = _content_length(response)
    if size is not None and size > DRAIN_LIMIT:
        return None
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in response.chunks():
            total += len(chunk)
            if total > DRAIN_LIMIT:
                return None
            chunks.append(chunk)
    except failures:
        return None
    return b"".join(chunks)


def _is_envelope(body: bytes | None) -> bool:
    """Whether an error body is the gateway's JSON envelope (an object with `status_code`)."""
    if not body or not body.lstrip().startswith(b"{"):
        return False
    try:
        parsed = json.loads(body)
    except ValueError:  # not UTF-8 or not JSON
        return False
    return isinstance(parsed, dict) and "status_code" in parsed


def _content_length(response: _Reply) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _too_large(path: str, limit: int) -> PermanentError:
    return PermanentError(f"response body over {limit} bytes on GET {path}", kind="body_too_large")
