"""The sandbox gateway as an ASGI app: ``GET {prefix}/sessions/{id}`` plus a small control plane.

Order of checks for a session request, as a gateway in front of an API would do them: an
outage (503 to everything), credentials (401 or 403), id syntax (400), rate limit (429 +
Retry-After), latency, injected failure (503), then by id: ``unavailable-*`` 503, ``missing-*``
404, ``fault-<kind>-*`` the fault (see `faults.py`), ``limited-*`` / ``busy-*`` a 429 / envelope
2004 on their first request, and finally the document (malformed for a share of ids). Bodies
are cached per (id, generation), so a repeated request costs no generation work.

Control plane: ``GET /_sandbox/stats`` (counters), ``GET /_sandbox/requests`` (every request
outside the control plane, as sent: monotonic time, raw path, query, status),
``POST /_sandbox/bump?share=0.1``, ``POST /_sandbox/outage?seconds=N`` (every session request
answers 503 for the next N seconds; 0 ends an outage), ``GET /healthz``.
"""

from __future__ import annotations

import collections
import functools
import hmac
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncer.sandbox.config import SandboxConfig
from syncer.sandbox.faults import (
    fault_body,
    fault_kind,
    http_fault_status,
    malformed_body,
    malformed_kind,
)
from syncer.sandbox.generate import ID_PATTERN, error_body, generation, session_body
from syncer.sandbox.responses import ChunkedResponse, DripResponse, TruncatedResponse

__all__ = ["Counters", "RequestRecord", "SandboxState", "TokenBucket", "build_app"]

_JSON = "application/json"
_CONTROL_PATHS = ("/_sandbox/", "/healthz")
REQUEST_LOG_SIZE = 100_000


@dataclass
class Counters:
    """What the sandbox answered since it started (session requests only)."""

    requests: int = 0
    ok: int = 0
    not_found: int = 0
    rate_limited: int = 0
    failures_503: int = 0
    malformed: int = 0
    unauthorized: int = 0
    bad_request: int = 0
    faults: int = 0
    """Answers to ``fault-*``, ``unavailable-*``, ``limited-*`` and ``busy-*`` ids."""


@dataclass
class RequestRecord:
    """One request outside the control plane, as the client sent it."""

    at: float
    """`time.monotonic()` when it arrived."""
    method: str
    path: str
    """The raw path, percent-escapes and all."""
    query: str
    status: int = 0
    """The answer's HTTP status (0 until it is sent)."""


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; shared by every client."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self) -> bool:
        """Spend one token if there is one (called from the app's single event loop)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@dataclass
class SandboxState:
    """The mutable side of a sandbox: counters, bump rounds, seeded random streams."""

    config: SandboxConfig
    counters: Counters = field(default_factory=Counters)
    rounds: list[tuple[int, float]] = field(default_factory=list)
    bucket: TokenBucket | None = None
    requests: collections.deque[RequestRecord] = field(
        default_factory=lambda: collections.deque(maxlen=REQUEST_LOG_SIZE)
    )
    answered_once: set[str] = field(default_factory=set)
    """``limited-*`` and ``busy-*`` ids that already had their one refusal."""
    outage_until: float = 0.0
    """`time.monotonic()` until which every session request answers 503."""
    failures: random.Random = field(init=False)
    jitter: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.failures = random.Random(f"{self.config.seed}:failures")
        self.jitter = random.Random(f"{self.config.seed}:jitter")
        rate = self.config.rate_limit
        if rate > 0 and self.bucket is None:
            self.bucket = TokenBucket(rate, self.config.rate_limit_burst or max(1.0, rate / 10))

    def first_time(self, id: str) -> bool:
        """True on the first call for ``id`` only."""
        if id in self.answered_once:
            return False
        self.answered_once.add(id)
        return True

    def retry_after(self) -> str:
        seconds = self.config.retry_after_s
        if not self.config.retry_after_date:
            return str(seconds)
        # Rounded up: waiting until the date is always at least `seconds`.
        when = datetime.fromtimestamp(math.ceil(time.time()) + seconds, UTC)
        return format_datetime(when, usegmt=True)

    def bump(self, share: float) -> int:
        """Add a bump round changing a ``share`` of all ids; returns its 1-based number."""
        self.rounds.append((len(self.rounds) + 1, share))
        return len(self.rounds)

    def generation(self, id: str) -> int:
        return generation(id, self.rounds, self.config.seed) if self.rounds else 0

    def delay(self) -> float:
        """Seconds to wait before answering this request."""
        base, jitter = self.config.latency_ms, self.config.latency_jitter_ms
        if jitter:
            base += self.jitter.uniform(-jitter, jitter)
        return max(0.0, base) / 1000


@functools.lru_cache(maxsize=50_000)  # ~7 KB a body: at most ~350 MB, shared by every app in the process
def _cached_body(id: str, generation: int, seed: int, locations: int, malformed: str | None) -> bytes:
    if malformed is None:
        return session_body(id, generation, seed, locations)
    return malformed_body(malformed, id, generation, seed, locations)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(code, message), status_code=status, media_type=_JSON, headers=headers)


class _RecordRequests:
    """ASGI middleware appending every request outside the control plane to the state's log."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("raw_path") or scope.get("path", "").encode()
        if scope["type"] != "http" or path.decode("latin-1").startswith(_CONTROL_PATHS):
            await self.app(scope, receive, send)
            return
        record = RequestRecord(
            time.monotonic(), scope["method"], path.decode("latin-1"), scope["query_string"].decode("latin-1")
        )
        self.state.requests.append(record)

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        await self.app(scope, receive, send_recording)


