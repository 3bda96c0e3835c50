"""A mistyped product name is answered with the closest recipe's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import NotFoundError
from lakehouse.transform.recipe import load_recipe


def test_a_mistyped_product_suggests_the_closest_recipe(tmp_path: Path) -> None:
    (tmp_path / "facilities.yml").write_text("name: facilities\n")
    (tmp_path / "pluto_lite.yml").write_text("name: pluto_lite\n")
    with pytest.raises(NotFoundError, match=r"did you mean 'facilities'\?"):
        load_recipe(tmp_path, "facilites")
    with pytest.raises(NotFoundError) as unknown:
        load_recipe(tmp_path, "zoning")
    assert "did you mean" not in str(unknown.value)
    assert "write one (see recipes/pluto_lite.yml)" in str(unknown.value)
