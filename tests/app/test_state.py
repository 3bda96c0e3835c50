"""The page's state in the URL: read back as it was written, unknown names refused with the
ones that exist."""

from __future__ import annotations

import pytest

from lakehouse.app.state import PageState, from_query, link, pick, pick_pair, to_query
from lakehouse.errors import NotFoundError


def test_a_state_written_to_the_url_reads_back_the_same() -> None:
    state = PageState("diff", "lots", ("26v1", "26v2"), "prod", ("b1", "26v1"))
    assert to_query(state) == {
        "page": "diff", "dataset": "lots", "versions": "26v1,26v2",
        "product": "prod", "builds": "b1,26v1",
    }  # fmt: skip
    assert from_query(to_query(state)) == state
    assert link(state) == "?page=diff&dataset=lots&versions=26v1,26v2&product=prod&builds=b1,26v1"


def test_an_empty_or_unknown_page_is_the_sources_page_and_empty_parts_are_left_out() -> None:
    assert from_query({"page": "nope", "versions": " a , ,b"}) == PageState(versions=("a", "b"))
    assert to_query(PageState()) == {"page": "sources"}


def test_pick_takes_the_default_or_the_last_and_refuses_an_unknown_name_naming_others() -> None:
    assert pick(None, ["a", "b"], "version", "'lots'") == "b"
    assert pick(None, ["a", "b"], "version", "'lots'", "a") == "a"
    with pytest.raises(NotFoundError, match=r"^'lots' has no version 'c'; its versions: a, b\.$"):
        pick("c", ["a", "b"], "version", "'lots'")
    with pytest.raises(NotFoundError, match=r"^'lots' has no version yet\.$"):
        pick(None, [], "version", "'lots'")


def test_pick_pair_defaults_to_the_last_two_and_one_version_twice() -> None:
    assert pick_pair((), ["a", "b", "c"], "version", "x") == ("b", "c")
    assert pick_pair(("a",), ["a", "b", "c"], "version", "x") == ("a", "c")
    assert pick_pair((), ["a"], "version", "x") == ("a", "a")
    assert pick_pair((), ["a", "b", "c"], "version", "x", ("c", "a")) == ("c", "a")
