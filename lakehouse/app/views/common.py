"""What every page draws alike: a choice that the URL may have named wrongly, a page of rows
with its page number, and a column filter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import streamlit as st

from lakehouse.app.rows import Page, RowFilter
from lakehouse.app.state import pick, pick_pair
from lakehouse.errors import NotFoundError

T = TypeVar("T")
NO_FILTER = "(no filter)"


def chosen(
    wanted: str | None, existing: Sequence[str], noun: str, owner: str, default: str | None = None
) -> str:
    """`pick`, with an unknown name shown as an error (naming the ones that exist) and the
    default taken instead."""
    try:
        return pick(wanted, existing, noun, owner, default)
    except NotFoundError as exc:
        st.error(str(exc))
        return pick(None, existing, noun, owner, default)


def chosen_pair(
    wanted: Sequence[str],
    existing: Sequence[str],
    noun: str,
    owner: str,
    defaults: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """`pick_pair`, with an unknown name shown as an error and the defaults taken instead."""
    try:
        return pick_pair(wanted, existing, noun, owner, defaults)
    except NotFoundError as exc:
        st.error(str(exc))
        return pick_pair((), existing, noun, owner, defaults)


def select(label: str, options: Sequence[str], value: str, key: str, container: object = st) -> str:
    """A select box starting at `value` (one of `options`)."""
    box: Callable[..., str] = container.selectbox  # type: ignore[attr-defined]
    return box(label, list(options), index=list(options).index(value), key=key)


def page_number(label: str, key: str) -> int:
    """The page a person asks for, counted from 0 (they see it from 1)."""
    return int(st.number_input(label, min_value=1, value=1, step=1, key=key)) - 1


def row_filter(columns: Sequence[str], key: str) -> RowFilter | None:
    """A column and a text to look for in it, or None when no column is chosen."""
    left, right = st.columns(2)
    column = left.selectbox("Filter on column", [NO_FILTER, *columns], key=f"{key}-column")
    text = right.text_input("containing", key=f"{key}-text")
    if column == NO_FILTER or not text:
        return None
    return RowFilter(column, text)


def show_page(page: Page) -> None:
    """A page of rows and where it is among them."""
    st.caption(page.caption())
    st.dataframe(page.frame, hide_index=True)


def run_or_error(action: Callable[[], T]) -> T | None:
    """The action's result; a LakehouseError is shown as its sentence (None returned)."""
    from lakehouse.errors import LakehouseError

    try:
        return action()
    except LakehouseError as exc:
        st.error(str(exc))
        return None
