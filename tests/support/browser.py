"""Headless chromium, driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: the browser reads commands on fd 3 and writes answers and
events on fd 4, JSON messages ended by NUL), with the standard library only.

:meth:`Browser.visit` opens a page at a viewport size and reports what it did: every
request it made, every console message, log entry and uncaught exception, the values
of expressions evaluated in it, and a screenshot."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0  # seconds for any one answer or event


# Runs the browser with the two pipe ends given as fds 3 and 4 (moved above 9 first, so
# that neither is overwritten before it is moved).
_ON_FDS_3_AND_4 = """
import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
for target, fd in zip((3, 4), ends):
    os.dup2(fd, target)
os.execvp(sys.argv[3], sys.argv[3:])
"""


def find_chromium() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


@dataclass
class Visit:
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console: list[str] = field(default_factory=list)  # console calls and log entries
    exceptions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # the expressions' results
    screenshot: Path | None = None


class Browser:
    def __init__(self, binary: str, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        args = [
            "--headless=new",
            "--remote-debugging-pipe",
            "--no-sandbox",  # root in a container
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        fds = (commands_read, answers_write)
        self._log_path = profile / "stderr.log"  # chromium logs a lot: never a full pipe
        self._log = self._log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ON_FDS_3_AND_4, *map(str, fds), binary, *args],
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> str:
        """Stop the browser; its stderr."""
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._answers)
        self._log.close()
        return self._log_path.read_text("utf-8", "replace")

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise RuntimeError(f"chromium exited: {self._stderr()}") from None
        while True:
            answer = self._receive()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            self.events.append(self._receive())

    def _stderr(self) -> str:
        """The end of the stderr of a browser that stopped ("" while it runs)."""
        if self.process.poll() is None:
            return ""
        return self._log_path.read_text("utf-8", "replace")[-2000:]

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._answers], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed its pipe: {self._stderr()}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def visit(
        self,
        url: str,
        width: int,
        height: int,
        expressions: dict[str, str],
        screenshot: Path,
    ) -> Visit:
        """Open ``url`` in a new tab of ``width`` x ``height`` (a phone's when narrow),
        evaluate ``expressions`` once it has loaded, take a screenshot, close the tab."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1}
        self.send("Emulation.setDeviceMetricsOverride", {**metrics, "mobile": width < 600}, session)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        visit = Visit()
        for name, expression in expressions.items():
            answer = self.send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
            )
            if "exceptionDetails" in answer:
                visit.exceptions.append(f"{name}: {answer['exceptionDetails']}")
            visit.values[name] = answer.get("result", {}).get("value")
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        visit.screenshot = screenshot
        self.send("Target.closeTarget", {"targetId": target})
        _collect(visit, [e for e in self.events if e.get("sessionId") == session])
        return visit


def _collect(visit: Visit, events: list[dict[str, Any]]) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            words = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            visit.console.append(f"{params['type']}: {' '.join(words)}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            visit.console.append(f"{entry['level']} ({entry['source']}): {entry['text']}")
        elif method == "Runtime.exceptionThrown":
            visit.exceptions.append(json.dumps(params["exceptionDetails"]))
