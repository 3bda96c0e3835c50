"""The Diff page: two of a product's builds or published versions compared, the counts per
output and column, the rows added, removed and changed, a changed row side by side, and the
numeric columns' shifts as charts, and a map of the changed geometries of a geometry product."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import streamlit as st

from lakehouse.app import builds, diff
from lakehouse.app.state import PageState
from lakehouse.app.views.builds import choose_product
from lakehouse.app.views.common import chosen_pair, page_number, run_or_error, select, show_page

if TYPE_CHECKING:
    from lakehouse.app.diff import RowSide
    from lakehouse.project import Lakehouse
    from lakehouse.qa.diff import BuildDiff, TableDiff

ANY_COLUMN = "(any column)"


@st.cache_data(show_spinner="Comparing…", max_entries=32)
def _compare(
    _lake: Lakehouse, project: str, product: str, old: str, new: str, detail: bool
) -> BuildDiff:
    """The diff of two builds or published versions (its counts only, without `detail`: the
    first view, shown before the rest is computed), kept: neither side ever changes
    (`project` names the store in the cache's key)."""
    return diff.compare(_lake, product, old, new, detail=detail)


def show(lake: Lakehouse, state: PageState) -> PageState:
    st.header("Diff")
    product = choose_product(lake, state, "diff-product")
    if product is None:
        return state.with_(product=None, builds=())
    references = [*builds.build_ids(lake, product), *builds.published_versions(lake, product)]
    if not references:
        st.info(f"{product!r} has no build yet: `lake build {product}` makes one.")
        return state.with_(product=product, builds=())
    wanted = state.builds if state.product == product else ()
    noun = "build or published version"
    defaults = diff.default_pair(lake, product)
    old, new = chosen_pair(wanted, references, noun, repr(product), defaults)
    left, right = st.columns(2)
    old = select("Old", references, old, "diff-old", left)
    new = select("New", references, new, "diff-new", right)
    chosen_state = state.with_(product=product, builds=(old, new))
    if old == new:
        st.info("Pick two different builds or published versions to compare.")
        return chosen_state
    found = run_or_error(lambda: _compare(lake, lake.store.root, product, old, new, False))
    if found is None:
        return chosen_state
    st.subheader(f"{found.new} against {found.old}")
    st.dataframe(diff.tables_frame(found), hide_index=True)
    for name in found.removed_outputs:
        st.warning(f"Output {name} was removed.")
    changed = [t.table for t in found.tables if not t.identical]
    if not changed:
        st.success("Identical.")
        return chosen_state
    table = st.selectbox("Output", changed, key="diff-table") if len(changed) > 1 else changed[0]
    _show_table(lake, product, old, new, diff.table_diff(found, table))
    return chosen_state


@st.cache_data(show_spinner="Drawing…", max_entries=16)
def _maps(
    _lake: Lakehouse, project: str, product: str, old: str, new: str, output: str, _table: TableDiff
) -> list[str]:
    """The maps of an output's changed geometries, kept per pair and output (both sides are
    immutable; `project` names the store in the cache's key)."""
    return diff.geometry_maps(_lake, product, old, new, _table)


def _detailed(lake: Lakehouse, product: str, old: str, new: str, table: str) -> TableDiff | None:
    """The output's whole diff (numeric shifts too), computed after the counts are shown."""
    found = run_or_error(lambda: _compare(lake, lake.store.root, product, old, new, True))
    return diff.table_diff(found, table) if found is not None else None


def _show_table(lake: Lakehouse, product: str, old: str, new: str, table: TableDiff) -> None:
    added, removed, changed = st.columns(3)
    added.metric("Rows added", f"{table.added:,}")
    removed.metric("Rows removed", f"{table.removed:,}")
    changed.metric("Rows changed", f"{table.changed:,}")
    for label, names in (("Columns added", table.added_columns),
                         ("Columns removed", table.removed_columns),
                         ("Columns retyped", table.retyped_columns)):  # fmt: skip
        if names:
            st.warning(f"{label}: {', '.join(names)}")
    columns = diff.columns_frame(table)
    st.subheader("Changed rows per column")
    st.dataframe(columns, hide_index=True)
    if not columns.empty:
        st.bar_chart(columns, x="column", y="changed_rows")
    detailed = _detailed(lake, product, old, new, table.table)
    if detailed is not None and detailed.geometry:
        st.subheader("Changed geometries")
        root, name = lake.store.root, detailed.table
        maps = run_or_error(lambda: _maps(lake, root, product, old, new, name, detailed)) or []
        for drawing in maps:  # SVG: st.html would drop it
            st.markdown(f"<div style='overflow-x:auto'>{drawing}</div>", unsafe_allow_html=True)
    numeric = diff.numeric_frame(detailed) if detailed is not None else None
    if numeric is not None and not numeric.empty:
        st.subheader("Numeric columns")
        st.dataframe(numeric, hide_index=True)
        st.bar_chart(numeric, x="column", y=["old_mean", "new_mean"], stack=False)
    _show_changed(lake, product, old, new, table)
    sides: tuple[RowSide, ...] = ("added", "removed")
    for side in sides:
        if getattr(table, side):
            st.subheader(f"Rows {side}")
            number = page_number(f"Page of rows {side}", f"diff-{side}-page")
            page = run_or_error(
                partial(diff.side_rows, lake, product, old, new, table.table, side, number=number)
            )
            if page is not None:
                show_page(page)


def _show_changed(lake: Lakehouse, product: str, old: str, new: str, table: TableDiff) -> None:
    if not table.changed:
        return
    st.subheader("Changed rows")
    compared = [c for c, count in table.columns.items() if count]
    column = st.selectbox("Changed in", [ANY_COLUMN, *compared], key="diff-column")
    number = page_number("Page of changed rows", "diff-changed-page")
    only = None if column == ANY_COLUMN else column
    page = run_or_error(
        lambda: diff.changed_rows(lake, product, old, new, table.table, only, number=number)
    )
    if page is None:
        return
    show_page(page)
    if page.frame.empty:
        return
    keys: list[dict[str, Any]] = page.frame[table.key].to_dict("records")
    labels = [", ".join(f"{k}={v}" for k, v in key.items()) for key in keys]
    label = st.selectbox("Side by side", labels, key="diff-row")
    row = run_or_error(
        lambda: diff.side_by_side(lake, product, old, new, table.table, keys[labels.index(label)])
    )
    if row is not None:
        st.dataframe(row, hide_index=True)
