"""GatewayClient over real sockets, with both of its backends: aiohttp (the default) and httpx
(what `transport=` selects). The unit tests use httpx.MockTransport; here a raw asyncio server
misbehaves on purpose, and both backends must map every case the same way."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from syncer import __version__
from syncer.errors import CredentialsRejected, FetchError, PermanentError, TransientError
from syncer.gateway import client
from syncer.gateway.client import GatewayClient
from syncer.gateway.ratelimit import RateLimiter

TOKEN = "tok-sockets-SECRET-42"
Behaviour = Callable[[asyncio.StreamWriter], Awaitable[bool]]  # returns: keep the connection open


def response(status: int, body: bytes = b"", **headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    head += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def send(data: bytes, keep: bool = True) -> Behaviour:
    async def behaviour(writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        return keep

    return behaviour


async def chunked_forever(writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(1000):
        writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    return False


async def drip(writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(100):
        writer.write(b"x" * 10)
        await writer.drain()
        await asyncio.sleep(0.05)
    return False


async def slow_headers(writer: asyncio.StreamWriter) -> bool:
    await asyncio.sleep(5)
    writer.write(response(200, BODY))
    return False


async def cut(writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
    return False


async def hang_up(writer: asyncio.StreamWriter) -> bool:
    return False


BOMB = gzip.compress(b"0" * 1_000_000)
BODY = b'{"status_code": 1000, "data": {}}'
BEHAVIOURS: dict[str, Behaviour] = {
    "ok": send(response(200, BODY, Content_Type="application/json")),
    "creds": send(response(401, f"bad token {TOKEN}".encode())),
    "missing": send(response(404, b'{"status_code": 2003}')),
    "busy": send(response(429, b"{}", Retry_After="7")),
    "down": send(response(503)),
    "moved": send(response(302, Location="http://elsewhere.example/")),
    "declared-huge": send(response(200, b"x" * 10_000), keep=False),
    "chunked-huge": chunked_forever,
    "bomb": send(response(200, BOMB, Content_Encoding="gzip"), keep=False),
    "drip": drip,
    "slow-headers": slow_headers,
    "cut": cut,
    "hang-up": hang_up,
}


class RawServer:
    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                first, *lines = head.strip().split("\r\n")
                method, target, _ = first.split(" ")
                headers = dict(line.split(": ", 1) for line in lines)
                self.requests.append((method, target, {k.lower(): v for k, v in headers.items()}))
                keep = await BEHAVIOURS[target.rsplit("/", 1)[-1]](writer)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[RawServer, str]]:
    raw = RawServer()
    srv = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    yield raw, f"http://127.0.0.1:{port}/api/ocpi/api/v1"
    srv.close()
    await srv.wait_closed()


@pytest.fixture(params=["aiohttp", "httpx"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make(backend: str, url: str, limiter: RateLimiter | None = None, **kwargs: object) -> GatewayClient:
    transport = httpx.AsyncHTTPTransport() if backend == "httpx" else None
    return GatewayClient(url, TOKEN, limiter=limiter or RateLimiter(0), transport=transport, **kwargs)  # type: ignore[arg-type]


async def error_of(backend: str, url: str, id: str, **kwargs: object) -> BaseException:
    async with make(backend, url, **kwargs) as gateway:
        with pytest.raises((FetchError, CredentialsRejected)) as info:
            await gateway.fetch(id)
    error = info.value
    rendered = "".join(traceback.format_exception(error)) + repr(error)
    assert TOKEN not in rendered and "Authorization" not in rendered
    assert error.__cause__ is None and error.__context__ is None
    return error


async def test_the_default_backend_is_aiohttp() -> None:
    async with GatewayClient("http://127.0.0.1:1/api", None, limiter=RateLimiter(0)) as gateway:
        assert isinstance(gateway._http, client._AiohttpBackend)


async def test_200_body_headers_and_path(server: tuple[RawServer, str], backend: str) -> None:
    raw, url = server
    async with make(backend, url) as gateway:
        assert await gateway.fetch("ok") == BODY
        assert await gateway.fetch("ok") == BODY
    method, target, headers = raw.requests[0]
    assert (method, target) == ("GET", "/api/ocpi/api/v1/sessions/ok")
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"syncer/{__version__}"
    assert raw.connections == 1  # kept alive


async def test_small_error_bodies_are_drained_and_the_connection_reused(
    server: tuple[RawServer, str], backend: str
) -> None:
    raw, url = server
    async with make(backend, url) as gateway:
        await gateway.fetch("ok")
        with pytest.raises(PermanentError):
            await gateway.fetch("missing")
        await gateway.fetch("ok")
    assert raw.connections == 1


@pytest.mark.parametrize(
    ("id", "error_type", "kind", "status"),
    [
        ("creds", CredentialsRejected, None, 401),
        ("missing", PermanentError, "not_found", 404),
        ("busy", TransientError, "http_429", 429),
        ("down", TransientError, "http_503", 503),
        ("moved", PermanentError, "http_302", 302),
        ("declared-huge", PermanentError, "body_too_large", None),
        ("chunked-huge", PermanentError, "body_too_large", None),
        ("bomb", PermanentError, "body_too_large", None),
        ("cut", TransientError, "truncated", None),
        ("hang-up", TransientError, "connection", None),
    ],
)
async def test_every_failure_maps_the_same_on_both_backends(
    server: tuple[RawServer, str],
    backend: str,
    id: str,
    error_type: type[Exception],
    kind: str | None,
    status: int | None,
) -> None:
    _, url = server
    error = await error_of(backend, url, id, max_body_bytes=5000)
    assert type(error) is error_type
    if kind is not None:
        assert getattr(error, "kind", None) == kind
    assert error.http_status == status  # type: ignore[attr-defined]
    if id == "busy":
        assert isinstance(error, TransientError) and error.delay == 7.0


async def test_429_pauses_the_shared_limiter(server: tuple[RawServer, str], backend: str) -> None:
    _, url = server
    limiter = RateLimiter(0)
    await error_of(backend, url, "busy", limiter=limiter)
    assert limiter.paused_until > time.monotonic() + 5


@pytest.mark.parametrize("id", ["drip", "slow-headers"])
async def test_a_slow_response_hits_the_whole_response_deadline(
    server: tuple[RawServer, str], backend: str, id: str
) -> None:
    _, url = server
    started = time.monotonic()
    error = await error_of(backend, url, id, timeout=0.3)
    assert isinstance(error, TransientError) and error.kind == "timeout"
    assert time.monotonic() - started < 2.0


async def test_nothing_listening_is_a_connection_error(backend: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        error = await error_of(backend, f"http://127.0.0.1:{port}/api/v1", "ok")
    assert isinstance(error, TransientError) and error.kind == "connection"


async def test_a_closed_client_refuses_to_fetch(server: tuple[RawServer, str], backend: str) -> None:
    _, url = server
    async with make(backend, url) as gateway:
        await gateway.fetch("ok")
    with pytest.raises(RuntimeError):
        await gateway.fetch("ok")


def test_proxy_settings_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert client._env_proxy("https://gw.example/api") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert client._env_proxy("https://gw.example/api") == "http://proxy.internal:3128"
    assert client._env_proxy("http://gw.example/api") is None
    monkeypatch.setenv("NO_PROXY", "gw.example")
    assert client._env_proxy("https://gw.example/api") is None
