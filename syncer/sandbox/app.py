"""The sandbox gateway as an ASGI app: ``GET {prefix}/sessions/{id}`` plus a small control plane.

Order of checks for a session request, as a gateway in front of an API would do them:
credentials (401), id syntax (400), rate limit (429), latency, injected failure (503),
unknown id (404, ids starting with ``missing-``), then the document (malformed for some ids).
Bodies are cached per (id, generation), so a repeated request costs no generation work.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncer.sandbox.config import SandboxConfig
from syncer.sandbox.faults import malformed_body, malformed_kind
from syncer.sandbox.generate import ID_PATTERN, error_body, generation, session_body

__all__ = ["Counters", "SandboxState", "TokenBucket", "build_app"]

_JSON = "application/json"


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
    failures: random.Random = field(init=False)
    jitter: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.failures = random.Random(f"{self.config.seed}:failures")
        self.jitter = random.Random(f"{self.config.seed}:jitter")
        if self.config.rate_limit > 0 and self.bucket is None:
            self.bucket = TokenBucket(self.config.rate_limit, max(1.0, self.config.rate_limit / 10))

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


def build_app(config: SandboxConfig) -> Starlette:
    """A fresh sandbox app; its state (``app.state.sandbox``) is a :class:`SandboxState`."""
    state = SandboxState(config)
    expected = f"Bearer {config.token}".encode() if config.token is not None else None

    async def get_session(request: Request) -> Response:
        counters = state.counters
        counters.requests += 1
        if expected is not None:
            given = request.headers.get("authorization", "")
            scheme, _, credential = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                f"Bearer {credential}".encode(), expected
            ):
                counters.unauthorized += 1
                return _error(401, 2002, "Unauthorized", {"WWW-Authenticate": "Bearer"})
        id = request.path_params["id"]
        if not ID_PATTERN.fullmatch(id):
            counters.bad_request += 1
            return _error(400, 2001, "Invalid or missing parameters")
        if state.bucket is not None and not state.bucket.take():
            counters.rate_limited += 1
            return _error(429, 2004, "Rate limited", {"Retry-After": "1"})
        delay = state.delay()
        if delay:
            await anyio.sleep(delay)
        if config.failure_rate and state.failures.random() < config.failure_rate:
            counters.failures_503 += 1
            return _error(503, 3000, "Service temporarily unavailable")
        if id.lower().startswith("missing-"):
            counters.not_found += 1
            return _error(404, 2003, "Session not found")
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

    async def healthz(request: Request) -> Response:
        return Response(b'{"status": "ok"}', media_type=_JSON)

    app = Starlette(
        routes=[
            Route(f"{config.prefix}/sessions/{{id:path}}", get_session, methods=["GET"]),
            Route("/_sandbox/bump", bump, methods=["POST"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
    app.state.sandbox = state
    return app
