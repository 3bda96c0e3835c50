"""`lake app`: the QA app (lakehouse/app/), a read-only Streamlit app on 127.0.0.1."""

from __future__ import annotations

import http.client
import importlib.util
import socket
import subprocess
import sys
import time
from typing import Annotated

import typer

from lakehouse.cli.shell import _console, _fail, _open, app, state

APP_SCRIPT = "lakehouse.app.main"
READY_SECONDS = 120.0  # for the server to answer and its first run of the script to end


@app.command("app")
def qa_app(
    port: Annotated[
        int, typer.Option("--port", "-p", help="The port on 127.0.0.1 (default: a free one).")
    ] = 0,
) -> None:
    """Open the QA app: every source version and its drift, builds and their contract results
    with the failing rows, any two builds or published versions compared, lineage and the
    dictionary. Read-only, on 127.0.0.1 only, with Streamlit's usage statistics off; works on
    the local store or an S3 one, and with --env. It prints its address once it is ready (its
    first run done, so the first page opens quickly). Ctrl-C stops it."""
    found = importlib.util.find_spec(APP_SCRIPT)
    if found is None or found.origin is None or importlib.util.find_spec("streamlit") is None:
        _fail("The QA app needs streamlit: install the app extra (`pip install -e .[app]`).")
    lake = _open()
    config = lake.config.project_dir / "lakehouse.toml"
    chosen = port or _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", found.origin,
        "--server.address", "127.0.0.1", "--server.port", str(chosen),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
        # its script health check runs the script once: imports and the project, warmed
        "--server.scriptHealthCheckEnabled", "true",
        "--", "--config", str(config), *(["--env", state.env] if state.env else []),
    ]  # fmt: skip
    _console().print(f"starting the QA app on 127.0.0.1:{chosen} ...")
    try:
        with subprocess.Popen(command) as server:
            _warm_up(server, chosen)
            _console().print(f"QA app at http://127.0.0.1:{chosen}/ (Ctrl-C stops it)")
            code = server.wait()
    except KeyboardInterrupt:  # the way to stop it
        code = 0
    raise typer.Exit(code)


def _warm_up(server: subprocess.Popen[bytes], port: int) -> None:
    """Wait until the server answers, then have it run the script once (Streamlit's script
    health check), so that the first page a person opens does not pay for the imports; a
    server that never answers is left to say why itself."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        if _status(port, "/_stcore/health") == 200:
            _status(port, "/_stcore/script-health-check")  # a failing script still opens
            return
        time.sleep(0.1)


def _status(port: int, path: str) -> int | None:
    """The HTTP status the app answers `path` with (None: not listening yet)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READY_SECONDS)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
