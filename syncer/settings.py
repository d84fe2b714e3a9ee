"""Frozen run settings: command-line options over `SYNCER_*` environment variables over defaults.

`load_settings(**options)` takes the options the user gave on the command line (None = not
given) and raises `ConfigError` with one line naming the option and what to fix.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from syncer.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./syncer.db"
MIN_TOKEN_CHARS: Final = 8
"""A shorter token could not be redacted safely: `***` in place of every `abc` of every log line."""
OTHER_VARIABLES: Final = frozenset({"SYNCER_EVENT_LOOP", "SYNCER_SIMULATE_TOKEN"})
"""`SYNCER_*` variables read elsewhere than `Settings` (event_loop.py, `syncer simulate`)."""
IGNORED_PREFIX: Final = "SYNCER_TEST_"
"""The test suite's own variables (`SYNCER_TEST_PG_URL`, `SYNCER_TEST_DB_PREFIX`): never an error."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCER_", frozen=True, extra="forbid")

    gateway_url: str | None = None
    token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    concurrency: int = Field(default=32, ge=1, le=1024)
    rate: float = Field(default=20.0, ge=0)
    max_attempts: int = Field(default=5, ge=1, le=100)
    timeout: float = Field(default=30.0, gt=0, le=600)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    limit: int | None = Field(default=None, ge=1)
    max_runtime: float | None = Field(default=None, gt=0)
    failed_out: Path | None = None
    log_format: Literal["json", "console"] | None = None
    progress: bool | None = None
    shutdown_grace: float = Field(default=25.0, ge=0)
    lease_seconds: float = Field(default=120.0, gt=0)
    processes: int = Field(default=1, ge=1, le=64)
    shard: str | None = None
    """"K/N": only the ids that hash into shard K of N (see `shard_of`)."""
    summary_out: Path | None = None
    """Where `run` also writes its summary as JSON (used by `--processes` to add them up)."""
    progress_interval: float = Field(default=30.0, gt=0, le=86_400)
    """Seconds between `run.progress` lines (off a terminal) and `sync_runs` heartbeats."""
    pushgateway_url: str | None = None
    """Where batch runs push their metrics (at the end and each progress interval)."""
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    """Serve the metrics on this port while the command runs."""
    global_rate: float | None = Field(default=None, gt=0)
    """Requests per second for every worker sharing this database (each takes its share)."""
    max_retry_after: float = Field(default=60.0, gt=0, le=3600)
    """The longest `Retry-After` honoured, in seconds."""
    until_empty: bool = False
    """`run --queue`: wait out deferred ids instead of exiting when nothing is due."""
    db_schema: str | None = None
    """The PostgreSQL schema that holds every table (default: the connection's search_path)."""
    db_retry_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How long a lost database connection is retried before the run stops (exit 2)."""
    queue_backoff_seconds: float = Field(default=30.0, gt=0, le=3600)
    """`run --queue`: an id deferred after a transient failure waits this long, doubling with
    each attempt (with jitter, capped at an hour), before it is claimed again."""
    db_timeout: float = Field(default=60.0, gt=0, le=3600)
    """Seconds to wait for one database statement's answer before the connection counts as lost."""
    max_inflight_mb: float = Field(default=64.0, ge=1, le=65_536)
    """Megabytes of documents held at once between the fetch and the write stages (each counted
    at `pipeline.budget.COST_FACTOR` times its body's size: parsed rows cost more than bytes)."""
    future_tolerance: float = Field(default=86_400.0, ge=0, le=365 * 86_400)
    """Seconds a document's `last_updated` may be ahead of this worker's clock; further ahead
    it fails as `future_version` and is not stored (it would make every later version stale)."""

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        if value is None:
            return None
        k, sep, n = value.strip().partition("/")
        if not (sep and k.isdigit() and n.isdigit() and 0 <= int(k) < int(n)):
            raise ValueError("must be K/N with 0 <= K < N, e.g. 0/4")
        return f"{int(k)}/{int(n)}"

    @property
    def shard_spec(self) -> tuple[int, int] | None:
        if self.shard is None:
            return None
        k, _, n = self.shard.partition("/")
        return int(k), int(n)

    @field_validator("gateway_url")
    @classmethod
    def _gateway_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "@" in urlsplit(value).netloc:
            raise ValueError("must not hold credentials (user:password@); give the token with SYNCER_TOKEN")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value().strip()  # secrets mounted from files often end in a newline
        if not text:
            return None
        if len(text) < MIN_TOKEN_CHARS:
            raise ValueError(f"is shorter than {MIN_TOKEN_CHARS} characters: too short to redact safely")
        return SecretStr(text)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+asyncpg:")):
            raise ValueError("must be sqlite:///PATH or postgresql://USER@HOST/DB")
        return value

    @field_validator("db_schema")
    @classmethod
    def _db_schema(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise ValueError("must be a lower-case SQL name (letters, digits, _), e.g. analytics")
        return value

    @property
    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None

    def require_gateway(self) -> str:
        if not self.gateway_url:
            raise ConfigError("--gateway-url (or SYNCER_GATEWAY_URL) is required, e.g. https://host/api/v1")
        return self.gateway_url


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def unknown_variables(environ: dict[str, str] | None = None) -> ConfigError | None:
    """The error for the first `SYNCER_*` variable nothing reads (a typo silently ignored
    otherwise), with the closest known name; None when all are known. `SYNCER_TEST_*` are the
    test suite's own and are ignored."""
    env = os.environ if environ is None else environ
    known = {f"SYNCER_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    for key in sorted(env):
        upper = key.upper()
        if not upper.startswith("SYNCER_") or upper.startswith(IGNORED_PREFIX) or upper in known:
            continue
        close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "; see syncer run --help"
        return ConfigError(f"{key[:60]}: unknown variable{hint}")
    return None


def load_settings(**options: Any) -> Settings:
    given = {key: value for key, value in options.items() if value is not None}
    unknown = unknown_variables()
    if unknown is not None:
        raise unknown
    try:
        return Settings(**given)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        source = _option(name) if name in given else f"SYNCER_{name.upper()}"
        raise ConfigError(f"{source}: {first['msg']}") from None
