"""A FIFO fed without end, standing in for ``/dev/zero`` (tests never touch ``/dev``)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

CHUNK = b"\0" * 65536


@contextlib.contextmanager
def endless_fifo(path: Path) -> Iterator[tuple[Path, Callable[[], int]]]:
    """A FIFO at ``path`` whose writer sends NUL bytes until the reader closes it;
    yields the path and a function that says how many bytes were written so far."""
    os.mkfifo(path)
    written = [0]
    stop = threading.Event()

    def feed() -> None:
        try:
            fd = os.open(path, os.O_WRONLY)  # blocks until a reader opens the FIFO
        except OSError:
            return
        try:
            while not stop.is_set():
                written[0] += os.write(fd, CHUNK)
        except BrokenPipeError:
            pass  # the reader stopped reading: what a bounded read does
        finally:
            os.close(fd)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield path, lambda: written[0]
    finally:
        stop.set()
        if thread.is_alive():  # no reader came: open the read end so the writer ends
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        thread.join(timeout=5)
