"""`lake distribute` end to end on the demo's spatial product: MapPLUTO-lite, built and
published from generated sources, sent through the real delivery (package, checked outputs,
dictionary columns) to a fake ArcGIS layer on 127.0.0.1, which ends holding one feature per
lot with the dictionary's fields added; and PLUTO-lite (no geometry) refused by it."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.publish.reading import published_output
from tests.fakes.arcgis_editor import FeatureServiceEditor
from tests.projects import mappluto_lite_project

TOKEN = "planted-e2e-token-91c2"


def test_mappluto_lite_replaces_an_arcgis_layer_and_pluto_lite_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = mappluto_lite_project(tmp_path / "demo", lots=200)
    for product in ("pluto_lite", "mappluto_lite"):
        lake.build(product)
        lake.diff_report(product)
        lake.publish(product)
    monkeypatch.setenv("GIS_TOKEN", TOKEN)
    config = ["--config", str(tmp_path / "demo" / "lakehouse.toml")]
    with FeatureServiceEditor(TOKEN) as editor:
        editor.add_layer(
            "Lots", 0, fields=[], geometry_type="esriGeometryPolygon",
            spatial_reference={"wkid": 2263, "latestWkid": 2263},
        )  # fmt: skip
        for product in ("pluto_lite", "mappluto_lite"):
            (tmp_path / "demo" / "recipes" / f"{product}.destinations.yml").write_text(
                "destinations:\n"
                f"  - {{name: gis, type: arcgis, layer_url: '{editor.layer_url()}',\n"
                "      token_env: GIS_TOKEN, batch_size: 25}\n"
            )
        dry = CliRunner().invoke(app, [*config, "distribute", "mappluto_lite", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert editor.features() == []  # a dry run writes nothing
        said = CliRunner().invoke(app, [*config, "distribute", "mappluto_lite"])
        assert said.exit_code == 0, said.output
        features = editor.features()
        refused = CliRunner().invoke(app, [*config, "distribute", "pluto_lite"])
    rows = lake.published("mappluto_lite")[-1].outputs["outputs/mappluto_lite"].rows
    assert len(features) == rows == 200
    names = {name.lower() for name in features[0]["attributes"]}
    assert {"bbl", "borough", "zonedist1"} <= names
    entry = lake.published("mappluto_lite")[-1]
    published = Path(lake.store.root) / published_output(
        "mappluto_lite", entry.version, "mappluto_lite"
    )
    unmapped = pq.read_table(published, columns=["geom"]).column("geom").null_count
    mapped = [f for f in features if f.get("geometry")]
    assert len(mapped) == rows - unmapped > 0  # a lot not on the tax map goes without a shape
    assert all("rings" in f["geometry"] for f in mapped)
    assert refused.exit_code == 1
    assert "takes geometry, and pluto_lite has no geometry column" in refused.output
    (record,) = [r for r in lake.distributions("mappluto_lite") if r.result == "sent"]
    assert record.destination == "gis" and record.type == "arcgis"
    for text in (dry.output, said.output, refused.output, record.to_json().decode()):
        assert TOKEN not in text
