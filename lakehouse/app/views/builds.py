"""The Builds page: a product's builds and published versions; for one, its inputs, its
models' timing, its contract results and the rows breaking a failed rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lakehouse.app import builds, failing
from lakehouse.app.state import PageState
from lakehouse.app.views.common import chosen, page_number, run_or_error, select, show_page
from lakehouse.publish.records import PublishRecord

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse
    from lakehouse.transform.records import BuildRecord


def choose_product(lake: Lakehouse, state: PageState, key: str) -> str | None:
    """The product the URL names (or the first), as the sidebar's choice."""
    names = builds.product_names(lake)
    if not names:
        st.info("The project has no product yet: a recipe in recipes/ makes one.")
        return None
    product = chosen(state.product, names, "product", "The project", names[0])
    return select("Product", names, product, key, st.sidebar)


def show(lake: Lakehouse, state: PageState) -> PageState:
    st.header("Builds")
    product = choose_product(lake, state, "builds-product")
    if product is None:
        return state.with_(product=None, builds=())
    st.subheader(f"Builds of {product}")
    st.dataframe(builds.builds_frame(lake, product), hide_index=True)
    st.subheader("Published versions")
    st.dataframe(builds.published_frame(lake, product), hide_index=True)
    references = [*builds.build_ids(lake, product), *builds.published_versions(lake, product)]
    if not references:
        st.info(f"{product!r} has no build yet: `lake build {product}` makes one.")
        return state.with_(product=product, builds=())
    wanted = state.builds[0] if state.builds and state.product == product else None
    latest = builds.build_ids(lake, product)[-1] if builds.build_ids(lake, product) else None
    reference = chosen(wanted, references, "build or published version", repr(product), latest)
    reference = select("Build or published version", references, reference, "builds-entry")
    entry = builds.find_entry(lake, product, reference)
    _show_entry(lake, product, entry)
    return state.with_(product=product, builds=(reference,))


def _show_entry(lake: Lakehouse, product: str, entry: BuildRecord | PublishRecord) -> None:
    if isinstance(entry, PublishRecord):
        st.markdown(f"Published version **{entry.version}** of build `{entry.build_id}`.")
        build = builds.find_entry(lake, product, entry.build_id)
    else:
        build = entry
    assert not isinstance(build, PublishRecord)
    status = st.success if build.passed else st.warning
    status(f"Build {build.build_id}: {build.status}; contracts: {build.contracts.summary}")
    st.subheader("Inputs (lock)")
    st.dataframe(builds.inputs_frame(build.lock), hide_index=True)
    st.subheader("Models")
    st.dataframe(builds.models_frame(build), hide_index=True)
    st.subheader("Contract results")
    st.dataframe(builds.contracts_frame(lake, product, build.build_id), hide_index=True)
    failed = builds.failed_rules(lake, product, build.build_id)
    if failed:
        _show_failing(lake, product, build.build_id, failed)


def _show_failing(
    lake: Lakehouse, product: str, build_id: str, failed: list[tuple[str, str]]
) -> None:
    st.subheader("Rows breaking a rule")
    labels = [f"{table}: {rule}" for table, rule in failed]
    label = st.selectbox("Failed rule", labels, key="builds-rule")
    table, rule = failed[labels.index(label)]
    number = page_number("Page of failing rows", "builds-failing-page")
    page = run_or_error(
        lambda: failing.failing_rows(lake, product, build_id, table, rule, number=number)
    )
    if page is not None:
        show_page(page)
