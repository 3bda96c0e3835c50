"""Source types: where a template's data comes from. Each is one module that owns the typed
spec of the template's `source:` (its `type` and settings) and the function that lands the
original bytes in a local folder; `SOURCE_TYPES` finds them by `type`.

Built in: file (a local file), http, socrata, arcgis, s3. Adding one, e.g. FTP, in a package
`lakehouse_ftp` (or as a module here, named in `SOURCE_TYPES` below instead):

    from ftplib import FTP
    from pathlib import Path
    from typing import Literal

    from lakehouse.errors import SourceError
    from lakehouse.progress import Progress
    from lakehouse.sources import Fetched, SourceSpec, SourceType


    class FtpSource(SourceSpec):
        # the template's `source:`; validated when the template is read, and a misspelt or
        # unknown field is an error that names the template file and the field
        type: Literal["ftp"]
        host: str
        path: str


    def fetch(source: FtpSource, landing_dir: Path, progress: Progress) -> Fetched:
        # land the original bytes in landing_dir (a fresh, empty folder); a failure the user
        # can fix is a SourceError with a one-sentence fix
        destination = landing_dir / Path(source.path).name
        try:
            with FTP(source.host) as ftp, open(destination, "wb") as out:
                ftp.login()
                ftp.retrbinary(f"RETR {source.path}", out.write)
        except OSError as exc:
            raise SourceError(f"Cannot fetch {source.path} from {source.host} ({exc}).") from exc
        progress(f"downloaded {destination.name}", 1, 1)
        return Fetched(files=[destination], location=f"ftp://{source.host}/{source.path}")


    SOURCE = SourceType(name="ftp", spec=FtpSource, fetch=fetch)

and in the package's pyproject.toml (the entry point group `lakehouse.source_types`):

    [project.entry-points."lakehouse.source_types"]
    ftp = "lakehouse_ftp:SOURCE"     # the SourceType; its name must be "ftp"

A template can then say `source: {type: ftp, host: ftp.example.org, path: /pub/lots.csv}` (a
test or notebook can instead call `SOURCE_TYPES.register(SOURCE)`, and
`SOURCE_TYPES.unregister("ftp")` after). Its tests go in tests/sources/test_ftp.py (every
built-in source type has its own test module there). What else `SourceType` says:

- `decides_format`: True if `fetch` always knows the format of what it landed (an API's own
  pages) and says so in `Fetched.format_override`; the template's `format:` is then optional.
  Otherwise (the default) a template of this type must name its format.
- A failure worth retrying (a server error, a timeout, a cut-off body) is a
  `TransientSourceError`; `lakehouse.sources.http.with_retries(action, retries=...,
  backoff_seconds=..., deadline=...)` retries it with back-off, never past the fetch's
  `Deadline`, and then reports it as a `SourceError`. An HTTP-based spec mixes in
  `HttpSettings` (timeouts, retries, the deadline, the minimum rate); `download` and `get_json`
  refuse web pages and bodies cut short, and decompress a gzip body a bounded step at a time;
  `get_json` holds a document in memory, so it refuses one of more than `max_bytes` (by default
  `MAX_JSON_BYTES`, 256 MiB) as it arrives.
- `Fetched.source_version`: the source's own version (e.g. YYYYMMDD of its last edit), when it
  has one; `Fetched.location` is where the data came from, for the manifest: never credentials.
- `probe(source) -> Upstream`: how `lake status` and `lake update` learn, without downloading
  the data, whether the source changed since a version was fetched (see `Upstream`); a source
  type without one is fetched whenever it is due.
- A spec holding a local path overrides `SourceSpec.relative_to_project` (see `file`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import SerializeAsAny, WrapValidator

from lakehouse.formats import FormatSpec
from lakehouse.progress import Progress
from lakehouse.records import Strict
from lakehouse.registry import Registry, spec_validator


class SourceSpec(Strict):
    """The base of every source type's spec: the template's `source:` mapping, whose `type`
    names the source type."""

    type: str

    def relative_to_project(self, project_dir: Path | None) -> Self:
        """This spec with the local paths it holds resolved (~ expanded, relative paths taken
        from the project folder); a spec without local paths is returned as it is."""
        return self


@dataclass(frozen=True)
class Fetched:
    """What a source type landed: the original files in order, and what it learnt on the way."""

    files: list[Path]
    location: str  # where it came from, for the manifest: never credentials
    source_version: str | None = None  # the source's own version (e.g. YYYYMMDD of last edit)
    format_override: FormatSpec | None = None  # when the source decides the format (API pages)
    details: dict[str, Any] = field(default_factory=dict)


Fetch = Callable[[Any, Path, Progress], Fetched]
"""`fetch(source, landing_dir, progress)`: land the source (its spec) in `landing_dir`."""


@dataclass(frozen=True)
class Upstream:
    """What a source says of its current state when asked cheaply, without its data: a
    metadata request, an HTTP HEAD, an object's listing. `marker` holds the values the source
    type's `fetch` also records in `Fetched.details` under the same keys (Socrata's
    `rowsUpdatedAt`, ArcGIS's `lastEditDate`, an HTTP `etag` and `last_modified`, an S3 `etag`):
    a recorded value that differs now means the source changed since that version was fetched.
    `edited_at` is when the source says it last changed, if it says."""

    marker: dict[str, Any]
    edited_at: datetime | None = None


Probe = Callable[[Any], Upstream]
"""`probe(source)`: ask the source (its spec) for its `Upstream` state; never downloads the
data. A failure is a SourceError (one sentence: what failed, what to check)."""


@dataclass(frozen=True)
class SourceType:
    """A kind of source, as registered in `SOURCE_TYPES` (see the package's docstring)."""

    name: str  # the template's `source.type`
    spec: type[SourceSpec]  # the model of the template's `source:`, its `type` Literal[name]
    fetch: Fetch
    decides_format: bool = False  # fetch always sets Fetched.format_override
    probe: Probe | None = None  # how `lake status` asks it for news; None: it cannot be asked


SOURCE_TYPES = Registry[SourceType](
    "source type",
    {
        "file": "lakehouse.sources.file:SOURCE",
        "http": "lakehouse.sources.http:SOURCE",
        "socrata": "lakehouse.sources.socrata:SOURCE",
        "arcgis": "lakehouse.sources.arcgis:SOURCE",
        "s3": "lakehouse.sources.s3:SOURCE",
    },
)
"""Every source type by name: the built-ins, those of the entry point group
`lakehouse.source_types`, and those registered at run time."""

SourceField = Annotated[
    SerializeAsAny[SourceSpec], WrapValidator(spec_validator(SOURCE_TYPES, SourceSpec))
]
"""A template's `source:`: validated as the spec of the source type its `type` names."""


def fetch_source(source: SourceSpec, landing_dir: Path, progress: Progress) -> Fetched:
    """Land `source` in `landing_dir` with the fetch function of its source type."""
    return SOURCE_TYPES.get(source.type).fetch(source, landing_dir, progress)


__all__ = [
    "SOURCE_TYPES",
    "Fetch",
    "Fetched",
    "Probe",
    "SourceField",
    "SourceSpec",
    "SourceType",
    "Upstream",
    "fetch_source",
]
