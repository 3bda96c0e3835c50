"""Real NYC points into boroughs by point-in-polygon: the state's nursing homes (WKT points in
EPSG:4326) and NYPL's libraries (longitude/latitude columns) are archived with their geometry
declared in their templates, then a product puts each in a county polygon of the Census
(WKT in EPSG:2263, NY State Plane feet), reprojecting the points on the way. Skipped, with the
reason, where ../shared/realdata is absent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lakehouse.project import Lakehouse
from tests.conftest import write_template
from tests.fakes.realdata import require_realdata

FILES = ("nysdoh_nursinghomes.csv", "test_nypl_libraries.csv", "census_counties_nyc.csv")
TEMPLATES = {
    "nursing_homes": ("nysdoh_nursinghomes.csv", "{wkt: Location, crs: 'EPSG:4326'}"),
    "libraries": ("test_nypl_libraries.csv", "{x: lon, y: lat, crs: 'EPSG:4326'}"),
    "counties": ("census_counties_nyc.csv", "{wkt: geometry, crs: 'EPSG:2263'}"),
}
MODELS = """
import ibis

from lakehouse.transform import model


def _in_state_plane(t, name):
    return t.select(name=name, geom=t.geom.convert("EPSG:4326", "EPSG:2263"))


@model(layer="staging")
def stg_places(nursing_homes, libraries):
    homes = _in_state_plane(nursing_homes, nursing_homes["Facility Name"])
    branches = _in_state_plane(libraries, libraries["name"])
    return homes.mutate(kind=ibis.literal("nursing home")).union(
        branches.mutate(kind=ibis.literal("library"))
    )


@model(layer="product")
def places_by_county(stg_places, counties):
    shapes = counties.select(county=counties.NAME, shape=counties.geom)
    joined = stg_places.left_join(shapes, stg_places.geom.within(shapes.shape))
    return joined.select("kind", "name", "county").order_by(["kind", "name"])
"""


@pytest.fixture
def placed(lake: Lakehouse, project_dir: Path) -> dict[str, str | None]:
    realdata = require_realdata(*FILES)
    for dataset, (file_name, geometry) in TEMPLATES.items():
        write_template(
            project_dir,
            dataset,
            f"name: {dataset}\nsource: {{type: file, path: {realdata / file_name}}}\n"
            f"format: {{type: csv, geometry: {geometry}}}\n",
        )
        lake.ingest(dataset)
    package = project_dir / "transforms" / "places_by_county"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    (project_dir / "recipes" / "places_by_county.yml").write_text(
        "name: places_by_county\nowner: me\n"
        "inputs: {nursing_homes: latest, libraries: latest, counties: latest}\n"
        "outputs: [places_by_county]\n"
    )
    lake.build("places_by_county")
    _, rows = lake.sql("places_by_county", "SELECT name, county FROM places_by_county")
    sources = 0
    for file_name, _ in list(TEMPLATES.values())[:2]:
        with (realdata / file_name).open(newline="") as handle:
            sources += sum(1 for _ in csv.DictReader(handle))
    assert len(rows) == sources  # every place once: no point falls in two counties
    return dict(rows)


@pytest.mark.realdata
def test_nursing_homes_inside_and_outside_the_city(placed: dict[str, str | None]) -> None:
    # Far Rockaway (zip 11691) is in Queens; the other four are upstate or on Long Island
    assert placed["Haven Manor Health Care Center,LLC"] == "Queens"
    for outside in (
        "Bellhaven Center for Rehabilitation and Nursing Care",  # Suffolk County
        "Humboldt House Rehabilitation and Nursing Center",  # Buffalo
        "Sans Souci Rehabilitation and Nursing Center",  # Yonkers, just north of the Bronx
    ):
        assert placed[outside] is None


@pytest.mark.realdata
def test_libraries_checked_by_hand(placed: dict[str, str | None]) -> None:
    assert placed["125th Street Library"] == "New York"  # East Harlem
    assert placed["Allerton Library"] == "Bronx"
    assert placed["City Island Library"] == "Bronx"  # on an island in Long Island Sound
    assert placed["Dongan Hills Library"] == "Richmond"  # Staten Island
    assert placed["Huguenot Park Library"] == "Richmond"


@pytest.mark.realdata
def test_every_library_lies_in_the_borough_of_its_zip_code(placed: dict[str, str | None]) -> None:
    realdata = require_realdata(*FILES, "city_zip_boro.csv")
    county_of = {"MN": "New York", "BX": "Bronx", "BK": "Kings", "QN": "Queens", "SI": "Richmond"}
    with (realdata / "city_zip_boro.csv").open() as handle:
        borough_of_zip = {row["zipcode"]: row["boro"] for row in csv.DictReader(handle)}
    with (realdata / "test_nypl_libraries.csv").open() as handle:
        libraries = list(csv.DictReader(handle))
    checked = 0
    for library in libraries:
        borough = borough_of_zip.get(library["zipcode"])
        if borough is not None:
            assert placed[library["name"]] == county_of[borough], library["name"]
            checked += 1
    assert checked >= 80
