"""GatewayClient against httpx.MockTransport: status mapping, limits, deadline, secrets, hostile ids."""

from __future__ import annotations

import gzip
import math
import time
import traceback
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest

from syncer import __version__
from syncer.errors import ConfigError, CredentialsRejected, FetchError, PermanentError, TransientError
from syncer.gateway.client import GatewayClient
from syncer.gateway.ratelimit import DEFAULT_MAX_PAUSE, RateLimiter

TOKEN = "tok-3f9c2e7a-SECRET"
BASE = "https://gateway.example/api/ocpi/api/v1"
PATH = "/api/ocpi/api/v1/sessions/abc123"
CLOCK = 1000.0  # the limiter's fake monotonic time: pauses are exact

Handler = Callable[[httpx.Request], httpx.Response]


class CountingLimiter(RateLimiter):
    """Unlimited, on a frozen clock, counting acquires."""

    def __init__(self, max_pause: float = DEFAULT_MAX_PAUSE) -> None:
        super().__init__(0, clock=lambda: CLOCK, max_pause=max_pause)
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1
        await super().acquire()


class Chunks(httpx.AsyncByteStream):
    """A response body sent `count` chunks of `size` bytes, `delay` seconds apart."""

    def __init__(self, count: int, size: int, delay: float = 0.0, fail_after: int | None = None) -> None:
        self.count, self.size, self.delay, self.fail_after = count, size, delay, fail_after
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            if self.fail_after is not None and self.sent >= self.fail_after:
                raise httpx.RemoteProtocolError("peer closed connection without sending complete body")
            if self.delay:
                await anyio.sleep(self.delay)
            self.sent += 1
            yield b"x" * self.size


