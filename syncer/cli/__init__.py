"""The command line: Typer commands that parse options, build `Settings`, call one function of
the pipeline, warehouse or sandbox, and map errors to the contract's exit codes.

May import: settings, errors, observe.logs. Everything heavier (HTTP, databases, the pipeline)
is imported inside the command that needs it, so `syncer --help` starts fast (a test holds it:
importing the CLI imports no HTTP or database library).
"""

from syncer.cli import inspect, queue, sync, tools, warehouse
from syncer.cli.app import app, main

app.add_typer(queue.queue_app, name="queue")

__all__ = ["app", "inspect", "main", "sync", "tools", "warehouse"]
