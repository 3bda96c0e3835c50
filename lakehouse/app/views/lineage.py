"""The Lineage & dictionary page: a product's DAG, each output's column lineage and what
decides its rows, and its data dictionary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lakehouse.app import lineage
from lakehouse.app.state import PageState
from lakehouse.app.views.builds import choose_product
from lakehouse.app.views.common import run_or_error
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse


def show(lake: Lakehouse, state: PageState) -> PageState:
    st.header("Lineage & dictionary")
    product = choose_product(lake, state, "lineage-product")
    if product is None:
        return state.with_(product=None, builds=())
    found = run_or_error(lambda: lineage.lineage(lake, product))
    if found is not None:
        st.subheader(f"Lineage of {product}")
        # st.html drops SVG; markdown keeps it, in a box that scrolls when the DAG is wide
        drawing = f"<div style='overflow-x:auto'>{lineage.dag(found)}</div>"
        st.markdown(drawing, unsafe_allow_html=True)
        outputs = lineage.outputs(found)
        if outputs:
            output = st.selectbox("Output", outputs, key="lineage-output")
            decided = lineage.rows_decided_by(found, output)
            if decided:
                st.markdown("Rows decided by:\n" + "\n".join(f"- {line}" for line in decided))
            st.dataframe(lineage.columns_frame(found, output), hide_index=True)
    st.subheader("Dictionary")
    try:
        dictionary = lineage.dictionary(lake, product)
    except LakehouseError as exc:
        st.error(str(exc))
        dictionary = None
    else:
        if dictionary is None:
            st.info(f"{product!r} has no data dictionary (contracts/{product}/dictionary.yml).")
    if dictionary is not None:
        tables = list(dictionary.tables)
        table = st.selectbox("Table", tables, key="lineage-table")
        st.markdown(dictionary.tables[table].description)
        st.dataframe(lineage.dictionary_frame(dictionary, table), hide_index=True)
    return state.with_(product=product, builds=())
