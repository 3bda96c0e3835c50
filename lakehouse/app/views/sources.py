"""The Sources page: every dataset's versions, the drift between two of them, the keys added
and removed, and a filtered preview of either version."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import streamlit as st

from lakehouse.app import sources
from lakehouse.app.state import PageState
from lakehouse.app.views.common import (
    chosen,
    chosen_pair,
    page_number,
    row_filter,
    run_or_error,
    select,
    show_page,
)

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from lakehouse.app.sources import KeySide
    from lakehouse.project import Lakehouse
    from lakehouse.qa.drift import SourceDrift


@st.cache_data(show_spinner="Computing the drift…", max_entries=32)
def _drift(_lake: Lakehouse, project: str, dataset: str, old: str, new: str) -> SourceDrift:
    """The drift of two versions, kept: archived versions never change (`project` names the
    store in the cache's key)."""
    return sources.drift(_lake, dataset, old, new)


def show(lake: Lakehouse, state: PageState) -> PageState:
    st.header("Sources")
    datasets = lake.datasets()
    if not datasets:
        st.info("The archive has no dataset yet: `lake ingest DATASET` archives one.")
        return state.with_(dataset=None, versions=())
    dataset = chosen(state.dataset, datasets, "dataset", "The archive", datasets[0])
    dataset = select("Dataset", datasets, dataset, "sources-dataset", st.sidebar)
    names = sources.version_names(lake, dataset)
    if not names:
        st.info(f"{dataset!r} has no readable version.")
        return state.with_(dataset=dataset, versions=())
    st.subheader(f"Versions of {dataset}")
    st.dataframe(sources.versions_frame(lake, dataset), hide_index=True)
    wanted = state.versions if state.dataset == dataset else ()
    old, new = chosen_pair(wanted, names, "version", repr(dataset))
    left, right = st.columns(2)
    old = select("Old version", names, old, "sources-old", left)
    new = select("New version", names, new, "sources-new", right)
    if old != new:
        found = run_or_error(lambda: _drift(lake, lake.store.root, dataset, old, new))
        if found is not None:
            _show_drift(found)
            _show_keys(lake, dataset, old, new)
    else:
        st.info("Pick two different versions to see their drift.")
    _show_preview(lake, dataset, [old, new] if old != new else [new])
    return state.with_(dataset=dataset, versions=(old, new))


def _show_drift(found: SourceDrift) -> None:
    st.subheader(f"Drift: {found.new_version} against {found.old_version}")
    rows, added, removed = st.columns(3)
    rows.metric("Rows", f"{found.new_rows:,}", f"{found.new_rows - found.old_rows:+,}")
    added.metric("Columns added", len(found.added))
    removed.metric("Columns removed", len(found.removed))
    if found.keys is not None:
        kept, key_added, key_removed = st.columns(3)
        kept.metric("Keys kept", f"{found.keys.kept:,}")
        key_added.metric("Keys added", f"{found.keys.added:,}")
        key_removed.metric("Keys removed", f"{found.keys.removed:,}")
    for flag in found.flags:
        st.warning(flag)
    st.dataframe(sources.drift_frame(found), hide_index=True)
    columns = [c.column for c in found.columns if c.top]
    if columns:
        column = st.selectbox("Most common values of", columns, key="sources-top")
        st.bar_chart(sources.top_values_frame(found, column), x="value", stack=False)


def _show_keys(lake: Lakehouse, dataset: str, old: str, new: str) -> None:
    if not sources.key_columns(lake, dataset):
        return
    st.subheader("Rows by key")
    added, removed = st.tabs(["Added", "Removed"])
    sides: tuple[tuple[DeltaGenerator, KeySide], ...] = ((added, "added"), (removed, "removed"))
    for tab, side in sides:
        with tab:
            number = page_number(f"Page of rows {side}", f"sources-{side}-page")
            page = run_or_error(
                partial(sources.key_changes, lake, dataset, old, new, side, number=number)
            )
            if page is not None:
                show_page(page)


def _show_preview(lake: Lakehouse, dataset: str, versions: list[str]) -> None:
    st.subheader("Preview")
    version = st.selectbox("Version", versions, index=len(versions) - 1, key="sources-preview")
    columns = [c.name for c in lake.manifest(dataset, version).columns]
    wanted = row_filter(columns, "sources-filter")
    number = page_number("Page", "sources-preview-page")
    page = run_or_error(lambda: sources.preview(lake, dataset, version, wanted, number=number))
    if page is not None:
        show_page(page)
