"""The ArcGIS feature layer destination against a fake editable layer on 127.0.0.1: the layer's
features replaced by the version's (reprojected, in all-or-nothing batches), a failed batch
undone so the layer keeps its old features, retries that never duplicate, the schema kept in
step with the dictionary, non-geometry products refused, and the token nowhere but the form."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from pydantic import ValidationError

from lakehouse.distribute import DESTINATION_TYPES
from lakehouse.distribute.arcgis import DESTINATION, ArcGISSpec, preview, send
from lakehouse.distribute.delivery import (
    DeliveredColumn,
    DeliveredTable,
    Delivery,
    ProductMetadata,
)
from lakehouse.errors import DistributeError
from tests.fakes.arcgis_editor import FeatureServiceEditor
from tests.fakes.faults import http_error

TOKEN = "planted-ArcGIS-t0ken-7f3a9c"
LON_LAT = [(-74.0, 40.7), (-73.95, 40.8), (-73.9, 40.6), (-74.1, 40.65), (-73.8, 40.75)]
# (-74.0, 40.7) and (-73.95, 40.8) in Web Mercator, worked out with the spherical formulas
# x = R * lon (radians), y = R * ln(tan(pi/4 + lat/2)), R = 6378137
MERCATOR = [(-8237642.3187, 4968191.9302), (-8232076.3442, 4982886.3166)]
BUILT_MS = 1704153600000  # 2024-01-02T00:00:00Z
OLD = [
    {"attributes": {"lot_id": 900 + n, "owner_name": f"old {n}"}, "geometry": {"x": n, "y": n}}
    for n in range(3)
]
LAYER_FIELDS = [
    {"name": "lot_id", "type": "esriFieldTypeInteger", "alias": "Lot", "editable": True},
    {"name": "OWNER_NAME", "type": "esriFieldTypeString", "length": 50, "editable": True},
    {"name": "area", "type": "esriFieldTypeDouble", "editable": True},
    {"name": "built", "type": "esriFieldTypeDate", "editable": True},
    {"name": "Shape__Area", "type": "esriFieldTypeDouble", "editable": False},
]


# a delivery made by hand ---------------------------------------------------------------------


def delivery(
    tmp_path: Path,
    *,
    owners: list[str] | None = None,
    crs: str | None = "EPSG:4326",
    geometry: list[Any] | None = None,
) -> Delivery:
    """A published version of `lots`: lot_id, owner (sent as owner_name), area, built, geom."""
    shapes = geometry or [shapely.Point(lon, lat) for lon, lat in LON_LAT]
    rows = len(shapes)
    columns: dict[str, Any] = {
        "lot_id": pa.array(range(1, rows + 1), pa.int64()),
        "owner": pa.array(owners or [f"owner {n}" for n in range(1, rows + 1)]),
        "area": pa.array([10.5 * n for n in range(1, rows + 1)]),
        "built": pa.array([dt.date(2024, 1, 2)] * rows),
    }
    if crs is not None:
        columns["geom"] = pa.array(shapely.to_wkb(shapes).tolist(), pa.binary())
    parquet = tmp_path / "lots.parquet"
    pq.write_table(pa.table(columns), parquet)
    described = [
        DeliveredColumn("lot_id", "lot_id", "integer", "The lot's number.", "Lot"),
        DeliveredColumn("owner_name", "owner", "text", "Who owns the lot.", "Owner"),
        DeliveredColumn("area", "area", "float", "Lot area in square feet.", "Lot area"),
        DeliveredColumn("built", "built", "date", "When it was built.", "Built on"),
    ]
    if crs is not None:
        described.append(DeliveredColumn("geom", "geom", "geometry", "The lot's point.", "Geom"))
    table = DeliveredTable(
        "lots", rows, parquet, described, "geom" if crs is not None else None, crs
    )
    return Delivery(
        product="lots",
        version="2024.1",
        build_id="b1",
        published_at=dt.datetime(2024, 1, 3, tzinfo=dt.UTC),
        package=tmp_path,
        files={},
        tables={"lots": table},
        metadata=ProductMetadata(title="Lots", description="Tax lots.", owner="planning"),
    )


class Progress:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, task: str, done: int, total: int | None = None) -> None:
        self.messages.append(f"{task} {done}/{total}")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeatureServiceEditor]:
    monkeypatch.setenv("ARCGIS_TOKEN", TOKEN)
    with FeatureServiceEditor(TOKEN) as editor:
        editor.add_layer("Lots", 0, fields=LAYER_FIELDS, features=OLD)
        yield editor


def spec(server: FeatureServiceEditor, **extra: Any) -> ArcGISSpec:
    settings = {"batch_size": 2, "backoff_seconds": 0, **extra}
    return ArcGISSpec(name="gis_lots", type="arcgis", layer_url=server.layer_url(), **settings)


def attributes(server: FeatureServiceEditor) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in f["attributes"].items() if k != "OBJECTID"} for f in server.features()
    ]


def edit_requests(server: FeatureServiceEditor) -> list[Any]:
    return [r for r in server.requests if r.path.endswith("/applyEdits")]


# replacing ----------------------------------------------------------------------------------


def test_a_point_layer_is_replaced_by_the_version_reprojected_to_the_layers_reference(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    receipt = send(spec(server), delivery(tmp_path), Progress())

    features = server.features()
    assert [f["attributes"]["OBJECTID"] for f in features] == [4, 5, 6, 7, 8]  # old 1-3 gone
    assert attributes(server) == [
        {"lot_id": n, "OWNER_NAME": f"owner {n}", "area": 10.5 * n, "built": BUILT_MS}
        for n in range(1, 6)
    ]
    for feature, (x, y) in zip(features, MERCATOR, strict=False):
        assert feature["geometry"]["x"] == pytest.approx(x, abs=0.01)
        assert feature["geometry"]["y"] == pytest.approx(y, abs=0.01)
    assert receipt.location == server.layer_url()
    assert receipt.details["added"] == 5
    assert receipt.details["deleted"] == 3
    assert receipt.details["crs"] == "EPSG:4326 -> EPSG:3857"
    assert receipt.remote_id == f"5 features, lastEditDate {server.layer().last_edit_date}"


def test_features_go_in_all_or_nothing_batches_before_the_old_ones_are_deleted(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    progress = Progress()
    receipt = send(spec(server), delivery(tmp_path), progress)

    assert receipt.details["batches"] == 3
    assert server.committed == [
        "applyEdits: 2 adds, 0 deletes",
        "applyEdits: 2 adds, 0 deletes",
        "applyEdits: 1 adds, 0 deletes",
        "applyEdits: 0 adds, 2 deletes",
        "applyEdits: 0 adds, 1 deletes",
    ]
    assert all(r.query["rollbackOnFailure"] == "true" for r in edit_requests(server))
    assert "adding the new features 5/5" in progress.messages
    assert "removing the old features 3/3" in progress.messages


def test_a_refused_feature_in_the_second_batch_leaves_the_layer_holding_its_old_features(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    before = server.features()
    server.fail_adds(
        lambda f: "Unique constraint violated." if f["attributes"]["OWNER_NAME"] == "bad" else None
    )
    owners = ["a", "b", "c", "bad", "e"]

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path, owners=owners), Progress())

    assert server.features() == before  # batch 1 went in, and was taken out again
    assert str(caught.value) == (
        f"Replacing the features of {server.layer_url()} stopped: batch 2 of 3 failed (1 of "
        "its 2 features refused: 'Unique constraint violated.'); the features added before were "
        "removed again, so the layer holds its 3 old features unchanged; fix the cause and run "
        "`lake distribute lots --version 2024.1 --to gis_lots --force` again."
    )


def test_a_5xx_on_one_request_is_retried_and_the_replace_completes(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    path = "/arcgis/rest/services/Lots/FeatureServer/0/applyEdits"
    server.set_fault(path, http_error(503, times=1, after=1, retry_after=0))

    receipt = send(spec(server), delivery(tmp_path), Progress())

    assert server.fault_hits(path) == 1
    assert receipt.details["added"] == 5
    assert [a["OWNER_NAME"] for a in attributes(server)] == [f"owner {n}" for n in range(1, 6)]


def test_an_answer_lost_after_its_batch_went_in_leaves_no_duplicate_features(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    server.lose_answers("applyEdits", times=1, after=0)  # batch 1 applied, then a 502

    receipt = send(spec(server), delivery(tmp_path), Progress())

    assert [a["lot_id"] for a in attributes(server)] == [1, 2, 3, 4, 5]
    assert receipt.details["deleted"] == 5  # the 3 old ones and batch 1's first copy


def test_a_server_down_for_a_whole_batch_leaves_the_old_features_and_says_how_often_it_tried(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    before = server.features()
    path = "/arcgis/rest/services/Lots/FeatureServer/0/applyEdits"
    server.set_fault(path, http_error(503, times=4, after=1))

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path), Progress())

    assert server.features() == before
    message = str(caught.value)
    assert message == (
        f"Replacing the features of {server.layer_url()} stopped: add batch 2 of 3 failed: HTTP "
        "503 (tried 4 times); the features added before were removed again, so the layer holds "
        "its 3 old features unchanged; fix the cause and run "
        "`lake distribute lots --version 2024.1 --to gis_lots --force` again."
    )


def test_when_the_undo_fails_too_the_error_says_so_and_running_again_finishes_the_replace(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    path = "/arcgis/rest/services/Lots/FeatureServer/0/applyEdits"
    server.fail_adds(lambda f: "Bad value." if f["attributes"]["OWNER_NAME"] == "bad" else None)
    server.set_fault(path, http_error(503, after=2))  # batch 1 in, batch 2 refused, then down
    owners = ["a", "b", "bad", "d", "e"]

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path, owners=owners), Progress())

    assert str(caught.value).startswith(
        f"Replacing the features of {server.layer_url()} stopped (batch 2 of 3 failed (1 of its "
        "2 features refused: 'Bad value.')), and removing the features this run had added "
        "failed too (HTTP 503 (tried 4 times)): "
    )
    assert str(caught.value).endswith(
        "the layer may hold its 3 old features plus some of the new ones; run "
        "`lake distribute lots --version 2024.1 --to gis_lots --force` to finish the replace."
    )
    assert len(server.features()) == 5  # the 3 old ones and batch 1

    server.clear_faults()
    second = tmp_path / "second"
    second.mkdir()
    send(spec(server), delivery(second), Progress())
    assert [a["OWNER_NAME"] for a in attributes(server)] == [f"owner {n}" for n in range(1, 6)]


def test_when_removing_the_old_features_fails_the_error_says_the_layer_holds_both(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    path = "/arcgis/rest/services/Lots/FeatureServer/0/applyEdits"
    server.set_fault(path, http_error(503, after=3))  # the 3 add batches in, then down

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path), Progress())

    assert str(caught.value) == (
        f"All 5 new features are in {server.layer_url()}, but removing the old ones failed "
        "(HTTP 503 (tried 4 times)): the layer holds the new features and some old ones; run "
        "`lake distribute lots --version 2024.1 --to gis_lots --force` to finish the replace."
    )
    assert len(server.features()) == 8


# the schema ---------------------------------------------------------------------------------


def test_a_missing_field_is_added_with_the_dictionarys_display_name_and_description(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    layer = server.layer()
    layer.fields = [f for f in layer.fields if f["name"] != "area"]

    receipt = send(spec(server), delivery(tmp_path), Progress())

    assert layer.added_fields == [
        {
            "name": "area",
            "type": "esriFieldTypeDouble",
            "alias": "Lot area",
            "nullable": True,
            "editable": True,
            "domain": None,
            "defaultValue": None,
            "description": '{"value": "Lot area in square feet.", "fieldValueType": ""}',
        }
    ]
    assert receipt.details["fields_added"] == ["area"]
    assert [a["area"] for a in attributes(server)] == [10.5, 21.0, 31.5, 42.0, 52.5]
    (admin,) = [r for r in server.requests if r.path.endswith("/addToDefinition")]
    assert admin.path == "/arcgis/rest/admin/services/Lots/FeatureServer/0/addToDefinition"


def test_missing_fields_are_listed_and_nothing_written_when_the_spec_refuses_them(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    layer = server.layer()
    layer.fields = [f for f in layer.fields if f["name"] not in ("area", "built")]

    with pytest.raises(DistributeError) as caught:
        send(spec(server, missing_fields="refuse"), delivery(tmp_path), Progress())

    assert str(caught.value) == (
        "Destination 'gis_lots' cannot replace the features of layer 'Lots': it has no field "
        "for area, built (add them, or set missing_fields: add); nothing was changed."
    )
    assert server.committed == []
    assert layer.added_fields == []


def test_a_field_of_another_type_is_refused_before_anything_is_written(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    server.layer().fields[2]["type"] = "esriFieldTypeInteger"  # OWNER_NAME

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path), Progress())

    assert str(caught.value) == (
        "Destination 'gis_lots' cannot replace the features of layer 'Lots': column "
        "'owner_name' is text and the layer's field 'OWNER_NAME' is Integer; nothing was changed."
    )
    assert server.committed == []


def test_geometries_of_another_type_than_the_layers_are_refused(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    squares = [shapely.box(n, n, n + 1, n + 1) for n in range(5)]

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path, geometry=squares), Progress())

    assert str(caught.value) == (
        "Layer 'Lots' holds Point features and the delivery has Polygon geometries; send it to "
        "a layer of its own geometry type."
    )
    assert server.committed == []


def test_preview_names_what_would_refuse_the_send(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    lines = preview(spec(server), delivery(tmp_path, geometry=[shapely.box(0, 0, 1, 1)]))
    assert lines[-1] == (
        "refused: Layer 'Lots' holds Point features and the delivery has Polygon geometries; "
        "send it to a layer of its own geometry type."
    )


def test_polygon_rings_are_written_clockwise_as_esri_wants(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARCGIS_TOKEN", TOKEN)
    square = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])  # counter-clockwise
    with FeatureServiceEditor(TOKEN) as editor:
        editor.add_layer(
            "Lots",
            0,
            fields=LAYER_FIELDS,
            geometry_type="esriGeometryPolygon",
            spatial_reference={"wkid": 4326, "latestWkid": 4326},
        )
        send(spec(editor), delivery(tmp_path, geometry=[square]), Progress())
        (feature,) = editor.features()
    assert feature["geometry"] == {
        "rings": [[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]]
    }


# refusals and secrets -----------------------------------------------------------------------


def test_a_delivery_without_geometry_is_refused_by_send_and_preview(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    flat = delivery(tmp_path, crs=None)
    refusal = (
        "Destination 'gis_lots' is an ArcGIS feature layer, which needs geometry, and lots's "
        "output 'lots' has no geometry column; send it to a table destination (socrata, a file "
        "drop) instead."
    )
    with pytest.raises(DistributeError) as sent:
        send(spec(server), flat, Progress())
    with pytest.raises(DistributeError) as previewed:
        preview(spec(server), flat)
    assert str(sent.value) == str(previewed.value) == refusal
    assert server.requests == []
    assert DESTINATION.geometry_only
    assert DESTINATION_TYPES.get("arcgis") is DESTINATION


def test_a_refused_token_is_not_retried_and_names_its_variable(
    server: FeatureServiceEditor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCGIS_TOKEN", "expired-token-0000")

    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(tmp_path), Progress())

    assert str(caught.value) == (
        "ArcGIS refused the token in ARCGIS_TOKEN when asked to read the layer (Invalid Token, "
        "code 498); set ARCGIS_TOKEN to a current token of a user who may edit "
        f"{server.layer_url()} (it is read only from the environment)."
    )
    assert len(server.requests) == 1


def test_a_missing_token_variable_is_named(
    server: FeatureServiceEditor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIS_TOKEN", raising=False)
    with pytest.raises(DistributeError, match="environment variable GIS_TOKEN"):
        preview(spec(server, token_env="GIS_TOKEN"), delivery(tmp_path))
    assert server.requests == []


def test_the_token_travels_only_in_form_bodies_and_appears_in_no_message_or_receipt(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    progress = Progress()
    layer = server.layer()
    layer.fields = [f for f in layer.fields if f["name"] != "area"]
    receipt = send(spec(server), delivery(tmp_path), progress)
    server.fail_adds(lambda f: f"rejected, token was {TOKEN}")  # a server echoing the token
    second = tmp_path / "second"
    second.mkdir()
    with pytest.raises(DistributeError) as caught:
        send(spec(server), delivery(second), progress)

    lines = preview(spec(server), delivery(second))
    said = " ".join([repr(receipt), str(caught.value), *progress.messages, *lines])
    assert TOKEN not in said
    assert "rejected, token was REDACTED" in str(caught.value)
    assert server.requests and all(r.method == "POST" for r in server.requests)
    assert all(TOKEN not in r.raw_query and TOKEN not in r.path for r in server.requests)
    assert all(r.query["token"] == TOKEN for r in server.requests)


# preview ------------------------------------------------------------------------------------


def test_preview_says_what_would_change_and_writes_nothing(
    server: FeatureServiceEditor, tmp_path: Path
) -> None:
    layer = server.layer()
    layer.fields = [f for f in layer.fields if f["name"] != "area"]
    layer.fields.append({"name": "notes", "type": "esriFieldTypeString", "editable": True})

    lines = preview(spec(server), delivery(tmp_path))

    assert lines == [
        f"ArcGIS layer 'Lots' ({server.layer_url()}): would delete its 3 features and add 5 "
        "(3 batches of up to 2)",
        "fields that would be added: area (Double)",
        "layer fields lots does not fill (left empty): notes",
        "columns renamed for this destination: owner -> owner_name",
        "geometry reprojected from EPSG:4326 to EPSG:3857 (the layer's spatial reference)",
    ]
    assert server.committed == []
    assert layer.added_fields == []


def test_the_layer_url_must_name_a_feature_layer() -> None:
    for url in (
        "https://example.com/arcgis/rest/services/Lots/FeatureServer",
        "https://example.com/arcgis/rest/services/Lots/MapServer/0",
        "https://example.com/arcgis/rest/services/Lots/FeatureServer/0?token=abc",
    ):
        with pytest.raises(ValidationError, match=r"ending in /FeatureServer/<layer number>"):
            ArcGISSpec(name="gis_lots", type="arcgis", layer_url=url)


def test_the_fake_layer_answers_add_and_delete_features_as_arcgis_does(
    server: FeatureServiceEditor,
) -> None:
    url = server.layer_url()
    bad = {"attributes": {"lot_id": "not a number"}, "geometry": {"x": 0, "y": 0}}
    good = {"attributes": {"lot_id": 7}, "geometry": {"x": 1, "y": 1}}
    form = {"f": "json", "token": TOKEN, "features": json.dumps([good, bad])}
    rolled = httpx.post(f"{url}/addFeatures", data=form).json()
    assert [r["success"] for r in rolled["addResults"]] == [False, False]
    assert rolled["addResults"][0]["error"]["description"] == "Operation rolled back."
    assert rolled["addResults"][1]["error"]["description"] == "Setting of value for lot_id failed."
    partial = httpx.post(f"{url}/addFeatures", data={**form, "rollbackOnFailure": "false"}).json()
    assert [r["success"] for r in partial["addResults"]] == [True, False]
    deleted = httpx.post(
        f"{url}/deleteFeatures", data={"f": "json", "token": TOKEN, "where": "1=1"}
    ).json()
    assert [r["objectId"] for r in deleted["deleteResults"]] == [1, 2, 3, 4]
    assert httpx.post(f"{url}/query", data={"f": "json", "where": "1=1"}).json() == {
        "error": {"code": 499, "message": "Token Required", "details": []}
    }
