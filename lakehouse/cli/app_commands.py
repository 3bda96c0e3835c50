"""`lake app`: the QA app (lakehouse/app/), a read-only Streamlit app on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from typing import Annotated

import typer

from lakehouse.cli.shell import _console, _fail, _open, app, state

APP_SCRIPT = "lakehouse.app.main"


@app.command("app")
def qa_app(
    port: Annotated[
        int, typer.Option("--port", "-p", help="The port on 127.0.0.1 (default: a free one).")
    ] = 0,
) -> None:
    """Open the QA app: every source version and its drift, builds and their contract results
    with the failing rows, any two builds or published versions compared, lineage and the
    dictionary. Read-only, on 127.0.0.1 only, with Streamlit's usage statistics off; works on
    the local store or an S3 one, and with --env. Ctrl-C stops it."""
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
        "--global.developmentMode", "false",
        "--", "--config", str(config), *(["--env", state.env] if state.env else []),
    ]  # fmt: skip
    _console().print(f"QA app at http://127.0.0.1:{chosen}/ (Ctrl-C stops it)")
    try:
        code = subprocess.call(command)
    except KeyboardInterrupt:  # the way to stop it
        code = 0
    raise typer.Exit(code)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