_STREAMED: dict[str, Callable[[bytes, SandboxConfig], Response]] = {
    "truncated": lambda body, config: TruncatedResponse(body),
    "slow_drip": lambda body, config: DripResponse(body, config.drip_interval_s),
    "huge_chunked": lambda body, config: ChunkedResponse(body),
    "gzip_bomb": lambda body, config: Response(body, media_type=_JSON, headers={"Content-Encoding": "gzip"}),
    "huge": lambda body, config: Response(body, media_type=_JSON),
}


def _fault_response(state: SandboxState, kind: str, id: str) -> Response:
    config = state.config
    state.counters.faults += 1
    status = http_fault_status(kind)
    if status is not None:
        return _error(status, 3000 + status, f"Sandbox fault: HTTP {status}")
    body = fault_body(kind, id, config.seed, config.locations)
    if kind in _STREAMED:
        return _STREAMED[kind](body, config)
    return Response(body, media_type="text/html" if kind == "html" else _JSON)


def _by_id(state: SandboxState, id: str) -> Response | None:
    """The answer an id asks for by its name, or None for an ordinary document."""
    lower = id.lower()
    if lower.startswith("unavailable-"):
        state.counters.faults += 1
        return _error(503, 3000, "Service temporarily unavailable")
    if lower.startswith("missing-"):
        state.counters.not_found += 1
        return _error(404, 2003, "Session not found")
    kind = fault_kind(lower)
    if kind == "":
        state.counters.bad_request += 1
        return _error(400, 2001, f"Unknown sandbox fault in {id!r}")
    if kind is not None:
        return _fault_response(state, kind, lower)
    return _refused_once(state, lower)


def _refused_once(state: SandboxState, id: str) -> Response | None:
    """``limited-*``: 429 on the first request; ``busy-*``: envelope 2004 (HTTP 200) on the first."""
    if not id.startswith(("limited-", "busy-")) or not state.first_time(id):
        return None
    state.counters.faults += 1
    if id.startswith("limited-"):
        return _error(429, 2004, "Rate limited", {"Retry-After": state.retry_after()})
    return Response(error_body(2004, "Rate limited"), media_type=_JSON)


