"""Typer commands: parse options, build Settings, call one function, map errors to exit codes.

Exit codes (the contract): 0 all synced/unchanged/stale/not found; 1 some ids failed;
2 bad usage, configuration or database unreachable; 3 gateway refused the credentials;
130/143 interrupted by SIGINT/SIGTERM after a clean drain.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer._click.exceptions import UsageError  # Typer vendors Click; its errors live here

from syncer.errors import ConfigError, CredentialsRejected, DatabaseUnavailable, SyncerError

app = typer.Typer(
    name="syncer",
    help="Copies EV-charging sessions from the operator's gateway into SQL tables.\n\n"
    "Example: syncer run --ids ids.txt --gateway-url https://host/api/v1 (token in SYNCER_TOKEN)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from syncer import __version__

        typer.echo(f"syncer {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit", is_eager=True, callback=_version)
    ] = False,
) -> None:
    """Copies EV-charging sessions from the operator's gateway into SQL tables."""


def _fail(code: int, message: str) -> None:
    print(f"syncer: error: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr for every expected error, and the contract's exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="syncer", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except UsageError as error:
        where = f" ({error.ctx.command_path})" if error.ctx else ""
        _fail(2, f"{error.format_message()}{where}")
    except typer.Abort:
        _fail(130, "aborted")
    except (ConfigError, DatabaseUnavailable) as error:
        _fail(2, str(error))
    except CredentialsRejected as error:
        _fail(3, str(error))
    except SyncerError as error:
        _fail(1, str(error))
    except Exception as error:
        message = _database_error(error)
        if message is None:
            raise
        _fail(2, message)
    except KeyboardInterrupt:
        _fail(130, "interrupted")
    sys.exit(code if isinstance(code, int) else 0)


def _database_error(error: Exception) -> str | None:
    """One line for an error of the database library, else None. Looked up in `sys.modules`:
    the CLI does not import SQLAlchemy itself, and when nothing did, no error can be one of its."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(error, sa_exc.SQLAlchemyError):
        return None
    first = str(error.orig if isinstance(error, sa_exc.DBAPIError) else error).strip().splitlines()
    return f"database error: {type(error).__name__}: {first[0] if first else ''}"
