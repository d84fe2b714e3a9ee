"""A TCP proxy the tests control, in front of the real PostgreSQL: database faults over real sockets.

    with TcpProxy(("127.0.0.1", 5432)) as proxy:   # proxy.port forwards to PostgreSQL
        proxy.cut()          # reset every open connection (new ones still pass)
        proxy.refuse()       # reset them and refuse new ones (nothing listens on the port)
        proxy.black_hole()   # accept, but forward nothing either way, on old and new connections
        proxy.restore()      # forward again (listening again on the same port)

Threads, one per connection, so a test can drive it from plain synchronous code while the
worker runs in a subprocess.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from types import TracebackType

Address = tuple[str, int]


class TcpProxy:
    def __init__(self, target: Address) -> None:
        self.target = target
        self.forwarding = True
        self.closed = False
        self.accepted = 0
        """Connections accepted so far (a worker that reconnects after a cut opens new ones)."""
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    # -- control --------------------------------------------------------------------------

    def cut(self) -> int:
        """Reset every open connection; new connections still pass. How many sockets were open."""
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _reset(sock)
        return len(sockets)

    def refuse(self) -> None:
        """Connections refused: nothing listens on the port, and open ones are reset."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            listener.close()
        self.cut()

    def black_hole(self) -> None:
        """Nothing forwarded either way, on open connections and on new ones (still accepted)."""
        self.forwarding = False

    def restore(self) -> None:
        self.forwarding = True
        if self._listener is None:
            self._listen(self.port)

    def close(self) -> None:
        self.closed = True
        self.refuse()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @property
    def connections(self) -> int:
        """Sockets open through the proxy (two per proxied connection)."""
        with self._lock:
            return len(self._sockets)

    # -- plumbing -------------------------------------------------------------------------

    def _listen(self, port: int = 0) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(50):  # the old socket of this port may take a moment to go
            try:
                listener.bind(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.1)
        else:
            listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self.closed and self._listener is listener:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:  # refused meanwhile
                _reset(client)
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        try:
            while not self.forwarding:  # a black hole: accepted, never answered
                if client not in self._sockets or self.closed:
                    return
                time.sleep(0.05)
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            _reset(client)
            return
        self._track(upstream)
        self._pump(client, upstream)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        other = {a: b, b: a}
        try:
            while a in self._sockets and b in self._sockets:
                if not self.forwarding:
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    other[sock].sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._sockets.discard(a)
                self._sockets.discard(b)
            _reset(a)
            _reset(b)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (linger 0), as a dropped connection looks to both ends."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
