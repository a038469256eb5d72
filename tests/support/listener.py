"""A TCP listener on loopback for end-to-end tests of what reaches "AWS": it counts the
connections it accepts and either closes them at once (a sentinel: did any call go
out?) or holds them open without answering (a black hole: does the run end in time?)."""

from __future__ import annotations

import socket
import threading


class Listener:
    """Accepts connections on a free loopback port and counts them; ``hold``: keep each
    one open, never reading or answering, until :meth:`close`."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            if self.hold:
                self._open.append(conn)  # never read, never answered, never closed
            else:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._open:
            conn.close()
        self.sock.close()
