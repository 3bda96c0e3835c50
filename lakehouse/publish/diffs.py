"""Diffs between a product's builds and published versions, by the data dictionary's primary
key, and their HTML reports (written into the newer build's `qa/` folder, where `lake publish`
looks for a QA report). Geometry columns are compared within the dictionary's tolerance and
mapped in the report; DuckDB's spatial extension is loaded for them (installed once into
`workspace`, default: the temporary folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakehouse.contracts.dictionary import load_dictionary
from lakehouse.publish.sides import build_side
from lakehouse.qa.diff import (
    BuildDiff,
    Side,
    TableDiff,
    describe_parquet,
    diff_builds,
    geometry_columns,
    parquet_relation,
    use_spatial,
)
from lakehouse.qa.records import DiffRecord
from lakehouse.render.html import escape
from lakehouse.render.maps import diff_map
from lakehouse.render.qa_reports import diff_bounds, diff_report, paired_histograms
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store
from lakehouse.transform.index import build_folder


def compare(
    store: Store,
    contracts_dir: Path,
    product: str,
    old: str | None,
    new: str | None,
    workspace: Path | None = None,
    *,
    detail: bool = True,
) -> tuple[BuildDiff, Side, Side]:
    """The diff of `new` (default: the latest build) against `old` (default: the latest
    published version if it is another build, else the build before; see `build_side`);
    without `detail`, its counts only (see `diff_builds`)."""
    import duckdb

    new_side = build_side(store, new, product)
    old_side = build_side(store, old, new_side.product, before=new_side.build_id)
    dictionary = load_dictionary(contracts_dir, new_side.product)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        found = diff_builds(dictionary, old_side, new_side, con, workspace, detail=detail)
        return found, old_side, new_side


def write_diff_report(
    store: Store, found: BuildDiff, old: Side, new: Side, workspace: Path | None = None
) -> str:
    """Write the diff as HTML (numeric shifts charted, geometry changes mapped) and as JSON
    into the newer build's `qa/` folder, named for the older side; returns the report's URL."""
    import duckdb

    charts = {}
    maps: dict[str, list[str]] = {}
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
            if not table.identical and table.table in new.outputs:
                try:
                    maps[table.table] = change_maps(con, table, old, new, workspace)
                except Exception as exc:  # a map must not stop the report (and publishing)
                    problem = f"No map of {table.table}: {exc.__class__.__name__}: {exc}"
                    maps[table.table] = [f"<p class='warn'>{escape(problem)}</p>"]
    assert new.build_id is not None
    folder = f"{build_folder(new.product, new.build_id)}/qa"
    store.write_bytes(f"{folder}/diff-{old.key}.json", DiffRecord.of(found).to_json(None))
    report = f"{folder}/diff-{old.key}.html"
    store.write_bytes(report, diff_report(found, charts, maps).encode())
    return store.url(report)


def change_maps(
    con: Any, table: TableDiff, old: Side, new: Side, workspace: Path | None
) -> list[str]:
    """Maps of what changed in each geometry column of an output (compared on both sides, or
    every row added)."""
    new_url = new.outputs[table.table]["url"]
    new_geometry = geometry_columns(describe_parquet(con, new_url))
    old_output = old.outputs.get(table.table)
    # the columns compared (geometry on both sides), or, against nothing, every one
    columns = new_geometry if old_output is None else {s.column: s.crs for s in table.geometry}
    if not columns:
        return []
    use_spatial(con, workspace)
    old_relation = None
    if old_output is not None:
        old_geometry = geometry_columns(describe_parquet(con, old_output["url"]))
        old_relation = parquet_relation(old_output["url"], list(old_geometry))
    new_relation = parquet_relation(new_url, list(new_geometry))
    drawn = [diff_map(con, table, column, crs, old_relation, new_relation)
             for column, crs in columns.items()]  # fmt: skip
    return [svg for svg in drawn if svg is not None]


def report_diff(
    store: Store,
    contracts_dir: Path,
    product: str,
    old: str | None,
    new: str | None,
    workspace: Path | None = None,
) -> tuple[str, BuildDiff]:
    """Compare two sides (see `compare` for the defaults) and write the diff's report into the
    newer build's `qa/` folder (see `write_diff_report`); returns its URL and the diff."""
    found, old_side, new_side = compare(store, contracts_dir, product, old, new, workspace)
    return write_diff_report(store, found, old_side, new_side, workspace), found