class Gateway:
    """A MockTransport that records every request it sees."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def client_for(gateway: Gateway, limiter: RateLimiter | None = None, **kwargs: object) -> GatewayClient:
    return GatewayClient(
        kwargs.pop("base_url", BASE),  # type: ignore[arg-type]
        kwargs.pop("token", TOKEN),  # type: ignore[arg-type]
        limiter=limiter or CountingLimiter(),
        transport=gateway.transport,
        **kwargs,  # type: ignore[arg-type]
    )


async def fetch_error(
    gateway: Gateway, limiter: RateLimiter | None = None, **kwargs: object
) -> BaseException:
    async with client_for(gateway, limiter, **kwargs) as client:
        with pytest.raises((FetchError, CredentialsRejected)) as info:
            await client.fetch("abc123")
    return info.value


def assert_no_secret(error: BaseException) -> None:
    rendered = "".join(traceback.format_exception(error)) + repr(error) + str(error.args)
    assert TOKEN not in rendered
    assert "Authorization" not in rendered
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_200_returns_the_body_and_sends_the_headers() -> None:
    body = b'{"status_code": 1000, "data": {}}'
    gateway = Gateway(lambda _: httpx.Response(200, content=body))
    limiter = CountingLimiter()
    async with client_for(gateway, limiter) as client:
        assert await client.fetch("abc123") == body
        assert await client.fetch("abc123") == body
    assert limiter.acquired == 2  # one acquire per request
    request = gateway.requests[0]
    assert request.method == "GET"
    assert request.url.raw_path == PATH.encode()
    assert request.url.host == "gateway.example"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == f"syncer/{__version__}"


async def test_no_token_sends_no_authorization_header() -> None:
    gateway = Gateway(lambda _: httpx.Response(200, content=b"{}"))
    async with client_for(gateway, token=None) as client:
        await client.fetch("abc123")
    assert "Authorization" not in gateway.requests[0].headers


async def test_token_whitespace_from_a_secret_file_is_stripped() -> None:
    gateway = Gateway(lambda _: httpx.Response(200, content=b"{}"))
    async with client_for(gateway, token=f"  {TOKEN}\n") as client:
        await client.fetch("abc123")
    assert gateway.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("token", [f"{TOKEN}\r\nX-Evil: 1", f"{TOKEN}é"])
def test_token_unfit_for_a_header_is_a_config_error_without_the_token(token: str) -> None:
    with pytest.raises(ConfigError) as info:
        GatewayClient(BASE, token, limiter=CountingLimiter())
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("base_url", ["gateway.example/api", "ftp://gateway.example/api", "/api/v1"])
def test_base_url_must_be_absolute_http(base_url: str) -> None:
    with pytest.raises(ConfigError):
        GatewayClient(base_url, TOKEN, limiter=CountingLimiter())


@pytest.mark.parametrize("base_url", ["https://gw.example/api/v1", "https://gw.example/api/v1/"])
async def test_base_path_kept_whole(base_url: str) -> None:
    gateway = Gateway(lambda _: httpx.Response(200, content=b"{}"))
    async with client_for(gateway, base_url=base_url) as client:
        await client.fetch("Ab.c-d_9")
    assert gateway.requests[0].url.raw_path == b"/api/v1/sessions/Ab.c-d_9"


HOSTILE_IDS = [
    "",
    ".",
    "..",
    "../x",
    "../../admin",
    "a/b",
    "%2e%2e",
    "%2F",
    "?q=1",
    "a?q=1",
    "a#b",
    "a b",
    " abc",
    "abc\n",
    "a" * 65,
    "a" * 200,
    "a\x00b",
    "a\x07\x1b[2J",
    "'; DROP TABLE x;--",
    "abc\\..\\x",
    "ünïcode",
]


@pytest.mark.parametrize("bad_id", HOSTILE_IDS)
async def test_hostile_ids_rejected_before_any_request(bad_id: str) -> None:
    gateway = Gateway(lambda _: httpx.Response(200, content=b"{}"))
    limiter = CountingLimiter()
    async with client_for(gateway, limiter) as client:
        with pytest.raises(PermanentError) as info:
            await client.fetch(bad_id)
    assert info.value.kind == "invalid_id"
    assert gateway.requests == []
    assert limiter.acquired == 0
    assert len(str(info.value)) < 120  # a 200-character id is not echoed whole
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("status", [401, 403])
async def test_credentials_rejected_with_a_one_line_message_without_the_token(status: int) -> None:
    gateway = Gateway(lambda _: httpx.Response(status, json={"error": f"bad token {TOKEN}"}))
    error = await fetch_error(gateway)
    assert isinstance(error, CredentialsRejected)
    assert error.http_status == status
    assert f"HTTP {status}" in str(error)
    assert "\n" not in str(error)
    assert_no_secret(error)


async def test_404_is_not_found_without_retry() -> None:
    error = await fetch_error(Gateway(lambda _: httpx.Response(404)))
    assert isinstance(error, PermanentError)
    assert not isinstance(error, TransientError)
    assert (error.kind, error.http_status) == ("not_found", 404)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 507, 599])
async def test_retryable_statuses_are_transient(status: int) -> None:
    error = await fetch_error(Gateway(lambda _: httpx.Response(status)))
    assert isinstance(error, TransientError)
    assert (error.kind, error.http_status, error.delay) == (f"http_{status}", status, None)


@pytest.mark.parametrize("status", [201, 204, 301, 302, 304, 400, 405, 409, 410, 418, 422, 451, 600])
async def test_other_statuses_are_permanent(status: int) -> None:
    headers = {"Location": "https://elsewhere.example/"} if 300 <= status < 400 else {}
    gateway = Gateway(lambda _: httpx.Response(status, headers=headers))
    error = await fetch_error(gateway)
    assert isinstance(error, PermanentError)
    assert (error.kind, error.http_status) == (f"http_{status}", status)
    assert len(gateway.requests) == 1  # redirects are not followed


async def test_429_retry_after_seconds_pauses_the_shared_limiter() -> None:
    limiter = CountingLimiter()
    error = await fetch_error(Gateway(lambda _: httpx.Response(429, headers={"Retry-After": "7"})), limiter)
    assert isinstance(error, TransientError)
    assert error.delay == 7.0
    assert limiter.paused_until == CLOCK + 7.0


async def test_429_retry_after_http_date_pauses_the_shared_limiter() -> None:
    limiter = CountingLimiter()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=45), usegmt=True)
    error = await fetch_error(Gateway(lambda _: httpx.Response(429, headers={"Retry-After": when})), limiter)
    assert isinstance(error, TransientError)
    assert error.delay is not None
    assert 40.0 <= error.delay <= 45.0
    assert limiter.paused_until == CLOCK + error.delay


async def test_429_without_retry_after_pauses_one_second() -> None:
    limiter = CountingLimiter()
    error = await fetch_error(Gateway(lambda _: httpx.Response(429)), limiter)
    assert isinstance(error, TransientError)
    assert error.delay is None
    assert limiter.paused_until == CLOCK + 1.0


async def test_429_retry_after_is_capped_by_max_retry_after() -> None:
    limiter = CountingLimiter()
    error = await fetch_error(
        Gateway(lambda _: httpx.Response(429, headers={"Retry-After": "86400"})), limiter
    )
    assert isinstance(error, TransientError)
    assert error.delay == DEFAULT_MAX_PAUSE == 60.0
    assert limiter.paused_until == CLOCK + DEFAULT_MAX_PAUSE
    limiter = CountingLimiter(max_pause=5.0)  # --max-retry-after 5
    error = await fetch_error(Gateway(lambda _: httpx.Response(429, headers={"Retry-After": "600"})), limiter)
    assert isinstance(error, TransientError)
    assert error.delay == 5.0
    assert limiter.paused_until == CLOCK + 5.0


async def test_503_never_pauses_the_limiter_its_retry_after_is_that_ids_delay() -> None:
    limiter = CountingLimiter(max_pause=30.0)
    await fetch_error(Gateway(lambda _: httpx.Response(503)), limiter)
    assert limiter.paused_until == -math.inf
    error = await fetch_error(Gateway(lambda _: httpx.Response(503, headers={"Retry-After": "12"})), limiter)
    assert limiter.paused_until == -math.inf
    assert isinstance(error, TransientError)
    assert error.delay == 12.0
    error = await fetch_error(Gateway(lambda _: httpx.Response(503, headers={"Retry-After": "900"})), limiter)
    assert isinstance(error, TransientError)
    assert error.delay == 30.0  # capped like a 429's
    assert limiter.slowdowns == 0


async def test_500_with_retry_after_sets_the_delay_but_does_not_pause() -> None:
    limiter = CountingLimiter()
    error = await fetch_error(Gateway(lambda _: httpx.Response(500, headers={"Retry-After": "30"})), limiter)
    assert isinstance(error, TransientError)
    assert error.delay == 30.0
    assert limiter.paused_until == -math.inf


async def test_garbage_retry_after_is_ignored() -> None:
    error = await fetch_error(Gateway(lambda _: httpx.Response(502, headers={"Retry-After": "soon-ish"})))
    assert isinstance(error, TransientError)
    assert error.delay is None


async def test_small_error_body_is_drained_large_one_is_not() -> None:
    small, large = Chunks(4, 100), Chunks(100, 1024)
    await fetch_error(Gateway(lambda _: httpx.Response(404, headers={"Content-Length": "400"}, stream=small)))
    await fetch_error(
        Gateway(lambda _: httpx.Response(404, headers={"Content-Length": "102400"}, stream=large))
    )
    assert small.sent == 4  # read to the end so the connection can be reused
    assert large.sent == 0


async def test_body_at_the_limit_is_accepted() -> None:
    gateway = Gateway(lambda _: httpx.Response(200, content=b"x" * 1000))
    async with client_for(gateway, max_body_bytes=1000) as client:
        assert len(await client.fetch("abc123")) == 1000


async def test_declared_body_too_large_is_refused_without_reading_it() -> None:
    stream = Chunks(10, 1000)
    headers = {"Content-Length": "10000"}
    error = await fetch_error(
        Gateway(lambda _: httpx.Response(200, headers=headers, stream=stream)), max_body_bytes=5000
    )
    assert isinstance(error, PermanentError)
    assert error.kind == "body_too_large"
    assert stream.sent == 0


async def test_streamed_body_too_large_stops_reading_early() -> None:
    stream = Chunks(1000, 1024)  # 1 MiB, no Content-Length
    error = await fetch_error(Gateway(lambda _: httpx.Response(200, stream=stream)), max_body_bytes=10 * 1024)
    assert isinstance(error, PermanentError)
    assert error.kind == "body_too_large"
    assert stream.sent <= 11


async def test_gzip_bomb_is_measured_inflated() -> None:
    bomb = gzip.compress(b"0" * 1_000_000)
    assert len(bomb) < 5000
    gateway = Gateway(lambda _: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb))
    error = await fetch_error(gateway, max_body_bytes=100_000)
    assert isinstance(error, PermanentError)
    assert error.kind == "body_too_large"


async def test_slow_drip_body_hits_the_whole_response_deadline() -> None:
    stream = Chunks(100, 10, delay=0.05)  # 5 s in all, each chunk well within any read timeout
    started = time.monotonic()
    error = await fetch_error(Gateway(lambda _: httpx.Response(200, stream=stream)), timeout=0.2)
    elapsed = time.monotonic() - started
    assert isinstance(error, TransientError)
    assert error.kind == "timeout"
    assert elapsed < 1.0
    assert stream.sent < 10
    assert_no_secret(error)


async def test_slow_headers_hit_the_deadline() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    started = time.monotonic()
    async with GatewayClient(
        BASE, TOKEN, limiter=CountingLimiter(), timeout=0.2, transport=transport
    ) as client:
        with pytest.raises(TransientError) as info:
            await client.fetch("abc123")
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 1.0


def raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError(f"connect failed; Authorization: Bearer {TOKEN}"), "connection"),
        (httpx.ReadError("reset by peer"), "connection"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "connection"),
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.PoolTimeout("pool"), "timeout"),
    ],
)
async def test_transport_errors_are_transient_and_carry_no_secret(exc: Exception, kind: str) -> None:
    error = await fetch_error(Gateway(raising(exc)))
    assert isinstance(error, TransientError)
    assert error.kind == kind
    assert error.http_status is None
    assert type(exc).__name__ in str(error)
    assert PATH in str(error)
    assert_no_secret(error)


async def test_body_cut_short_is_truncated() -> None:
    stream = Chunks(10, 100, fail_after=3)
    error = await fetch_error(Gateway(lambda _: httpx.Response(200, stream=stream)))
    assert isinstance(error, TransientError)
    assert error.kind == "truncated"
    assert "RemoteProtocolError" in str(error)
    assert_no_secret(error)


async def test_client_closes_its_connection_pool() -> None:
    gateway = Gateway(lambda _: httpx.Response(200, content=b"{}"))
    async with client_for(gateway) as client:
        await client.fetch("abc123")
    with pytest.raises(RuntimeError):
        await client.fetch("abc123")
    assert len(gateway.requests) == 1
