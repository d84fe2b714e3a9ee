"""libpq URL parameters become asyncpg's arguments, or are refused by name (one line, exit 2)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.errors import ConfigError
from syncer.warehouse.database import create_engine
from syncer.warehouse.pg_url import translate


def args(query: str) -> dict[str, object]:
    url = sa.engine.make_url(f"postgresql+asyncpg://u:p%40ss@db.example:5433/warehouse{query}")
    bare, connect_args = translate(url, connect_timeout=10, command_timeout=60)
    assert bare.query == {}
    assert bare.password == "p@ss"
    return connect_args


def test_defaults_set_timeouts_application_name_and_keepalives() -> None:
    got = args("")
    assert got["timeout"] == 10 and got["command_timeout"] == 60
    settings = got["server_settings"]
    assert isinstance(settings, dict)
    assert settings["application_name"] == "syncer"
    assert settings["tcp_keepalives_idle"] == "30"
    assert "ssl" not in got


def test_libpq_parameters_are_translated() -> None:
    got = args(
        "?sslmode=require&connect_timeout=7&application_name=nightly&options=-c%20statement_timeout%3D5s"
    )
    assert got["ssl"] == "require"
    assert got["timeout"] == 7.0
    settings = got["server_settings"]
    assert isinstance(settings, dict)
    assert settings["application_name"] == "nightly"
    assert settings["statement_timeout"] == "5s"
    assert args("?sslmode=disable")["ssl"] is False


def test_verifying_modes_build_a_context_from_the_root_certificate(tmp_path: Path) -> None:
    import certifi

    root = tmp_path / "root.crt"
    root.write_bytes(Path(certifi.where()).read_bytes())
    full = args(f"?sslmode=verify-full&sslrootcert={root}")["ssl"]
    assert isinstance(full, ssl.SSLContext) and full.check_hostname
    assert full.verify_mode == ssl.CERT_REQUIRED
    ca = args(f"?sslmode=verify-ca&sslrootcert={root}")["ssl"]
    assert isinstance(ca, ssl.SSLContext) and not ca.check_hostname
    assert ca.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("?sslmode=sometimes", "sslmode"),
        ("?sslrootcert=/no/such/root.crt", "sslrootcert"),
        ("?connect_timeout=soon", "connect_timeout"),
        ("?options=-x", "options"),
        ("?keepalives=1", "'keepalives'"),
        ("?sslmode=require&sslmode=disable", "sslmode"),
    ],
)
def test_a_parameter_it_cannot_honour_is_refused_by_name(query: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        args(query)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("--database-url")


def test_the_engine_takes_the_translated_url() -> None:
    engine = create_engine("postgresql://u@127.0.0.1:1/db?sslmode=disable&application_name=x")
    assert engine.url.query == {}
