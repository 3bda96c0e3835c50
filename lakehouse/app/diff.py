"""The Diff page's logic: any two of a product's builds or published versions compared by the
dictionary's primary key (`lake diff`), and the rows behind the counts, paged in DuckDB: the
rows added, removed and changed (all changed columns, or one), and one changed row side by side.

Rows are matched and compared as `lake diff` does, except that a geometry column is compared
exactly here (the diff's counts use the dictionary's tolerance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.app.rows import PAGE_ROWS, Page, connect, page_of, relation_columns
from lakehouse.contracts.dictionary import require_dictionary
from lakehouse.errors import DiffError, LakehouseError, NotFoundError
from lakehouse.publish.sides import build_side
from lakehouse.sql import sql_identifier, sql_string

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from lakehouse.project import Lakehouse
    from lakehouse.qa.diff import BuildDiff, TableDiff

RowSide = Literal["added", "removed"]
CHANGED_COLUMNS = "changed columns"  # the column listing which columns of a row changed


def compare(lake: Lakehouse, product: str, old: str, new: str, *, detail: bool = True) -> BuildDiff:
    """`new` against `old` (build ids or published versions), as `lake diff` computes it
    (without `detail`, its counts only); the diff `lake qa report diff` stored for exactly
    this pair is read back instead (both sides are immutable, so it still holds)."""
    stored = stored_diff(lake, product, old, new)
    return stored if stored is not None else lake.diff(product, old, new, detail=detail)


def geometry_maps(lake: Lakehouse, product: str, old: str, new: str, table: TableDiff) -> list[str]:
    """SVG maps of what changed in each geometry column of the output (as the diff report draws
    them): moved, added and removed shapes; none for an output without geometry."""
    import duckdb

    from lakehouse.publish.diffs import change_maps

    if not table.geometry:
        return []
    store = lake.store
    old_side, new_side = build_side(store, old, product), build_side(store, new, product)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        return change_maps(con, table, old_side, new_side, lake.config.workspace_dir)


def stored_diff(lake: Lakehouse, product: str, old: str, new: str) -> BuildDiff | None:
    """The diff stored in the newer build's `qa/` folder for this pair, if there is one that
    reads (else None: the page computes it)."""
    from lakehouse.qa.diff import BuildDiff
    from lakehouse.qa.records import DiffRecord
    from lakehouse.transform.index import build_folder

    store = lake.store
    try:
        old_side = build_side(store, old, product)
        new_side = build_side(store, new, product)
        if new_side.build_id is None:
            return None
        path = f"{build_folder(product, new_side.build_id)}/qa/diff-{old_side.key}.json"
        if not store.exists(path):
            return None
        record = DiffRecord.from_json(store.read_bytes(path), store.url(path))
    except LakehouseError:
        return None
    return BuildDiff(
        record.product, record.old, record.new, list(record.tables), list(record.removed_outputs)
    )


def default_pair(lake: Lakehouse, product: str) -> tuple[str, str] | None:
    """What `lake diff` compares by default: the latest build against the latest published
    version if that is another build, else against the build before (None without builds)."""
    found = lake.builds(product)
    if not found:
        return None
    new = found[-1].build_id
    published = lake.published(product)
    if published and published[-1].build_id != new:
        return published[-1].version, new
    return (found[-2].build_id if len(found) > 1 else new), new


def tables_frame(found: BuildDiff) -> pd.DataFrame:
    """One row per output: its rows on both sides and the rows added, removed and changed."""
    import pandas as pd

    columns = ["table", "old_rows", "new_rows", "added", "removed", "changed", "identical"]
    rows = [{name: getattr(t, name) for name in columns[1:]} | {"table": t.table}
            for t in found.tables]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def table_diff(found: BuildDiff, table: str) -> TableDiff:
    for candidate in found.tables:
        if candidate.table == table:
            return candidate
    names = ", ".join(t.table for t in found.tables)
    raise NotFoundError(f"The diff has no output {table!r}; its outputs: {names}.")


def columns_frame(table: TableDiff) -> pd.DataFrame:
    """Each compared column with the rows whose value changed, most changed first."""
    import pandas as pd

    rows = sorted(table.columns.items(), key=lambda item: (-item[1], item[0]))
    return pd.DataFrame(rows, columns=["column", "changed_rows"])


def numeric_frame(table: TableDiff) -> pd.DataFrame:
    """Each numeric column's min, max and mean on both sides, and its mean's relative shift."""
    import pandas as pd

    rows = []
    for shift in table.numeric:
        moved = None
        if shift.old_mean not in (None, 0) and shift.new_mean is not None:
            moved = (shift.new_mean - shift.old_mean) / abs(shift.old_mean)
        rows.append({
            "column": shift.column,
            "old_min": shift.old_min, "new_min": shift.new_min,
            "old_max": shift.old_max, "new_max": shift.new_max,
            "old_mean": shift.old_mean, "new_mean": shift.new_mean,
            "mean_shift": moved,
        })  # fmt: skip
    columns = ["column", "old_min", "new_min", "old_max", "new_max", "old_mean", "new_mean",
               "mean_shift"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class Pair:
    """The two files of one output to compare, and its primary key."""

    old_url: str
    new_url: str
    key: list[str]

    @property
    def old(self) -> str:
        return f"read_parquet({sql_string(self.old_url)})"

    @property
    def new(self) -> str:
        return f"read_parquet({sql_string(self.new_url)})"

    def on(self) -> str:
        return " AND ".join(f"o.{sql_identifier(k)} = n.{sql_identifier(k)}" for k in self.key)


def pair(lake: Lakehouse, product: str, old: str, new: str, table: str) -> Pair:
    """The files of output `table` in `old` and `new`, and its key (the dictionary's)."""
    old_side, new_side = build_side(lake.store, old, product), build_side(lake.store, new, product)
    for side, name in ((old_side, old), (new_side, new)):
        if table not in side.outputs:
            raise NotFoundError(
                f"{name} of {product!r} has no output {table!r}; its outputs: "
                f"{', '.join(side.outputs)}."
            )
    entry = require_dictionary(lake.config.contracts_dir, product).tables.get(table)
    if entry is None or not entry.primary_key:
        raise DiffError(
            f"The output {table!r} of {product!r} has no primary key in its data dictionary; "
            f"add primary_key: to contracts/{product}/dictionary.yml so rows can be matched."
        )
    return Pair(old_side.outputs[table]["url"], new_side.outputs[table]["url"], entry.primary_key)


def side_rows(
    lake: Lakehouse, product: str, old: str, new: str, table: str, side: RowSide,
    *, number: int = 0, size: int = PAGE_ROWS,
) -> Page:  # fmt: skip
    """A page of the rows added (in `new`, not in `old`) or removed, ordered by key."""
    files = pair(lake, product, old, new, table)
    first, second = (files.new, files.old) if side == "added" else (files.old, files.new)
    keys = ", ".join(sql_identifier(k) for k in files.key)
    relation = f"SELECT a.* FROM {first} AS a ANTI JOIN {second} AS b USING ({keys})"
    with connect(lake.store) as con:
        return page_of(con, relation, order_by=files.key, number=number, size=size)


def _compared(con: duckdb.DuckDBPyConnection, files: Pair) -> list[str]:
    """The columns on both sides, besides the key, in the new file's order."""
    old = set(relation_columns(con, files.old))
    return [c for c in relation_columns(con, files.new) if c in old and c not in files.key]


def changed_rows(
    lake: Lakehouse, product: str, old: str, new: str, table: str, column: str | None = None,
    *, number: int = 0, size: int = PAGE_ROWS,
) -> Page:  # fmt: skip
    """A page of the rows whose values changed, ordered by key: each row's key and the
    columns that changed; with `column`, only the rows where it changed, with its old and new
    values."""
    files = pair(lake, product, old, new, table)
    q = sql_identifier
    keys = [f"o.{q(k)} AS {q(k)}" for k in files.key]
    with connect(lake.store) as con:
        compared = _compared(con, files)
        differs = {c: f"(o.{q(c)} IS DISTINCT FROM n.{q(c)})" for c in compared}
        if column is not None:
            if column not in differs:
                raise NotFoundError(
                    f"{table!r} has no column {column!r} on both sides to compare; its "
                    f"columns: {', '.join(compared)}."
                )
            shown = [*keys, f"o.{q(column)} AS {q('old ' + column)}",
                     f"n.{q(column)} AS {q('new ' + column)}"]  # fmt: skip
            where = differs[column]
        else:
            names = [f"CASE WHEN {d} THEN {sql_string(c)} END" for c, d in differs.items()]
            listing = f"concat_ws(', ', {', '.join(names)})" if names else "''"
            shown = [*keys, f"{listing} AS {q(CHANGED_COLUMNS)}"]
            where = " OR ".join(differs.values()) or "false"
        relation = (
            f"SELECT {', '.join(shown)} FROM {files.old} AS o JOIN {files.new} AS n "
            f"ON {files.on()} WHERE {where}"
        )
        return page_of(con, relation, order_by=files.key, number=number, size=size)


def side_by_side(
    lake: Lakehouse, product: str, old: str, new: str, table: str, key: dict[str, Any]
) -> pd.DataFrame:
    """One row on both sides, column by column: its old and new value and whether it changed
    (`key`: the row's primary key values, column -> value)."""
    import pandas as pd

    files = pair(lake, product, old, new, table)
    if sorted(key) != sorted(files.key):
        raise NotFoundError(
            f"Name the row by its key ({', '.join(files.key)}), not by "
            f"{', '.join(key) or 'nothing'}."
        )
    where = " AND ".join(f"{sql_identifier(k)} = ?" for k in files.key)
    values = [key[k] for k in files.key]
    with connect(lake.store) as con:
        found = {}
        for label, source in (("old", files.old), ("new", files.new)):
            result = con.execute(f"SELECT * FROM {source} WHERE {where} LIMIT 1", values)
            names = [d[0] for d in result.description or []]
            row = result.fetchone()
            found[label] = dict(zip(names, row, strict=True)) if row else {}
    columns = list(dict.fromkeys([*found["old"], *found["new"]]))
    rows = [
        {
            "column": c,
            "old": _text(found["old"].get(c)),
            "new": _text(found["new"].get(c)),
            "changed": c not in files.key and found["old"].get(c) != found["new"].get(c),
        }
        for c in columns
    ]
    return pd.DataFrame(rows, columns=["column", "old", "new", "changed"])


def _text(value: Any) -> str | None:
    """A value as text, so that a column holding both sides' values has one type."""
    return None if value is None else str(value)
