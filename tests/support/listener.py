"""A TCP listener on loopback for end-to-end tests of what reaches "AWS": it counts the
connections it accepts and either closes them at once (a sentinel: did any call go
out?) or holds them open without answering (a black hole: does the run end in time?);
:class:`Answering` answers every request 200 with a fixed body (a proxy, not AWS)."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


class Answering:
    """An HTTP server on loopback that answers every request ``200`` with ``body`` as
    ``content_type`` (a proxy's page, a JSON ``{}``), counting the requests."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


class Dripping:
    """An HTTP endpoint on loopback that reads each request, then answers one byte
    every ``interval`` seconds without end (a status line, then a header that never
    ends): each byte restarts a read timeout, so only a bound on the whole call ends
    the call.  Counts the requests; each connection has its own thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def settled_requests(self, seconds: float = 5.0) -> int:
        """The request count once it is non-zero and unchanged for half a second (a
        client that gave up may still be sending from its abandoned worker), waiting at
        most ``seconds``."""
        deadline = time.monotonic() + seconds
        last = self.requests
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if self.requests and self.requests == last:
                break
            last = self.requests
        return self.requests

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                self.requests += 1
                answer = b"HTTP/1.1 200 OK\r\nX-Drip: "
                sent = 0
                while not self._stop.is_set():
                    conn.sendall(answer[sent : sent + 1] if sent < len(answer) else b"a")
                    sent += 1
                    self._stop.wait(self.interval)
            except OSError:
                return  # the client gave up and closed the connection

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