def _down_or_unauthorized(state: SandboxState, request: Request, expected: bytes | None) -> Response | None:
    """During an outage, 503 to everything; else without the right token, 401 or 403."""
    if time.monotonic() < state.outage_until:
        state.counters.failures_503 += 1
        return _error(503, 3000, "Service temporarily unavailable (outage)")
    if expected is None:
        return None
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(f"Bearer {credential}".encode(), expected):
        state.counters.unauthorized += 1
        challenge = {"WWW-Authenticate": "Bearer"}
        return _error(state.config.auth_failure_status, 2002, "Unauthorized", challenge)
    return None


async def _outage(request: Request) -> Response:
    """``POST /_sandbox/outage?seconds=N``: every session request answers 503 for N seconds."""
    raw = request.query_params.get("seconds", "")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= 86_400:
        return _error(400, 2001, f"seconds must be a number between 0 and 86400, got {raw!r}")
    state: SandboxState = request.app.state.sandbox
    state.outage_until = time.monotonic() + seconds if seconds else 0.0
    return Response(json.dumps({"outage_s": seconds}), media_type=_JSON)


def build_app(config: SandboxConfig) -> Starlette:
    """A fresh sandbox app; its state (``app.state.sandbox``) is a :class:`SandboxState`."""
    state = SandboxState(config)
    expected = f"Bearer {config.token}".encode() if config.token is not None else None

    async def get_session(request: Request) -> Response:
        counters = state.counters
        counters.requests += 1
        refused = _down_or_unauthorized(state, request, expected)
        if refused is not None:
            return refused
        id = request.path_params["id"]
        if not ID_PATTERN.fullmatch(id):
            counters.bad_request += 1
            return _error(400, 2001, "Invalid or missing parameters")
        if state.bucket is not None and not state.bucket.take():
            counters.rate_limited += 1
            return _error(429, 2004, "Rate limited", {"Retry-After": state.retry_after()})
        delay = state.delay()
        if delay:
            await anyio.sleep(delay)
        if config.failure_rate and state.failures.random() < config.failure_rate:
            counters.failures_503 += 1
            wait = config.failure_retry_after_s
            headers = None if wait is None else {"Retry-After": str(wait)}
            return _error(503, 3000, "Service temporarily unavailable", headers)
        special = _by_id(state, id)
        if special is not None:
            return special
        kind = malformed_kind(id, config.seed, config.malformed_rate)
        body = _cached_body(id, state.generation(id), config.seed, config.locations, kind)
        if kind is None:
            counters.ok += 1
        else:
            counters.malformed += 1
        return Response(body, media_type=_JSON)

    async def bump(request: Request) -> Response:
        raw = request.query_params.get("share", "0.1")
        try:
            share = float(raw)
        except ValueError:
            share = math.nan
        if not 0 <= share <= 1:
            return _error(400, 2001, f"share must be a number between 0 and 1, got {raw!r}")
        round_no = state.bump(share)
        return Response(json.dumps({"round": round_no, "share": share}), media_type=_JSON)

    async def stats(request: Request) -> Response:
        body = {**asdict(state.counters), "rounds": [list(entry) for entry in state.rounds]}
        return Response(json.dumps(body), media_type=_JSON)

    async def requests(request: Request) -> Response:
        body = {"requests": [asdict(record) for record in state.requests]}
        return Response(json.dumps(body), media_type=_JSON)

    async def healthz(request: Request) -> Response:
        return Response(b'{"status": "ok"}', media_type=_JSON)

    app = Starlette(
        routes=[
            Route(f"{config.prefix}/sessions/{{id:path}}", get_session, methods=["GET"]),
            Route("/_sandbox/bump", bump, methods=["POST"]),
            Route("/_sandbox/outage", _outage, methods=["POST"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route("/_sandbox/requests", requests, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[Middleware(_RecordRequests, state=state)],
    )
    app.state.sandbox = state
    return app
