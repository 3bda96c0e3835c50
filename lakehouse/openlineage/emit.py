"""Where run events go: appended to a JSON lines file, or POSTed to an OpenLineage endpoint
(`<url>/api/v1/lineage`, as Marquez takes them), as `[openlineage]` in lakehouse.toml says and
OPENLINEAGE_URL overrides.

Sending is a side channel: it never stops or slows down a run beyond the configured timeout.
A transport that fails (no such folder, a refused connection, an error status, no answer in
`timeout_seconds`) gives one `LineageWarning` and is not tried again for the rest of the
command, so a dead endpoint costs one timeout, not one per event.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Protocol

from lakehouse.config import LakehouseConfig, OpenLineageSettings
from lakehouse.redact import redact_url

URL_ENV_VAR = "OPENLINEAGE_URL"
LINEAGE_ENDPOINT = "api/v1/lineage"  # below the base URL, as Marquez and the OpenLineage client


class LineageWarning(UserWarning):
    """A run event could not be sent or written; the run itself went on."""


class Transport(Protocol):
    """Sends one event somewhere; raises on failure (the `Emitter` turns that into a warning)."""

    def send(self, event: dict[str, Any]) -> None: ...

    def describe(self) -> str:
        """Where events go, for the warning: a file path or a URL (never a credential)."""
        ...


class FileTransport:
    """Appends each event as one JSON line. The line is written with a single unbuffered write
    on a file opened for appending, so the events of runs that write at once do not interleave
    within a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab", buffering=0) as file:
            file.write(line.encode("utf-8"))

    def describe(self) -> str:
        return str(self.path)


class HttpTransport:
    """POSTs each event as JSON to `<base url>/api/v1/lineage`; httpx is imported only here."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.url = f"{base_url.rstrip('/')}/{LINEAGE_ENDPOINT}"
        self.timeout_seconds = timeout_seconds

    def send(self, event: dict[str, Any]) -> None:
        import httpx

        response = httpx.post(self.url, json=event, timeout=self.timeout_seconds)
        response.raise_for_status()

    def describe(self) -> str:
        return redact_url(self.url)


class Emitter:
    """Sends each event through every transport that has not failed yet in this command."""

    def __init__(self, transports: list[Transport]) -> None:
        self.transports = transports
        self.failed: set[int] = set()  # the transports that warned once and are left out

    def emit(self, event: dict[str, Any]) -> None:
        for index, transport in enumerate(self.transports):
            if index in self.failed:
                continue
            try:
                transport.send(event)
            except Exception as exc:  # whatever it is, lineage must not stop the run
                self.failed.add(index)
                warnings.warn(
                    f"OpenLineage events could not be sent to {transport.describe()} "
                    f"({exc.__class__.__name__}: {exc}); the run goes on without them: fix "
                    "`[openlineage]` in lakehouse.toml (or OPENLINEAGE_URL) or remove it.",
                    LineageWarning,
                    stacklevel=2,
                )


def lineage_settings(config: LakehouseConfig) -> OpenLineageSettings:
    """`[openlineage]` of the config, with OPENLINEAGE_URL (when set) as its `url`."""
    settings = config.openlineage
    if url := os.environ.get(URL_ENV_VAR, "").strip():
        return settings.model_copy(update={"url": url})
    return settings


def open_emitter(config: LakehouseConfig) -> Emitter | None:
    """The emitter `[openlineage]` (and OPENLINEAGE_URL) ask for; None when lineage is off
    (no file, no url): then nothing is built or sent."""
    settings = lineage_settings(config)
    transports: list[Transport] = []
    if settings.file:
        transports.append(FileTransport(config.project_dir / settings.file))
    if settings.url:
        transports.append(HttpTransport(settings.url, settings.timeout_seconds))
    return Emitter(transports) if transports else None
