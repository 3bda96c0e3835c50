"""MapPLUTO-lite's generated sources (docs/MAPPLUTO_LITE.md section 1): deterministic, on
PLUTO-lite's lots, in the stated CRSs, with the stated irregularities."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import geopandas
import pyogrio
import pytest
import shapely

from lakehouse.demo import generate_pluto_lite
from lakehouse.demo.mappluto import FRAMES, generate_mappluto_lite

N = 4000


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("maps")
    generate_pluto_lite(folder, lots=N, seed=3)
    generate_mappluto_lite(folder, lots=N, seed=3)
    return folder


@pytest.fixture(scope="module")
def parts(out_dir: Path) -> geopandas.GeoDataFrame:
    return geopandas.read_file(out_dir / "dtm_lots.zip")


@pytest.fixture(scope="module")
def lot_bbls(out_dir: Path) -> set[str]:
    with (out_dir / "dof_pts.csv").open() as handle:
        return {row["bbl"] for row in csv.DictReader(handle)}


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_lots_and_seed_give_byte_identical_files(tmp_path: Path) -> None:
    generate_mappluto_lite(tmp_path / "a", lots=300, seed=9)
    generate_mappluto_lite(tmp_path / "b", lots=300, seed=9)
    generate_mappluto_lite(tmp_path / "c", lots=300, seed=10)
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def test_the_files_declare_their_crs_and_geometry_type(out_dir: Path) -> None:
    lots = pyogrio.read_info(out_dir / "dtm_lots.zip")
    assert (lots["crs"], lots["geometry_type"], list(lots["fields"])) == (
        "EPSG:2263",
        "Polygon",
        ["bbl"],
    )
    districts = pyogrio.read_info(out_dir / "zoning_districts.geojson")
    assert (districts["crs"], districts["geometry_type"]) == ("EPSG:4326", "Polygon")
    assert '"crs"' not in (out_dir / "zoning_districts.geojson").read_text()[:200]


def test_every_lot_but_half_a_percent_has_a_shape_and_orphans_never_match(
    parts: geopandas.GeoDataFrame, lot_bbls: set[str]
) -> None:
    shaped = set(parts.bbl)
    assert len(lot_bbls - shaped) == round(N * 0.005)
    orphans = shaped - lot_bbls
    assert len(orphans) == round(N * 0.003)
    assert all(int(bbl[-4:]) >= 9900 for bbl in orphans)


def test_some_lots_come_in_two_parts_and_a_few_are_bowties(
    parts: geopandas.GeoDataFrame,
) -> None:
    per_lot = Counter(parts.bbl)
    assert Counter(per_lot.values())[2] == round((N - round(N * 0.005)) * 0.02)
    invalid = parts[~parts.is_valid]
    assert len(invalid) == round((N - round(N * 0.005)) * 0.001)
    assert all(per_lot[bbl] == 1 for bbl in invalid.bbl)


def test_lots_lie_in_their_borough_frame_without_overlapping(
    parts: geopandas.GeoDataFrame, lot_bbls: set[str]
) -> None:
    lots = parts[parts.bbl.isin(lot_bbls) & parts.is_valid]
    for boro, (x0, y0, width, height) in FRAMES.items():
        mine = lots[lots.bbl.str[0] == str(boro)]
        xmin, ymin, xmax, ymax = mine.total_bounds
        assert x0 <= xmin and y0 <= ymin and xmax <= x0 + width and ymax <= y0 + height
    union = shapely.union_all(lots.geometry.values)
    assert union.area == pytest.approx(lots.area.sum(), rel=1e-9)


def test_districts_cover_most_lots_after_reprojection_with_messy_names(
    out_dir: Path, parts: geopandas.GeoDataFrame
) -> None:
    districts = geopandas.read_file(out_dir / "zoning_districts.geojson").to_crs("EPSG:2263")
    assert list(districts.objectid) == list(range(1, len(districts) + 1))
    names = [name for name in districts.zonedist if isinstance(name, str)]
    assert any(name != name.strip() for name in names)
    assert any(name != name.upper() for name in names)
    assert len(names) + districts.zonedist.isna().sum() == len(districts)
    covered = parts.geometry.representative_point().within(shapely.union_all(districts.geometry))
    assert 0.85 < covered.mean() < 1
