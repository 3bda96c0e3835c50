"""Geometry in the archive's records and source QA, through real ingests: invalid geometries
counted in the manifest for every geometry source (a GeoJSON's too), the counts left out of the
records that have no geometry (old manifests read and write back as they were), a version's
profile holding its geometry's CRS, types, invalid and empty counts and bbox, a CRS change
between versions flagged as drift, and a workbook's sheets archived as datasets of their own."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from lakehouse.archive.manifest import Manifest
from lakehouse.config import LakehouseConfig, S3Settings, StoreSettings
from lakehouse.project import Lakehouse
from lakehouse.qa.profile import GeometryProfile
from lakehouse.qa.records import DriftRecord, ProfileRecord
from tests.conftest import write_template

FIXTURE_RAW = Path(__file__).resolve().parents[1] / "fixtures" / "store_v1" / "store" / "raw"


def sites_template(project_dir: Path, path: Path, crs: str) -> None:
    write_template(
        project_dir,
        "sites",
        f"name: sites\nsource: {{type: file, path: {path}}}\n"
        f"format: {{type: csv, geometry: {{x: x, y: y, crs: '{crs}'}}}}\n",
    )


def test_a_geojson_source_counts_its_invalid_geometries(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "parks.geojson"
    gpd.GeoDataFrame(
        {"name": ["square", "bowtie"]},
        geometry=[
            Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]),
            Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]),
        ],
        crs="EPSG:4326",
    ).to_file(path, driver="GeoJSON")
    manifest = lake.ingest("parks", file=path).manifest
    assert (manifest.invalid_geometries, manifest.unparsed_geometries) == (1, None)
    assert manifest.geometry_summary() == "geom EPSG:4326, 1 invalid"
    written = json.loads(manifest.to_json())
    assert written["invalid_geometries"] == 1 and "unparsed_geometries" not in written


def test_records_without_geometry_counts_read_and_write_back_as_they_were() -> None:
    for path in sorted(FIXTURE_RAW.glob("*/*/manifest.json")):
        manifest = Manifest.from_json(path.read_bytes(), str(path))
        assert manifest.invalid_geometries is None and manifest.unparsed_geometries is None
        written = json.loads(manifest.to_json())
        assert "invalid_geometries" not in written and "unparsed_geometries" not in written
        assert Manifest.from_json(manifest.to_json(), str(path)) == manifest


@pytest.fixture(params=["local", "s3"])
def any_lake(request: pytest.FixtureRequest, project_dir: Path) -> Lakehouse:
    """A project whose store is a local folder, or a prefix in a fresh bucket on moto."""
    if request.param == "local":
        store = StoreSettings(root=".lakehouse")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        store = StoreSettings(root=f"s3://{bucket}/lake", s3=S3Settings(endpoint_url=endpoint))
    return Lakehouse(LakehouseConfig(project_dir=project_dir, store=store))


def test_a_crs_change_between_versions_is_flagged_by_the_source_qa(
    any_lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    lake = any_lake
    first = tmp_path / "sites-1.csv"
    first.write_text("id,x,y\n1,-73.99,40.73\n2,-73.95,40.65\n3,,\n")
    sites_template(project_dir, first, "EPSG:4326")
    lake.ingest("sites", version="v1")
    # the publisher moves to State Plane feet (and the template says so)
    second = tmp_path / "sites-2.csv"
    second.write_text("id,x,y\n1,986000,190000\n2,995000,160000\n3,,\n")
    sites_template(project_dir, second, "EPSG:2263")
    manifest = lake.ingest("sites", version="v2").manifest
    assert manifest.geometry_crs == "EPSG:2263"
    assert manifest.qa is not None and manifest.qa.against == "v1"
    assert "geom: CRS EPSG:4326 -> EPSG:2263" in manifest.qa.flags
    assert any(flag.startswith("geom: bbox [-73.99, 40.65") for flag in manifest.qa.flags)
    assert not any("retyped" in flag for flag in manifest.qa.flags)

    qa_folder = f"{manifest.run_folder}/qa"
    profile = ProfileRecord.from_json(
        lake.store.read_bytes(f"{qa_folder}/profile.json"), "profile.json"
    )
    (geometry,) = [c for c in profile.columns if c.name == "geom"]
    assert (geometry.type, geometry.non_null) == ("GEOMETRY", 2)
    assert geometry.geometry == GeometryProfile(
        crs="EPSG:2263",
        types={"POINT": 2},
        invalid=0,
        empty=0,
        bbox=(986000.0, 160000.0, 995000.0, 190000.0),
    )
    drift = DriftRecord.from_json(lake.store.read_bytes(f"{qa_folder}/drift.json"), "drift.json")
    (column,) = [c for c in drift.columns if c.column == "geom"]
    assert column.old is not None and column.old.geometry is not None  # v1 profiled then
    assert column.old.geometry.crs == "EPSG:4326"
    # on demand, the same
    assert "geom: CRS EPSG:4326 -> EPSG:2263" in lake.source_qa("sites").flags


def test_each_sheet_of_a_workbook_is_a_dataset_of_its_own(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sites = workbook.active
    sites.title = "sites"
    sites.append(["id", "lon", "lat"])
    sites.append(["1", -73.99, 40.73])
    owners = workbook.create_sheet("owners")
    owners.append(["id", "owner"])
    owners.append(["1", "CITY"])
    owners.append(["2", "STATE"])
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    points = "geometry: {x: lon, y: lat, crs: 'EPSG:4326'}"
    for name, fmt in (
        ("register_sites", f"{{type: excel, sheet: sites, {points}}}"),
        ("register_owners", "{type: excel, sheet: owners}"),
    ):
        write_template(
            project_dir,
            name,
            f"name: {name}\nsource: {{type: file, path: {path}}}\nformat: {fmt}\n",
        )
    site_version = lake.ingest("register_sites").manifest
    owner_version = lake.ingest("register_owners").manifest
    assert site_version.source_sha256 == owner_version.source_sha256  # one source file
    assert (site_version.row_count, owner_version.row_count) == (1, 2)
    assert (site_version.geometry_crs, owner_version.geometry_column) == ("EPSG:4326", None)
    frame = gpd.read_parquet(Path(lake.store.root) / site_version.data_files[0].path)
    assert frame.geometry.iloc[0].equals(Point(-73.99, 40.73))
    assert [m.version for m in lake.versions("register_owners")] == [owner_version.version]
    assert lake.ingest("register_sites").status == "unchanged"
