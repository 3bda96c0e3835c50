"""Zipped Shapefiles: geometry and CRS kept; a zip without one, or a bare .shp, is refused. Each
through a real ingest."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest

from lakehouse.errors import ConfigError, FormatError
from lakehouse.project import Lakehouse
from tests.conftest import realdata, write_template
from tests.formats.samples import data_path, features


def test_zipped_shapefile_keeps_geometry_and_crs(lake: Lakehouse, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    features().iloc[[0]].to_crs("EPSG:2263").to_file(folder / "pts.shp")
    archive = tmp_path / "pts.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, part.name)
    lake.ingest("pts", file=archive)
    frame = gpd.read_parquet(data_path(lake, "pts"))
    assert frame.crs.to_epsg() == 2263
    assert frame.geometry.iloc[0].x == pytest.approx(986_000, rel=0.01)
    assert list(frame["floors"]) == [3]


def test_a_zip_that_is_not_a_shapefile_is_refused(lake: Lakehouse, tmp_path: Path) -> None:
    archive = tmp_path / "junk.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "hello")
    with pytest.raises(FormatError, match="not a readable geo file"):
        lake.ingest("junk", file=archive)
    assert lake.versions("junk") == []


@pytest.mark.realdata
def test_real_open_streets_shapefile(lake: Lakehouse) -> None:
    manifest = lake.ingest("open_streets", file=realdata("Open_Streets_Locations.zip")).manifest
    assert manifest.row_count == 325
    assert manifest.geometry_column == "geom"
    frame = gpd.read_parquet(data_path(lake, "open_streets"))
    assert set(frame.geometry.geom_type) <= {"LineString", "MultiLineString"}


def test_a_bare_shp_is_refused_with_advice_to_zip(lake: Lakehouse, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zip a Shapefile"):
        lake.ingest("s", file=tmp_path / "s.shp")


def _zipped_points(tmp_path: Path, with_prj: bool) -> Path:
    """One point in EPSG:2263 as a zipped shapefile, with its .prj or without."""
    folder = tmp_path / ("withprj" if with_prj else "noprj")
    folder.mkdir()
    features().iloc[[0]].to_crs("EPSG:2263").to_file(folder / "pts.shp")
    archive = tmp_path / "pts.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in sorted(folder.iterdir()):
            if with_prj or part.suffix != ".prj":
                zipped.write(part, part.name)
    return archive


def test_a_shapefile_without_its_prj_is_refused_unless_the_template_names_the_crs(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    archive = _zipped_points(tmp_path, with_prj=False)
    with pytest.raises(
        FormatError, match=r"declares no coordinate reference system .* format\.crs"
    ):
        lake.ingest("pts", file=archive)
    assert lake.datasets() == []  # nothing archived
    write_template(
        project_dir,
        "pts",
        f"name: pts\nsource: {{type: file, path: {archive}}}\n"
        "format: {type: shapefile, crs: 'EPSG:2263'}\n",
    )
    manifest = lake.ingest("pts").manifest
    assert manifest.geometry_crs == "EPSG:2263"
    frame = gpd.read_parquet(data_path(lake, "pts"))
    assert frame.crs.to_epsg() == 2263
    assert frame.geometry.iloc[0].x == pytest.approx(986_000, rel=0.01)


def test_a_template_crs_proj_does_not_know_is_a_clear_error(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    archive = _zipped_points(tmp_path, with_prj=False)
    write_template(
        project_dir,
        "pts",
        f"name: pts\nsource: {{type: file, path: {archive}}}\n"
        "format: {type: shapefile, crs: 'EPSG:1'}\n",
    )
    with pytest.raises(ConfigError, match=r"format.crs 'EPSG:1' is not a coordinate reference"):
        lake.ingest("pts")


def test_a_template_crs_that_contradicts_the_files_is_refused(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    archive = _zipped_points(tmp_path, with_prj=True)  # its .prj says EPSG:2263
    for crs, refused in (("EPSG:4326", True), ("EPSG:2263", False)):
        write_template(
            project_dir,
            "pts",
            f"name: pts\nsource: {{type: file, path: {archive}}}\n"
            f"format: {{type: shapefile, crs: '{crs}'}}\n",
        )
        if refused:
            with pytest.raises(
                FormatError, match=r"declares its CRS as EPSG:2263 but the template's format"
            ):
                lake.ingest("pts")
            assert lake.datasets() == []
        else:
            assert lake.ingest("pts").manifest.geometry_crs == "EPSG:2263"
