"""A `postgresql://` URL as libpq users write it, translated for asyncpg (through SQLAlchemy).

asyncpg takes keyword arguments, not libpq's URL parameters: SQLAlchemy passes every query
parameter through, so `?sslmode=require` used to end in a `TypeError`. Here each parameter libpq
users rely on is translated, and any other one is refused by name:

    sslmode=disable|allow|prefer|require|verify-ca|verify-full   -> ssl (a context when verifying)
    sslrootcert=PATH  sslcert=PATH  sslkey=PATH                  -> that context's files
    connect_timeout=SECONDS                                      -> timeout
    application_name=NAME                                        -> server_settings (default syncer)
    options=-c name=value [-c …]                                 -> server_settings
    target_session_attrs=…                                       -> target_session_attrs

Every connection also gets TCP keepalives on the server side (`tcp_keepalives_*`) and, by the
caller (`database.py`), on ours.
"""

from __future__ import annotations

import shlex
import ssl
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from syncer.errors import ConfigError

APPLICATION_NAME = "syncer"
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
}
"""The server notices a vanished syncer (SIGKILL, node lost) within about a minute and ends its
session, releasing its locks."""

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SUPPORTED = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
)


def translate(
    url: sa.engine.URL, *, connect_timeout: float, command_timeout: float
) -> tuple[sa.engine.URL, dict[str, Any]]:
    """The URL without its query, and asyncpg's connect arguments for it."""
    query = {key: _single(key, value) for key, value in url.query.items()}
    unknown = sorted(set(query) - set(SUPPORTED))
    if unknown:
        raise ConfigError(
            f"--database-url: unsupported parameter {unknown[0]!r} (supported: {', '.join(SUPPORTED)})"
        )
    server_settings = {"application_name": query.get("application_name") or APPLICATION_NAME}
    server_settings.update(SERVER_KEEPALIVES)
    if "options" in query:
        server_settings.update(_options(query["options"]))
    if "connect_timeout" in query:
        connect_timeout = _seconds("connect_timeout", query["connect_timeout"])
    args: dict[str, Any] = {
        "timeout": connect_timeout,
        "command_timeout": command_timeout,
        "server_settings": server_settings,
    }
    tls = _ssl(query)
    if tls is not None:
        args["ssl"] = tls
    if "target_session_attrs" in query:
        args["target_session_attrs"] = query["target_session_attrs"]
    return url.set(query={}), args


def _single(key: str, value: str | tuple[str, ...]) -> str:
    if isinstance(value, tuple):
        raise ConfigError(f"--database-url: parameter {key!r} is given more than once")
    return value


def _seconds(key: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"--database-url: {key}={value!r} must be a number of seconds between 0 and 3600")
    return seconds


def _options(value: str) -> dict[str, str]:
    """libpq's `options`: `-c name=value` pairs (also `-cname=value` and `--name=value`)."""
    try:
        words = shlex.split(value)
    except ValueError:
        words = []
    settings: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            pair, i = words[i + 1], i + 2
        elif (word.startswith("-c") and len(word) > 2) or (word.startswith("--") and "=" in word):
            pair, i = word[2:], i + 1
        else:
            raise ConfigError(f"--database-url: options={value!r}: only '-c name=value' is supported")
        name, sep, setting = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--database-url: options={value!r}: expected '-c name=value'")
        settings[name.replace("-", "_")] = setting
    return settings


def _ssl(query: dict[str, str]) -> ssl.SSLContext | str | bool | None:
    mode = query.get("sslmode")
    files = {key: query[key] for key in ("sslrootcert", "sslcert", "sslkey") if key in query}
    for key, path in files.items():
        if not Path(path).expanduser().is_file():
            raise ConfigError(f"--database-url: {key}: no such file: {path}")
    if mode is None:
        if not files:
            return None  # asyncpg's default, as libpq's: prefer
        mode = "verify-full" if "sslrootcert" in files else "prefer"
    if mode not in SSLMODES:
        raise ConfigError(f"--database-url: sslmode={mode!r} must be one of {', '.join(SSLMODES)}")
    if mode == "disable":
        return False
    if mode == "require" and "sslrootcert" in files:
        mode = "verify-ca"  # as libpq: a root certificate given means verify it
    if mode in ("allow", "prefer", "require") and "sslcert" not in files:
        return mode
    context = ssl.create_default_context(cafile=_path(files.get("sslrootcert")))
    if mode in ("allow", "prefer", "require"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif mode == "verify-ca":
        context.check_hostname = False
    if "sslcert" in files:
        context.load_cert_chain(str(_path(files["sslcert"])), _path(files.get("sslkey")))
    return context


def _path(value: str | None) -> str | None:
    return str(Path(value).expanduser()) if value else None
