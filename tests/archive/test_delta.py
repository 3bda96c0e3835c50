"""Delta-stored datasets: a failed commit is undone; geo versions keep their CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from lakehouse.project import Lakehouse
from lakehouse.store.storage import Store
from tests.conftest import write_template


def test_a_failed_commit_leaves_the_delta_table_at_the_last_committed_version(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable

    path = tmp_path / "d.csv"
    write_template(
        project_dir,
        "d",
        f"name: d\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\nstorage: delta\n",
    )
    path.write_text("a\n1\n")
    lake.ingest("d", version="v1")

    def disk_full(self: Store, rel: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "create_exclusive", disk_full)
    path.write_text("a\nUNCOMMITTED\n")
    with pytest.raises(OSError, match="No space left"):
        lake.ingest("d", version="v2")
    monkeypatch.undo()
    table = DeltaTable(str(Path(lake.store.root) / "raw" / "d" / "_delta"))
    assert table.to_pyarrow_table().to_pydict() == {"a": ["1"]}
    assert [m.version for m in lake.versions("d")] == ["v1"]
    assert lake.verify().ok
    path.write_text("a\n2\n")
    lake.ingest("d", version="v2")
    assert lake.read("d", "v2").to_pydict() == {"a": ["2"]}
    assert lake.read("d", "v1").to_pydict() == {"a": ["1"]}


def test_delta_geo_keeps_its_crs_in_the_manifest(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "p.geojson"
    gpd.GeoDataFrame({"n": [1]}, geometry=[Point(1, 2)], crs="EPSG:4326").to_file(path)
    write_template(
        project_dir,
        "p",
        f"name: p\nsource: {{type: file, path: {path}}}\n"
        "format: {type: geojson}\nstorage: delta\n",
    )
    manifest = lake.ingest("p").manifest
    assert (manifest.geometry_column, manifest.geometry_crs) == ("geom", "EPSG:4326")
    assert ("geom", "GEOMETRY") in [(c.name, c.type) for c in manifest.columns]
