"""Whether a source has something newer than what was last fetched, asked cheaply.

The source type's `probe` (`lakehouse.sources.Upstream`: Socrata's view metadata, an ArcGIS
layer's metadata, an HTTP HEAD, an S3 object's listing) is compared with what the last fetch
recorded: a marker value that differs means the source changed since; without a shared marker
(a version fetched before the source type recorded one), an edit date later than the fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from lakehouse.archive.template import IngestTemplate
from lakehouse.errors import SourceError
from lakehouse.sources import SOURCE_TYPES, Upstream

NewsState = Literal["newer", "same", "unknown", "not asked", "failed"]


@dataclass(frozen=True)
class UpstreamNews:
    """What asking the source found: `newer` (it changed since the last fetch), `same`,
    `unknown` (it answered, but with nothing to compare), `not asked` (its source type cannot
    be asked, or asking was skipped), `failed` (`detail` says why)."""

    state: NewsState
    detail: str = ""
    edited_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "detail": self.detail,
            "edited_at": self.edited_at.isoformat() if self.edited_at else None,
        }


NOT_ASKED = UpstreamNews("not asked")


def ask_upstream(template: IngestTemplate, project_dir: Path | None) -> Upstream | None:
    """The source's own state now (None when its source type has no probe); a SourceError
    when asking fails."""
    probe = SOURCE_TYPES.get(template.source.type).probe
    if probe is None:
        return None
    return probe(template.source.relative_to_project(project_dir))


def upstream_news(
    template: IngestTemplate,
    project_dir: Path | None,
    seen: dict[str, Any],
    fetched_at: datetime,
) -> UpstreamNews:
    """Ask the source, and compare what it says with `seen` (what the fetch at `fetched_at`
    recorded of it)."""
    try:
        upstream = ask_upstream(template, project_dir)
    except SourceError as exc:
        return UpstreamNews("failed", str(exc))
    if upstream is None:
        return UpstreamNews(
            "not asked", f"a {template.source.type} source cannot be asked without fetching it"
        )
    return compare_upstream(upstream, seen, fetched_at)


def compare_upstream(
    upstream: Upstream, seen: dict[str, Any], fetched_at: datetime
) -> UpstreamNews:
    """`newer` when a marker the fetch recorded differs now, or (with no marker in common) when
    the source's edit date is after the fetch; `same` when they agree; else `unknown`."""
    shared = [
        key
        for key, value in upstream.marker.items()
        if value is not None and seen.get(key) is not None
    ]
    edited = upstream.edited_at
    changed = [key for key in shared if seen[key] != upstream.marker[key]]
    if changed:
        key = changed[0]
        when = f"edited {_when(edited)}: " if edited else ""
        return UpstreamNews(
            "newer",
            f"{when}{key} was {seen[key]!r} at the last fetch, now {upstream.marker[key]!r}",
            edited,
        )
    if shared:
        return UpstreamNews("same", f"{', '.join(shared)} as at the last fetch", edited)
    if edited is not None:
        if edited > fetched_at:
            return UpstreamNews(
                "newer",
                f"edited {_when(edited)}, after the last fetch ({_when(fetched_at)})",
                edited,
            )
        return UpstreamNews("same", f"last edited {_when(edited)}, before the last fetch", edited)
    return UpstreamNews("unknown", "the source says nothing to compare with the last fetch")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
