"""Diffs between a product's builds and published versions, by the data dictionary's primary
key, and their HTML reports (written into the newer build's `qa/` folder, where `lake publish`
looks for a QA report)."""

from __future__ import annotations

from pathlib import Path

from lakehouse.contracts.dictionary import load_dictionary
from lakehouse.publish.sides import build_side
from lakehouse.qa.diff import BuildDiff, Side, diff_builds
from lakehouse.qa.records import DiffRecord
from lakehouse.render.qa_reports import diff_bounds, diff_report, paired_histograms
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store
from lakehouse.transform.index import build_folder


def compare(
    store: Store, contracts_dir: Path, product: str, old: str | None, new: str | None
) -> tuple[BuildDiff, Side, Side]:
    """The diff of `new` (default: the latest build) against `old` (default: the latest
    published version if it is another build, else the build before; see `build_side`)."""
    import duckdb

    new_side = build_side(store, new, product)
    old_side = build_side(store, old, new_side.product, before=new_side.build_id)
    dictionary = load_dictionary(contracts_dir, new_side.product)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        return diff_builds(dictionary, old_side, new_side, con), old_side, new_side


def write_diff_report(store: Store, found: BuildDiff, old: Side, new: Side) -> str:
    """Write the diff as HTML (with numeric shifts charted) and as JSON into the newer build's
    `qa/` folder, named for the older side; returns the report's URL."""
    import duckdb

    charts = {}
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        for table in found.tables:
            if not table.identical and table.table in old.outputs:
                charts[table.table] = paired_histograms(
                    con,
                    f"read_parquet({sql_string(old.outputs[table.table]['url'])})",
                    f"read_parquet({sql_string(new.outputs[table.table]['url'])})",
                    diff_bounds(table),
                )
    assert new.build_id is not None
    folder = f"{build_folder(new.product, new.build_id)}/qa"
    store.write_bytes(f"{folder}/diff-{old.key}.json", DiffRecord.of(found).to_json(None))
    report = f"{folder}/diff-{old.key}.html"
    store.write_bytes(report, diff_report(found, charts).encode())
    return store.url(report)


def report_diff(
    store: Store, contracts_dir: Path, product: str, old: str | None, new: str | None
) -> tuple[str, BuildDiff]:
    """Compare two sides (see `compare` for the defaults) and write the diff's report into the
    newer build's `qa/` folder (see `write_diff_report`); returns its URL and the diff."""
    found, old_side, new_side = compare(store, contracts_dir, product, old, new)
    return write_diff_report(store, found, old_side, new_side), found
