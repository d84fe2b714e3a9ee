"""Whether the gateway is doing its job in this run, judged from what each request got.

A run must not end green while nothing synced, nor spend an hour retrying a URL that is not
the gateway. Every attempt of the fetch stage is reported here (`attempt`):

- **answered**: a document, or an error the gateway itself gave (its JSON envelope: a 404 with
  `status_code` 2003, a bad document, ...). Once one request is answered, the URL is the
  gateway and nothing below stops the run.
- **foreign**: an error status whose body is not the gateway's JSON envelope (a proxy's HTML
  404, a wrong base path). `PROBE` of them before any answer stop the run (`GatewayUnusable`,
  exit 2), naming the URL tried.
- **unreachable**: no connection at all (refused, DNS). `PROBE` of them before any answer stop
  the run at once, naming host:port, instead of 5 attempts per id at the rate limit.

At the end (`verdict`), a run that got no answer while ids were due (an outage: every id
deferred or failed transiently) is `degraded` (exit 1); one that saw only foreign or
unreachable answers, fewer than `PROBE`, stops as above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from syncer.errors import FetchError, GatewayUnusable, TransientError
from syncer.outcomes import FailureKind

PROBE: Final = 3
"""Foreign (or unreachable) answers, with none from the gateway, that stop the run."""


@dataclass
class GatewayHealth:
    url: str
    """The gateway base URL (credentials are refused in it, so it can be shown)."""
    attempts: int = 0
    answered: int = 0
    foreign: int = 0
    unreachable: int = 0
    last_foreign: str = ""

    def attempt(self, id: str, error: FetchError | None) -> None:
        """Count one request for `id` and what it got (None: a document); raise
        `GatewayUnusable` when the first requests show that the URL is no use."""
        if error is not None and error.kind == FailureKind.INVALID_ID:
            return  # refused before any request
        self.attempts += 1
        if error is None or not (error.foreign or error.unreachable or isinstance(error, TransientError)):
            self.answered += 1
            return
        if self.answered:
            return
        if error.foreign:
            self.foreign += 1
            self.last_foreign = f"{self.url}/sessions/{id} answered HTTP {error.http_status}"
        elif error.unreachable:
            self.unreachable += 1
        if self.foreign >= PROBE or self.unreachable >= PROBE:
            raise self.unusable()

    @property
    def degraded(self) -> bool:
        """Requests were made and the gateway answered none of them."""
        return self.attempts > 0 and not self.answered

    def verdict(self) -> None:
        """At the end of the run: raise `GatewayUnusable` when nothing answered but foreign or
        unreachable ones (fewer than `PROBE` ids were tried)."""
        if not self.answered and (self.foreign or self.unreachable):
            raise self.unusable()

    def unusable(self) -> GatewayUnusable:
        if self.foreign >= self.unreachable:
            return GatewayUnusable(
                f"--gateway-url: {self.last_foreign}, not the gateway's JSON envelope"
                f" ({self.foreign} such answers, none from the gateway): check the URL and its base path"
            )
        parts = urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return GatewayUnusable(
            f"--gateway-url: cannot connect to {parts.hostname}:{port}"
            f" ({self.unreachable} attempts refused or not resolved, none answered): check the host and port"
        )
