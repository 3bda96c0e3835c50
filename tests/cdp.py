"""A small Chrome DevTools Protocol driver for pages that render after load (the QA app draws
itself over a websocket): headless Chromium with the safety flags of tests/browser.py, one
page, its text once the wanted text is there, a screenshot, and every request the page made
(from Chromium's net log, complete once the browser has closed).

    with open_browser(work) as browser:
        browser.goto("http://127.0.0.1:8501/?page=builds")
        browser.wait_for_text("Published", timeout=30)
        browser.screenshot(work / "builds.png")
    requests = browser.requests()  # after the browser closed
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.browser import FLAGS, chromium, page_requests

START_SECONDS = 30.0
CLOSE_SECONDS = 10.0
POLL_SECONDS = 0.1
# tests/browser.py's rules resolve no name at all, 127.0.0.1 included (its pages are files);
# a page served on loopback needs that one address, and still nothing else
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
PAGE_TEXT = """(() => {
  if (!document.body) return "";
  const grids = Array.from(document.querySelectorAll("table[role=grid]"), grid =>
    Array.from(grid.querySelectorAll("tr"), row =>
      Array.from(row.querySelectorAll("th, td"), cell => cell.textContent).join("\\t")
    ).join("\\n"));
  return [document.body.innerText, ...grids].join("\\n\\n");
})()"""
SAFE_FLAGS = [LOOPBACK_ONLY if f.startswith("--host-resolver-rules=") else f for f in FLAGS]
assert LOOPBACK_ONLY in SAFE_FLAGS, "tests/browser.py no longer sets --host-resolver-rules"


class Browser:
    """One headless Chromium with one page, driven over the DevTools websocket."""

    def __init__(self, work: Path, width: int = 1280, height: int = 1600) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.net_log = work / "net-log.json"
        profile = work / "profile"
        self._log = (work / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [chromium(), *SAFE_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             f"--log-net-log={self.net_log}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self._log,
            start_new_session=True,  # its own process group, to kill every child on failure
        )  # fmt: skip
        self._ids = itertools.count(1)
        self._socket: ClientConnection | None = None
        try:
            port = self._debugging_port(profile / "DevToolsActivePort")
            connection = connect(self._page_socket_url(port), max_size=None, proxy=None)
            self._socket = connection.__enter__()  # left by `close`
        except BaseException:
            self.kill()
            raise

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def inner_text(self) -> str:
        """The page's visible text, then the cells of its data grids, a row a line, tab
        separated (Streamlit's st.dataframe draws on a canvas; its accessible table holds the
        cells in view)."""
        return str(self.evaluate(PAGE_TEXT))

    def wait_for_text(self, text: str, timeout: float = 30.0) -> str:
        """The page's text once it contains `text`; fails with what the page showed instead."""
        return self.wait_for(lambda shown: text in shown, repr(text), timeout)

    def wait_for(self, shows: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        """The page's text once `shows(text)` holds; fails with what the page showed instead."""
        deadline = time.monotonic() + timeout
        shown = self.inner_text()
        while not shows(shown):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not shown within {timeout} s; the page shows:\n"
                                     f"{shown[:3000]}")  # fmt: skip
            time.sleep(POLL_SECONDS)
            shown = self.inner_text()
        return shown

    def screenshot(self, path: Path) -> Path:
        found = self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(found["data"]))
        return path

    def evaluate(self, expression: str) -> Any:
        found = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in found:
            raise AssertionError(f"{expression!r} failed in the page: {found['exceptionDetails']}")
        return found["result"].get("value")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events that arrive meanwhile are dropped)."""
        assert self._socket is not None, "the browser is closed"
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=START_SECONDS))
            if message.get("id") != number:
                continue
            if "error" in message:
                raise AssertionError(f"DevTools {method} failed: {message['error']}")
            return dict(message.get("result", {}))

    def close(self) -> None:
        """Quit Chromium, so that it finishes its net log; kill it if it does not."""
        if self._socket is not None:
            with contextlib.suppress(ConnectionClosed):  # it may close before answering
                self.send("Browser.close")
            self._socket.__exit__(None, None, None)
            self._socket = None
        try:
            self.process.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("chromium did not quit; it was killed") from None
        self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()

    def requests(self) -> list[str]:
        """The URLs the page asked for (read after `close`: the net log is complete then)."""
        return page_requests(self.net_log)

    def _debugging_port(self, active_port: Path) -> int:
        """Chromium writes the port it chose into the profile once it listens."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"chromium exited with code {self.process.returncode}")
            lines = active_port.read_text().splitlines() if active_port.exists() else []
            if len(lines) == 2 and lines[0].isdigit():  # the port, then the browser's path
                return int(lines[0])
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"chromium did not open its debugging port in {START_SECONDS} s")

    def _page_socket_url(self, port: int) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/json/list")
            targets = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        pages = [t for t in targets if t.get("type") == "page"]
        assert pages, f"chromium has no page to drive: {targets}"
        return str(pages[0]["webSocketDebuggerUrl"])


@contextmanager
def open_browser(work: Path, width: int = 1280, height: int = 1600) -> Iterator[Browser]:
    """A browser that is closed (or killed, on failure) when the block ends."""
    browser = Browser(work, width, height)
    try:
        yield browser
    except BaseException:
        browser.kill()
        raise
    browser.close()


@contextmanager
def lake_app(config: Path, timeout: float = 60.0) -> Iterator[str]:
    """`lake app` on a free loopback port, as a user starts it; yields its base URL once
    Streamlit's health check answers and `lake app` has printed its address (as a person
    waits for), and stops it (its whole process group) at the end. Its
    output goes to lake-app-<port>.log beside the config, and into the error if it fails."""
    port = free_port()
    log_path = config.parent / f"lake-app-{port}.log"
    command = ["-m", "lakehouse.cli", "--config", str(config), "app", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *command], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # `lake` runs streamlit in a child: stop both
        )  # fmt: skip
        try:
            if not _healthy(process, port, timeout) or not _ready(process, log_path, timeout):
                raise AssertionError(
                    f"`lake app` did not answer on port {port} within {timeout} s (exit code "
                    f"{process.poll()}); its output:\n{log_path.read_text()[-3000:]}"
                )
            yield f"http://127.0.0.1:{port}/"
        finally:
            _stop_group(process)


def _ready(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> bool:
    """Whether `lake app` printed its address (it does once its first run is done) in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if "QA app at http" in log_path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(process: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    """Whether Streamlit's health check answers "ok" before the timeout (or the exit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/_stcore/health")
            if connection.getresponse().read() == b"ok":
                return True
        except OSError:
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(POLL_SECONDS)
    return False


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group (Streamlit stops on it); SIGKILL to what is left of it
    after CLOSE_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + CLOSE_SECONDS
    while time.monotonic() < deadline and _group_alive(process):
        time.sleep(POLL_SECONDS)
    if _group_alive(process):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    process.poll()  # reaps the leader once it exits; its children are Streamlit's
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def metric_shown(text: str, label: str, value: str) -> bool:
    """Whether the page's text shows a Streamlit metric `label` with exactly `value` (its
    label, then its value on the next line of text)."""
    return re.search(rf"(?m)^{re.escape(label)}\s*\n\s*{re.escape(value)}$", text) is not None
