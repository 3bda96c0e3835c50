"""A template's `expect:` — what a healthy download of its source looks like (at least
`min_rows` rows; a row count within `max_change` of the latest version's) — checked after the
source is read and before anything is archived. A server that sends a short body, or a
filtered or emptied export, is refused here even when every byte of it parses."""

from __future__ import annotations

from lakehouse.archive.manifest import Manifest
from lakehouse.archive.template import IngestTemplate
from lakehouse.errors import ContractFailed


def check_expectations(template: IngestTemplate, rows: int, latest: Manifest | None) -> None:
    """Refuse, in one sentence, a download of `rows` rows that breaks the template's
    `expect:` (compared with `latest`, the latest archived version, for `max_change`)."""
    expect = template.expect
    if expect is None:
        return
    name = template.name
    if expect.min_rows is not None and rows < expect.min_rows:
        raise ContractFailed(
            f"{name}: the source gave {rows:,} rows, fewer than the template's expect.min_rows "
            f"({expect.min_rows:,}); nothing was archived: check the source (a cut or filtered "
            "download?), or lower expect.min_rows if it really shrank."
        )
    if expect.max_change is None or latest is None or latest.row_count == 0:
        return
    change = (rows - latest.row_count) / latest.row_count
    if abs(change) > expect.max_change:
        direction = "more" if change > 0 else "fewer"
        raise ContractFailed(
            f"{name}: the source gave {rows:,} rows, {abs(change):.0%} {direction} than version "
            f"{latest.version} ({latest.row_count:,}), beyond the template's expect.max_change "
            f"({expect.max_change:.0%}); nothing was archived: check the source, or raise "
            "expect.max_change for this change and ingest again."
        )
