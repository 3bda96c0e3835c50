"""The QA app's diff page for a geometry product draws the changed geometries (the diff
report's maps): the one-product geometry project of tests/render/test_maps.py, built twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.test_main import run_app
from tests.render.test_maps import AFTER, ingest_places, sites_project


def test_the_diff_page_maps_the_changed_geometries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = sites_project(tmp_path / "p", tmp_path)
    first = lake.builds("sites")[-1].build_id
    ingest_places(lake, tmp_path / "v2", AFTER)
    second = lake.build("sites").build_id
    (table,) = lake.diff("sites", first, second).tables
    app = run_app(
        monkeypatch, tmp_path / "p" / "lakehouse.toml",
        page="diff", product="sites", builds=f"{first},{second}",
    )  # fmt: skip
    assert [e.value for e in app.error] == []
    assert [s.value for s in app.subheader if s.value == "Changed geometries"]
    drawings = [m.value for m in app.markdown if "<svg" in m.value]
    assert len(drawings) == len(table.geometry) == 1
    assert 'class="map"' in drawings[0]
