"""ArcGIS FeatureServer extraction against a server on 127.0.0.1 shaped like ArcGIS REST."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pytest

from lakehouse.errors import SourceError
from lakehouse.project import Lakehouse
from tests import fakes
from tests.conftest import write_template

SERVICE = "Test_Service"


@pytest.fixture
def arcgis() -> Iterator[fakes.ArcGISServer]:
    with fakes.ArcGISServer() as server:
        server.add_layer(
            SERVICE, 0, fakes.sample_features(250, seed=2, geometry="mixed"), max_record_count=100
        )
        yield server


def _template(project_dir: Path, url: str, **extra: object) -> None:
    options = ", ".join(f"{k}: {v}" for k, v in {"backoff_seconds": 0, **extra}.items())
    write_template(
        project_dir,
        "layer",
        f"name: layer\nsource: {{type: arcgis, url: '{url}', {options}}}\n"
        "format: {type: geojson}\n",
    )


def _data(lake: Lakehouse, dataset: str) -> gpd.GeoDataFrame:
    return gpd.read_parquet(Path(lake.store.root) / lake.manifest(dataset).data_files[0].path)


def test_pages_with_result_offset_until_the_transfer_limit_clears(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    _template(project_dir, arcgis.layer_url(SERVICE, 0))
    manifest = lake.ingest("layer").manifest
    queries = arcgis.requests_to(arcgis.query_path(SERVICE, 0))
    assert [(q.query["resultOffset"], q.query["resultRecordCount"]) for q in queries] == [
        ("0", "100"),
        ("100", "100"),
        ("200", "100"),
    ]
    assert all(q.query["f"] == "geojson" for q in queries)
    assert manifest.row_count == 250
    assert manifest.version == "20240806"  # editingInfo.dataLastEditDate 1722957831575
    assert manifest.geometry_column == "geom"
    frame = _data(lake, "layer")
    assert frame.crs.to_epsg() == 4326
    assert list(frame["OBJECTID"]) == list(range(1, 251))
    assert frame.geometry.notna().all()


def test_a_page_size_below_the_server_maximum_is_used(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    _template(project_dir, arcgis.layer_url(SERVICE, 0), page_size=60)
    assert lake.ingest("layer").manifest.row_count == 250
    assert len(arcgis.requests_to(arcgis.query_path(SERVICE, 0))) == 5


def test_a_failing_page_is_retried(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    arcgis.set_fault(arcgis.query_path(SERVICE, 0), fakes.status500(times=1, after=1))
    _template(project_dir, arcgis.layer_url(SERVICE, 0))
    assert lake.ingest("layer").manifest.row_count == 250


def test_an_arcgis_error_body_with_http_200_is_an_error(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    arcgis.set_fault(arcgis.query_path(SERVICE, 0), fakes.arcgis_error(message="Invalid query"))
    _template(project_dir, arcgis.layer_url(SERVICE, 0))
    with pytest.raises(SourceError, match="reported error 500: Invalid query"):
        lake.ingest("layer")
    assert lake.versions("layer") == []


def test_an_unknown_layer_is_an_error(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    _template(project_dir, arcgis.layer_url(SERVICE, 7))
    with pytest.raises(SourceError, match="reported error 400"):
        lake.ingest("layer")


def test_a_truncated_page_and_a_hang_fail_cleanly(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    arcgis.set_fault(arcgis.query_path(SERVICE, 0), fakes.truncate(after=1))
    _template(project_dir, arcgis.layer_url(SERVICE, 0), retries=1)
    with pytest.raises(SourceError, match="cut off"):
        lake.ingest("layer")
    arcgis.set_fault(arcgis.query_path(SERVICE, 0), fakes.hang(seconds=10))
    _template(project_dir, arcgis.layer_url(SERVICE, 0), retries=0, timeout_seconds=0.3)
    with pytest.raises(SourceError, match=r"did not answer within 0\.3 s"):
        lake.ingest("layer")
    assert lake.versions("layer") == []


def test_a_layer_url_is_required(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer
) -> None:
    from lakehouse.errors import ConfigError

    _template(project_dir, arcgis.service_url(SERVICE))
    with pytest.raises(ConfigError, match="FeatureServer/<layer number>"):
        lake.ingest("layer")


@pytest.mark.realdata
def test_real_layer_metadata(lake: Lakehouse, project_dir: Path) -> None:
    fakes.require_realdata(fakes.ARCFS_SERVICE, fakes.ARCFS_LAYER)
    with fakes.ArcGISServer() as server:
        layer = fakes.add_realdata_layer(server, n=30)
        assert layer is not None
        _template(project_dir, server.layer_url(layer.service, layer.layer_id))
        manifest = lake.ingest("layer").manifest
    assert manifest.row_count == 30
    assert manifest.source.details["name"] == layer.name
    expected = datetime.fromtimestamp(layer.data_last_edit_date / 1000, tz=UTC).strftime("%Y%m%d")
    assert manifest.version == expected
