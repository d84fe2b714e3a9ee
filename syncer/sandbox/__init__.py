"""A simulated EVnnovator gateway: realistic, deterministic session documents over real HTTP.

An independent fake of someone else's server: it shares no code with the syncer's own parsing,
so the syncer's tests cannot pass by agreeing with themselves.
"""

from syncer.sandbox.app import build_app
from syncer.sandbox.config import SandboxConfig
from syncer.sandbox.server import running_sandbox, running_sandbox_in_thread, serve

__all__ = ["SandboxConfig", "build_app", "running_sandbox", "running_sandbox_in_thread", "serve"]
