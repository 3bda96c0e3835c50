"""The shell every `lake` command shares: the app, options, errors as one sentence, progress."""

from __future__ import annotations

import errno
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from lakehouse.cli.json_output import print_error
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from rich.console import Console

    from lakehouse.progress import Progress
    from lakehouse.project import Lakehouse

T = TypeVar("T")

app = typer.Typer(
    name="lake",
    help=(
        "A lakehouse on DuckDB and Parquet: archive raw sources as immutable versions, build "
        "products from locked versions with contracts at every layer, see what changed (QA), "
        "publish and package versions, and explore any of them.\n\n"
        "Start with `lake init` and `lake demo` (sample data), then `lake ingest`, `lake lock "
        "pluto_lite`, `lake build pluto_lite`, `lake qa report diff pluto_lite`, `lake publish "
        "pluto_lite`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _State:
    debug = False
    config: Path | None = None
    env: str | None = None
    # the command whose --json is on: errors are then printed as its JSON envelope on stdout
    json_command: str | None = None


state = _State()


def _json_mode(command: str, enabled: bool) -> None:
    """Turn JSON mode on for `command` when `enabled` (its --json), before anything can fail:
    `_run` and `_fail` then print errors as JSON (lakehouse/cli/json_output.py)."""
    state.json_command = command if enabled else None


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM}


def _run(action: Callable[[], T]) -> T:
    """Run a library call; errors become one sentence and exit code 1 (traceback with --debug)."""
    from lakehouse.records import DamagedRecordWarning

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DamagedRecordWarning)
            result = action()
        _print_damage(caught)
        return result
    except LakehouseError as exc:
        if state.debug:
            raise
        _say_error(exc.__class__.__name__, str(exc), f"[red]Error:[/red] {_text(exc)}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        said = "nothing was committed."
        _say_error("Interrupted", f"Interrupted: {said}", f"[red]Interrupted[/red]: {said}")
        raise typer.Exit(130) from None
    except Exception as exc:
        if state.debug:
            raise
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
            where = f" {exc.filename}" if exc.filename else ""
            problem = f"could not write{where}: {exc.strerror}"
            advice = (
                "; free space or fix the permissions, then run the command again (it finishes "
                "or removes what this run left)."
            )
            said = _text(Exception(problem))
            _say_error("StorageError", problem + advice, f"[red]Error:[/red] {said}{advice}")
            raise typer.Exit(1) from None
        kind = exc.__class__.__name__
        advice = " (run again with --debug for the traceback, and report it)."
        said = f"{kind}: {_text(exc)}{advice}"
        _say_error(kind, f"{exc}{advice}", f"[red]Unexpected error:[/red] {said}")
        raise typer.Exit(2) from None


def _say_error(kind: str, message: str, text: str) -> None:
    """An error: in JSON mode its envelope on stdout (`kind` its type), else `text` (rich
    markup) on stderr."""
    if state.json_command is not None:
        print_error(state.json_command, kind, message)
    else:
        _console(stderr=True).print(text)


def _print_damage(caught: list[warnings.WarningMessage]) -> None:
    """Damaged records the command left out or replaced, and lineage events it could not
    send, one line each (other warnings go on as Python shows them)."""
    from lakehouse.openlineage import LineageWarning
    from lakehouse.records import DamagedRecordWarning

    for warning in caught:
        if issubclass(warning.category, (DamagedRecordWarning, LineageWarning)):
            said = _text(Exception(str(warning.message)))
            _console(stderr=True).print(f"[yellow]Warning:[/yellow] {said}")
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def _text(exc: BaseException) -> str:
    """An error's message as rich prints it verbatim (`[paths]` in it is not a style tag)."""
    from rich.markup import escape

    return escape(str(exc))


def _open() -> Lakehouse:
    from lakehouse.project import open_lakehouse

    return _run(lambda: open_lakehouse(state.config, env=state.env))


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    """A rich progress display on stderr, fed by the library's progress callbacks."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    console = _console(stderr=True)
    if not console.is_terminal:  # piped or in CI: no live display, just the results
        from lakehouse.progress import no_progress

        yield no_progress
        return
    with Progress(*columns, console=console, transient=True) as bar:
        task_id = bar.add_task(label, total=None)

        def report(task: str, done: int, total: int | None = None) -> None:
            bar.update(task_id, description=f"{label}: {task}", completed=done, total=total)

        yield report


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Path to lakehouse.toml (default: nearest one above here)."
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            envvar="LAKEHOUSE_ENV",
            help="Environment (dev, prod, ...): a prefix of the store for everything this "
            "command reads and writes.",
        ),
    ] = None,
) -> None:
    state.debug = debug
    state.config = config
    state.env = env
    state.json_command = None


def _fail(message: str, kind: str = "UsageError") -> NoReturn:
    """Stop with one sentence and exit code 1 (in JSON mode, an error of type `kind`)."""
    _say_error(kind, message, f"[red]Error:[/red] {message}")
    raise typer.Exit(1)


def _utc(moment: datetime) -> str:
    """A recorded time as the tables show it: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _preview_cell(value: Any) -> str:
    if value is None:
        return "[dim]null[/dim]"
    if isinstance(value, bytes):
        text = _as_wkt(value)
        if text is None:
            return f"<{len(value)} bytes>"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_wkt(value: bytes) -> str | None:
    """A geometry's WKT when the bytes are WKB (an archived geometry column), else None."""
    import shapely

    try:
        return str(shapely.from_wkb(value).wkt)
    except shapely.errors.GEOSException:
        return None


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)
