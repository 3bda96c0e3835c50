"""The Sources page's logic: every dataset's versions, the drift between any two (as `lake qa
source`, computed on demand), the keys added and removed with their rows, and a filtered
preview of a version, all computed in DuckDB on the archived Parquet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from lakehouse.app.rows import PAGE_ROWS, Page, RowFilter, connect, page_of
from lakehouse.archive.source_qa import dataset_qa_settings, parquet_source
from lakehouse.errors import NotFoundError
from lakehouse.sql import sql_identifier

if TYPE_CHECKING:
    import pandas as pd

    from lakehouse.archive.manifest import Manifest
    from lakehouse.project import Lakehouse
    from lakehouse.qa.drift import SourceDrift

KeySide = Literal["added", "removed"]


def version_names(lake: Lakehouse, dataset: str) -> list[str]:
    """The dataset's archived versions whose manifest reads, oldest first."""
    return [m.version for m in lake.archive.readable_versions(dataset)]


def versions_frame(lake: Lakehouse, dataset: str) -> pd.DataFrame:
    """One row per version: rows, when it was extracted and archived, its checksums, its raw
    contract's result and the flags of its source QA against the version before."""
    import pandas as pd

    return pd.DataFrame(
        [_version_row(m) for m in lake.archive.readable_versions(dataset)],
        columns=["version", "rows", "extracted_at", "archived_at", "source_sha256",
                 "data_sha256", "raw_contract", "qa_flags"],
    )  # fmt: skip


def _version_row(manifest: Manifest) -> dict[str, object]:
    contract = manifest.contract
    raw = "no raw contract" if contract is None else contract.summary
    if contract is not None and contract.warnings:
        raw += f" ({len(contract.warnings)} warning(s))"
    return {
        "version": manifest.version,
        "rows": manifest.row_count,
        "extracted_at": manifest.extracted_at,
        "archived_at": manifest.archived_at,
        "source_sha256": manifest.source_sha256,
        "data_sha256": ", ".join(f.sha256 for f in manifest.data_files),
        "raw_contract": raw,
        "qa_flags": len(manifest.qa.flags) if manifest.qa is not None else 0,
    }


def drift(lake: Lakehouse, dataset: str, old: str, new: str) -> SourceDrift:
    """The source QA of `new` against `old` (`lake qa source DATASET NEW --against OLD`)."""
    return lake.source_qa(dataset, new, against=old)


def drift_frame(found: SourceDrift) -> pd.DataFrame:
    """Per column: its type, null rate, distinct values and mean on both sides, and its flags."""
    import pandas as pd

    rows = []
    for column in found.columns:
        old, new = column.old, column.new
        rows.append({
            "column": column.column,
            "old_type": old.type if old else None,
            "new_type": new.type if new else None,
            "old_null_rate": column.null_rate_old,
            "new_null_rate": column.null_rate_new,
            "old_distinct": old.distinct if old else None,
            "new_distinct": new.distinct if new else None,
            "old_mean": old.mean if old else None,
            "new_mean": new.mean if new else None,
            "flags": "; ".join(column.flags),
        })  # fmt: skip
    return pd.DataFrame(rows)


def top_values_frame(found: SourceDrift, column: str) -> pd.DataFrame:
    """A column's most common values with their rows in both versions (for a chart)."""
    import pandas as pd

    drift = next((c for c in found.columns if c.column == column), None)
    if drift is None:
        raise NotFoundError(
            f"{found.dataset} has no column {column!r}; its columns: "
            f"{', '.join(c.column for c in found.columns)}."
        )
    return pd.DataFrame(drift.top, columns=["value", found.old_version, found.new_version])


def key_columns(lake: Lakehouse, dataset: str) -> list[str]:
    """The columns identifying a row of the dataset (its template's `qa: key`, or its raw
    contract's unique key); empty when it has none."""
    settings = dataset_qa_settings(lake.config.templates_dir, dataset)
    return list(settings.key) if settings else []


def key_changes(
    lake: Lakehouse,
    dataset: str,
    old: str,
    new: str,
    side: KeySide,
    *,
    number: int = 0,
    size: int = PAGE_ROWS,
) -> Page:
    """A page of the rows whose key is in `new` and not in `old` ("added"), or the other way
    ("removed"), ordered by key; refused for a dataset without a key."""
    key = key_columns(lake, dataset)
    if not key:
        raise NotFoundError(
            f"{dataset!r} has no key, so its rows cannot be matched between versions; name one "
            f"in its template (qa: key: [...])."
        )
    older, newer = lake.manifest(dataset, old), lake.manifest(dataset, new)
    first, second = (newer, older) if side == "added" else (older, newer)
    keys = ", ".join(sql_identifier(k) for k in key)
    with connect(lake.store) as con:
        relation = (
            f"SELECT a.* FROM {parquet_source(lake.store, first)} AS a "
            f"ANTI JOIN {parquet_source(lake.store, second)} AS b USING ({keys})"
        )
        return page_of(con, relation, order_by=key, number=number, size=size)


def preview(
    lake: Lakehouse,
    dataset: str,
    version: str,
    row_filter: RowFilter | None = None,
    *,
    number: int = 0,
    size: int = PAGE_ROWS,
) -> Page:
    """A page of a version's rows (by key, when it has one), filtered by `row_filter`."""
    manifest = lake.manifest(dataset, version)
    with connect(lake.store) as con:
        return page_of(
            con,
            parquet_source(lake.store, manifest),
            order_by=key_columns(lake, dataset),
            row_filter=row_filter,
            number=number,
            size=size,
        )
