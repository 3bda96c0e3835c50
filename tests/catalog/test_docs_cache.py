"""The docs site's cache (`DocsCache`, in the workspace): what one `lake docs` keeps, the next
reads back, and nothing kept is shown once what it was made from has changed.

To tell content read back from content made afresh, a test rewrites a kept file with a value
no run could make ("kept.marker") and looks for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.catalog.docs import DOCS_CACHE, kept_lineage
from lakehouse.catalog.docs_cache import DocsCache
from lakehouse.project import Lakehouse
from tests.projects import change_lots, make_project
from tests.render.test_maps import AFTER, ingest_places, sites_project

MARKER = "kept.marker"


@pytest.fixture
def lake(tmp_path: Path) -> Lakehouse:
    return make_project(tmp_path / "p", lots=100)


def kept_folder(lake: Lakehouse, product: str) -> Path:
    return Path(lake.config.workspace_dir) / DOCS_CACHE / product


def kept_file(folder: Path, kind: str) -> Path:
    (found,) = folder.glob(f"{kind}-*.json")
    return found


def mark(path: Path, old: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, MARKER))


def lineage_in(lake: Lakehouse, kept: DocsCache) -> dict[str, list[str]]:
    """PLUTO-lite's column lineage as `kept_lineage` gives it."""
    config, store, archive = lake.config, lake.store, lake.archive
    return kept_lineage(config, store, archive, "pluto_lite", kept).columns["pluto_lite"]


def test_a_second_site_reads_back_what_the_first_kept_and_is_the_same(
    lake: Lakehouse, tmp_path: Path
) -> None:
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    first = lake.docs(tmp_path / "first")
    kinds = sorted(p.name.split("-")[0] for p in kept_folder(lake, "pluto_lite").iterdir())
    assert kinds == ["contracts", "lineage", "maps"]
    second = lake.docs(tmp_path / "second")
    assert [p.name for p in second.pages] == [p.name for p in first.pages]
    for page in first.pages:
        assert (second.folder / page.name).read_text() == page.read_text(), page.name


def test_a_kept_lineage_is_read_back_until_a_model_changes(lake: Lakehouse, tmp_path: Path) -> None:
    kept = DocsCache(tmp_path / "kept")
    traced = kept_lineage(lake.config, lake.store, lake.archive, "pluto_lite", kept)
    assert traced == lake.lineage("pluto_lite")  # what `lake lineage` traces
    assert traced.columns["pluto_lite"]["lotarea"] == ["dof_pts.land_area"]
    path = kept_file(tmp_path / "kept" / "pluto_lite", "lineage")
    assert kept_lineage(lake.config, lake.store, lake.archive, "pluto_lite", kept) == traced
    mark(path, "dof_pts.land_area")
    assert lineage_in(lake, kept)["lotarea"] == [MARKER]  # read back, not traced
    staging = Path(lake.config.transforms_dir) / "pluto_lite" / "staging.py"
    code = staging.read_text()
    assert "lotarea=c_int(dof_pts.land_area)" in code
    staging.write_text(
        code.replace("lotarea=c_int(dof_pts.land_area)", "lotarea=c_int(dof_pts.bldg_area)")
    )
    assert lineage_in(lake, kept)["lotarea"] == ["dof_pts.bldg_area"]
    assert len(list((tmp_path / "kept" / "pluto_lite").iterdir())) == 1  # the old key's is gone


def test_a_kept_lineage_is_traced_again_for_a_newly_locked_version(
    lake: Lakehouse, tmp_path: Path
) -> None:
    kept = DocsCache(tmp_path / "kept")
    lake.lock("pluto_lite")
    (first,) = [v.version for v in lake.versions("dof_pts")]
    lineage = kept_lineage(lake.config, lake.store, lake.archive, "pluto_lite", kept)
    assert {n.name: n.detail for n in lineage.nodes}["dof_pts"] == f"dof_pts {first}"
    change_lots(Path(lake.config.project_dir) / "data" / "pluto_lite" / "dof_pts.csv")
    lake.ingest("dof_pts")
    lake.lock("pluto_lite")
    second = lake.versions("dof_pts")[-1].version
    assert second != first
    lineage = kept_lineage(lake.config, lake.store, lake.archive, "pluto_lite", kept)
    assert {n.name: n.detail for n in lineage.nodes}["dof_pts"] == f"dof_pts {second}"


def test_a_kept_file_that_does_not_read_is_made_again(lake: Lakehouse, tmp_path: Path) -> None:
    kept = DocsCache(tmp_path / "kept")
    lineage_in(lake, kept)
    path = kept_file(tmp_path / "kept" / "pluto_lite", "lineage")
    path.write_text('{"product": "pluto_lite", "nodes": [')  # cut short
    assert lineage_in(lake, kept)["lotarea"] == ["dof_pts.land_area"]
    assert json.loads(path.read_text())["product"] == "pluto_lite"  # written whole again


def test_contract_results_are_kept_per_build(lake: Lakehouse, tmp_path: Path) -> None:
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    lake.docs(tmp_path / "site")
    mark(kept_file(kept_folder(lake, "pluto_lite"), "contracts"), "pluto_lite: primary key")
    page = tmp_path / "site" / "product-pluto_lite.html"
    lake.docs(tmp_path / "site")
    assert MARKER in page.read_text()  # read back for the same build
    rebuilt = lake.build("pluto_lite")
    lake.docs(tmp_path / "site")
    text = page.read_text()
    assert rebuilt.build_id in text
    assert "pluto_lite: primary key" in text and MARKER not in text


def test_maps_are_kept_per_build(tmp_path: Path) -> None:
    lake = sites_project(tmp_path / "p", tmp_path)
    lake.docs(tmp_path / "site")
    page = tmp_path / "site" / "product-sites.html"
    assert page.read_text().count('<svg class="map"') == 1
    maps = kept_file(kept_folder(lake, "sites"), "maps")
    assert "4 features drawn" in maps.read_text()
    mark(maps, "4 features drawn")
    lake.docs(tmp_path / "site")
    assert MARKER in page.read_text()  # read back for the same build
    places: dict[int, tuple[float, float]] = {**AFTER, 6: (1000900.0, 200150.0)}
    ingest_places(lake, tmp_path / "v2", places)
    rebuilt = lake.build("sites", latest=True)
    lake.docs(tmp_path / "site")
    text = page.read_text()
    assert f"sites.geom, build {rebuilt.build_id}" in text
    assert "5 features drawn" in text and MARKER not in text
