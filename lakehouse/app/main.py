"""The QA app's Streamlit script: opens the project once, draws the page the URL names and
keeps the page's state in the URL (`?page=diff&product=p&builds=a,b`), so that a link can be
pasted into a ticket.

    python -m streamlit run lakehouse/app/main.py --server.address 127.0.0.1 \
        --server.port PORT --server.headless true --browser.gatherUsageStats false \
        -- --config lakehouse.toml [--env NAME]

The arguments after `--` are this script's; without `--config`, the config path is read from
LAKEHOUSE_APP_CONFIG (and the environment from LAKEHOUSE_APP_ENV), else lakehouse.toml is
looked for from the current folder up. Read-only: nothing here writes to the store.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from lakehouse.app.state import DEFAULT_PAGE, PAGES, PageState, from_query, to_query
from lakehouse.app.views import builds, diff, lineage, sources
from lakehouse.errors import LakehouseError
from lakehouse.project import Lakehouse, open_lakehouse

CONFIG_VARIABLE = "LAKEHOUSE_APP_CONFIG"
ENV_VARIABLE = "LAKEHOUSE_APP_ENV"

VIEWS: dict[str, Callable[[Lakehouse, PageState], PageState]] = {
    "sources": sources.show,
    "builds": builds.show,
    "diff": diff.show,
    "lineage": lineage.show,
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """`--config PATH` and `--env NAME` (defaults from the environment variables); other
    arguments are ignored (a test runner's)."""
    parser = argparse.ArgumentParser(prog="lakehouse-app", allow_abbrev=False, add_help=False)
    parser.add_argument("--config", default=os.environ.get(CONFIG_VARIABLE) or None)
    parser.add_argument("--env", default=os.environ.get(ENV_VARIABLE) or None)
    return parser.parse_known_args(list(argv))[0]


@st.cache_resource(show_spinner="Opening the project…")
def open_project(config: str | None, env: str | None) -> Lakehouse:
    """The project, opened once per config and environment (a failure is not kept)."""
    return open_lakehouse(Path(config) if config else None, env)


def main() -> None:
    st.set_page_config(page_title="Lakehouse QA", layout="wide")
    args = parse_args(sys.argv[1:])
    try:
        lake = open_project(args.config, args.env)
    except LakehouseError as exc:
        st.error(str(exc))
        return
    state = from_query(st.query_params.to_dict())
    pages = list(PAGES)
    page = st.sidebar.radio(
        "Page", pages, index=pages.index(state.page or DEFAULT_PAGE),
        format_func=PAGES.__getitem__, key="page",
    )  # fmt: skip
    st.sidebar.caption(f"Store: {lake.store.root}" + (f" ({args.env})" if args.env else ""))
    state = state.with_(page=page)
    try:
        state = VIEWS[page](lake, state)
    except LakehouseError as exc:
        st.error(str(exc))
    st.query_params.from_dict(to_query(state))


main()
