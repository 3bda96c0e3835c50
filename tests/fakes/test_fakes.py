"""The local test servers behave like the real APIs, and their faults fire (real HTTP, no mocks)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import fakes

TIMEOUT = 5.0
CSV_BODY = b"id,name\n" + b"".join(f"{i},name {i}\n".encode() for i in range(200))


@pytest.fixture
def files() -> Iterator[fakes.FileServer]:
    with fakes.FileServer() as server:
        server.add("/data/x.csv", CSV_BODY, content_type="text/csv", last_modified=1712954195)
        yield server


@pytest.fixture
def socrata() -> Iterator[fakes.SocrataServer]:
    with fakes.SocrataServer() as server:
        server.add_sample_dataset("abcd-1234", n=2500, seed=1)
        yield server


@pytest.fixture
def arcgis() -> Iterator[fakes.ArcGISServer]:
    with fakes.ArcGISServer() as server:
        server.add_layer("Test_Service", 0, fakes.sample_features(25, seed=2), max_record_count=10)
        yield server


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One keep-alive client for the module (a fresh client per request costs ~25 ms)."""
    with httpx.Client(timeout=TIMEOUT) as shared:
        yield shared


# -- FileServer ------------------------------------------------------------------------------


def test_file_get_head_and_request_log(files: fakes.FileServer, client: httpx.Client) -> None:
    assert files.base_url.startswith("http://127.0.0.1:")
    response = client.get(files.url("/data/x.csv"), params={"v": "1"})
    assert response.status_code == 200
    assert response.content == CSV_BODY
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["content-length"] == str(len(CSV_BODY))
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"] == "Fri, 12 Apr 2024 20:36:35 GMT"
    head = client.head(files.url("/data/x.csv"))
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(CSV_BODY))
    assert head.content == b""
    assert [(r.method, r.path, r.query) for r in files.requests] == [
        ("GET", "/data/x.csv", {"v": "1"}),
        ("HEAD", "/data/x.csv", {}),
    ]
    assert client.get(files.url("/missing.csv")).status_code == 404
    assert files.errors == []


def test_conditional_range_and_redirect(files: fakes.FileServer, client: httpx.Client) -> None:
    etag = client.get(files.url("/data/x.csv")).headers["etag"]
    assert client.get(files.url("/data/x.csv"), headers={"If-None-Match": etag}).status_code == 304
    part = client.get(files.url("/data/x.csv"), headers={"Range": "bytes=3-6"})
    assert part.status_code == 206
    assert part.content == CSV_BODY[3:7]
    assert part.headers["content-range"] == f"bytes 3-6/{len(CSV_BODY)}"
    files.add_redirect("/latest.csv", "/data/x.csv")
    followed = client.get(files.url("/latest.csv"), follow_redirects=True)
    assert followed.content == CSV_BODY


def test_status500_n_times_then_success(files: fakes.FileServer, client: httpx.Client) -> None:
    files.set_fault("/data/x.csv", fakes.status500(times=2))
    statuses = [client.get(files.url("/data/x.csv")).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert files.fault_hits("/data/x.csv") == 2
    assert [r.fault for r in files.requests] == ["http_error", "http_error", None]


def test_fault_after_and_retry_after(files: fakes.FileServer, client: httpx.Client) -> None:
    files.set_fault("/data/x.csv", fakes.http_error(503, times=1, after=1, retry_after=2))
    first, second, third = (client.get(files.url("/data/x.csv")) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 503, 200)
    assert second.headers["retry-after"] == "2"


def test_faults_skip_head_unless_asked(files: fakes.FileServer, client: httpx.Client) -> None:
    files.set_fault("/data/x.csv", fakes.status500())
    assert client.head(files.url("/data/x.csv")).status_code == 200
    files.set_fault("/data/x.csv", fakes.status500(methods=("HEAD",)))
    assert client.head(files.url("/data/x.csv")).status_code == 500
    assert client.get(files.url("/data/x.csv")).status_code == 200


def test_hang_exceeds_client_timeout_and_stop_is_fast(client: httpx.Client) -> None:
    server = fakes.FileServer().start()
    server.add("/slow.csv", CSV_BODY, fault=fakes.hang(30))
    with pytest.raises(httpx.ReadTimeout):
        client.get(server.url("/slow.csv"), timeout=0.5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0


def test_hang_once_then_serves(files: fakes.FileServer, client: httpx.Client) -> None:
    files.set_fault("/data/x.csv", fakes.hang(30, times=1))
    with pytest.raises(httpx.ReadTimeout):
        client.get(files.url("/data/x.csv"), timeout=0.3)
    assert client.get(files.url("/data/x.csv")).content == CSV_BODY


@pytest.mark.parametrize("chunked", [False, True])
def test_truncated_body_makes_httpx_raise(
    files: fakes.FileServer, chunked: bool, client: httpx.Client
) -> None:
    files.add("/cut.csv", CSV_BODY, "text/csv", fault=fakes.truncate(), chunked=chunked)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(files.url("/cut.csv"))


def test_wrong_content_type_is_an_html_page(files: fakes.FileServer, client: httpx.Client) -> None:
    files.set_fault("/data/x.csv", fakes.wrong_content_type(times=1))
    response = client.get(files.url("/data/x.csv"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert b"<html>" in response.content
    assert client.get(files.url("/data/x.csv")).content == CSV_BODY


def test_slow_body_sends_first_bytes_then_stalls(
    files: fakes.FileServer, client: httpx.Client
) -> None:
    files.set_fault("/data/x.csv", fakes.slow_body(first_bytes=100))
    received = bytearray()
    with (
        pytest.raises(httpx.ReadTimeout),
        client.stream("GET", files.url("/data/x.csv"), timeout=0.5) as response,
    ):
        assert response.headers["content-length"] == str(len(CSV_BODY))
        for chunk in response.iter_raw():
            received.extend(chunk)
    assert bytes(received) == CSV_BODY[:100]


def test_disconnect_without_response(files: fakes.FileServer, client: httpx.Client) -> None:
    files.set_fault("*", fakes.disconnect(times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(files.url("/data/x.csv"))
    assert client.get(files.url("/data/x.csv")).status_code == 200


# -- SocrataServer ---------------------------------------------------------------------------


def test_socrata_view_metadata(socrata: fakes.SocrataServer, client: httpx.Client) -> None:
    view = client.get(socrata.view_url("abcd-1234")).json()
    assert view["id"] == "abcd-1234"
    assert view["rowsUpdatedAt"] == fakes.DEFAULT_ROWS_UPDATED_AT
    assert isinstance(view["viewLastModified"], int)
    first = view["columns"][0]
    assert {"id", "name", "fieldName", "dataTypeName", "position"} <= first.keys()
    assert (first["name"], first["fieldName"], first["position"]) == (
        "DCA License Number",
        "license_nbr",
        1,
    )


def test_socrata_pages_by_limit_and_offset(
    socrata: fakes.SocrataServer, client: httpx.Client
) -> None:
    records: list[dict[str, Any]] = []
    sizes = []
    for offset in range(0, 3000, 1000):
        params = {"$limit": "1000", "$offset": str(offset), "$order": ":id"}
        page = client.get(socrata.resource_url("abcd-1234"), params=params).json()
        sizes.append(len(page))
        records.extend(page)
    assert sizes == [1000, 1000, 500]
    assert records == socrata.dataset("abcd-1234").records()
    offsets = [r.query["$offset"] for r in socrata.requests_to("/resource/abcd-1234.json")]
    assert offsets == ["0", "1000", "2000"]


def test_socrata_values_are_strings_and_nulls_omitted(
    socrata: fakes.SocrataServer, client: httpx.Client
) -> None:
    page = client.get(socrata.resource_url("abcd-1234"), params={"$limit": "200"}).json()
    assert all(isinstance(v, str) for r in page for k, v in r.items() if k != "location")
    assert any("business_name_2" not in r for r in page)
    located = next(r for r in page if "location" in r)
    assert located["location"]["type"] == "Point"


def test_socrata_default_limit_and_cap(socrata: fakes.SocrataServer, client: httpx.Client) -> None:
    response = client.get(socrata.resource_url("abcd-1234"))
    assert len(response.json()) == fakes.SODA_DEFAULT_LIMIT
    assert response.headers["x-soda2-fields"].startswith('["license_nbr"')
    too_big = client.get(socrata.resource_url("abcd-1234"), params={"$limit": "50001"})
    assert too_big.status_code == 400
    assert too_big.json()["error"] is True
    assert "50000" in too_big.json()["message"]


def test_socrata_csv_pages_and_count(socrata: fakes.SocrataServer, client: httpx.Client) -> None:
    params = {"$limit": "10", "$offset": "5", "$order": ":id"}
    text = client.get(socrata.resource_url("abcd-1234", "csv"), params=params).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["license_nbr", "license_type"]
    assert [row[0] for row in rows[1:]] == [f"{1000000 + i:07d}-DCA" for i in range(5, 15)]
    count = client.get(socrata.resource_url("abcd-1234"), params={"$select": "count(*)"}).json()
    assert count == [{"count": "2500"}]


def test_socrata_bulk_export_uses_display_names(
    socrata: fakes.SocrataServer, client: httpx.Client
) -> None:
    response = client.get(socrata.export_url("abcd-1234"))
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["DCA License Number", "License Type", "License Expiration Date"]
    assert len(rows) == 2501
    assert rows[1][2].count("/") == 2  # MM/DD/YYYY like the real export
    assert socrata.requests[-1].query == {"accessType": "DOWNLOAD"}


def test_socrata_unknown_dataset_is_404(socrata: fakes.SocrataServer, client: httpx.Client) -> None:
    view = client.get(socrata.view_url("zzzz-9999"))
    assert view.status_code == 404
    assert view.json()["error"] is True
    rows = client.get(socrata.resource_url("zzzz-9999"))
    assert rows.status_code == 404
    assert rows.json()["code"] == "dataset.missing"


def test_socrata_faults_per_endpoint(socrata: fakes.SocrataServer, client: httpx.Client) -> None:
    socrata.set_fault(socrata.resource_path("abcd-1234"), fakes.wrong_content_type())
    assert client.get(socrata.view_url("abcd-1234")).status_code == 200
    page = client.get(socrata.resource_url("abcd-1234"))
    assert page.headers["content-type"].startswith("text/html")
    socrata.set_fault(socrata.export_path("abcd-1234"), fakes.truncate())
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(socrata.export_url("abcd-1234"))


# -- ArcGISServer ----------------------------------------------------------------------------


def test_arcgis_service_and_layer_metadata(
    arcgis: fakes.ArcGISServer, client: httpx.Client
) -> None:
    service = client.get(arcgis.service_url("Test_Service"), params={"f": "json"}).json()
    assert service["layers"][0]["id"] == 0
    assert service["maxRecordCount"] == 10
    layer = client.get(arcgis.layer_url("Test_Service", 0), params={"f": "json"}).json()
    assert layer["editingInfo"]["dataLastEditDate"] == fakes.DEFAULT_EDIT_MS
    assert layer["maxRecordCount"] == 10
    assert layer["objectIdField"] == "OBJECTID"
    assert layer["geometryType"] == "esriGeometryPoint"
    assert {"xmin", "ymin", "xmax", "ymax", "spatialReference"} <= layer["extent"].keys()
    types = {f["name"]: f["type"] for f in layer["fields"]}
    assert types["OBJECTID"] == "esriFieldTypeOID"
    assert types["lot_area"] == "esriFieldTypeDouble"
    assert types["name"] == "esriFieldTypeString"
    html_page = client.get(arcgis.layer_url("Test_Service", 0))
    assert html_page.headers["content-type"].startswith("text/html")


def query(client: httpx.Client, server: fakes.ArcGISServer, **params: str) -> dict[str, Any]:
    base = {"where": "1=1", "outFields": "*", "f": "geojson", "orderByFields": "OBJECTID"}
    response = client.get(server.query_url("Test_Service", 0), params={**base, **params})
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_arcgis_pages_with_exceeded_transfer_limit(
    arcgis: fakes.ArcGISServer, client: httpx.Client
) -> None:
    pages = [
        query(client, arcgis, resultOffset=str(o), resultRecordCount="10") for o in (0, 10, 20)
    ]
    assert [len(p["features"]) for p in pages] == [10, 10, 5]
    assert [p.get("exceededTransferLimit") for p in pages] == [True, True, None]
    assert pages[0]["properties"] == {"exceededTransferLimit": True}
    assert "properties" not in pages[2]
    ids = [f["id"] for p in pages for f in p["features"]]
    assert ids == list(range(1, 26))
    assert pages[0]["features"][0]["properties"]["OBJECTID"] == 1
    capped = query(client, arcgis, resultOffset="0", resultRecordCount="500")
    assert len(capped["features"]) == 10
    assert query(client, arcgis, returnCountOnly="true") == {"count": 25}
    assert len(query(client, arcgis, where="OBJECTID > 20")["features"]) == 5


def test_arcgis_esri_json_query(arcgis: fakes.ArcGISServer, client: httpx.Client) -> None:
    document = query(client, arcgis, f="json", outFields="OBJECTID,name", resultRecordCount="3")
    assert document["exceededTransferLimit"] is True
    feature = document["features"][0]
    assert feature["attributes"].keys() == {"OBJECTID", "name"}
    assert {"x", "y"} == feature["geometry"].keys()


def test_arcgis_errors_are_http_200(arcgis: fakes.ArcGISServer, client: httpx.Client) -> None:
    for url in (arcgis.layer_url("Test_Service", 7), arcgis.service_url("Nope")):
        response = client.get(url, params={"f": "json"})
        assert response.status_code == 200
        assert response.json()["error"]["code"] == 400
    bad = client.get(
        arcgis.query_url("Test_Service", 0), params={"where": "nope > 1", "f": "geojson"}
    )
    assert bad.json()["error"]["details"] == ["'where' parameter is invalid"]


def test_arcgis_faults_on_query(arcgis: fakes.ArcGISServer, client: httpx.Client) -> None:
    path = arcgis.query_path("Test_Service", 0)
    arcgis.set_fault(path, fakes.status500(times=1, after=1))
    assert len(query(client, arcgis)["features"]) == 10
    assert (
        client.get(arcgis.query_url("Test_Service", 0), params={"f": "geojson"}).status_code == 500
    )
    arcgis.set_fault(path, fakes.arcgis_error(times=1))
    assert query(client, arcgis)["error"]["code"] == 500
    assert query(client, arcgis)["type"] == "FeatureCollection"


# -- sample payloads and real data -------------------------------------------------------------


def test_samples_are_deterministic() -> None:
    assert fakes.sample_socrata_rows(50, seed=3) == fakes.sample_socrata_rows(50, seed=3)
    features = fakes.sample_features(40, seed=4, geometry="mixed")
    assert {f["geometry"]["type"] for f in features} == {"Point", "Polygon"}
    ring = next(f for f in features if f["geometry"]["type"] == "Polygon")["geometry"]
    assert ring["coordinates"][0][0] == ring["coordinates"][0][-1]
    values = [v for f in features for v in f["properties"].values()]
    assert {type(v) for v in values} >= {int, float, str, type(None)}


def test_missing_realdata_gives_a_reason_and_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fakes.realdata, "REALDATA", tmp_path / "absent")
    reason = fakes.realdata_missing(fakes.DCA_CSV)
    assert reason is not None and "absent" in reason
    with fakes.SocrataServer() as server:
        assert fakes.load_dca_dataset(server) is None
    assert fakes.load_arcgis_metadata() is None


def test_real_dca_dataset_round_trips(client: httpx.Client) -> None:
    realdata = fakes.require_realdata(fakes.DCA_CSV, fakes.DCA_METADATA)
    with fakes.SocrataServer() as server:
        dataset = fakes.load_dca_dataset(server)
        assert dataset is not None
        view = client.get(server.view_url(dataset.dataset_id)).json()
        assert view["rowsUpdatedAt"] == 1712954195
        assert view["name"] == "Legally Operating Businesses"
        export = client.get(server.export_url(dataset.dataset_id)).content
        assert export == (realdata / fakes.DCA_CSV).read_bytes()
        records = client.get(server.resource_url(dataset.dataset_id)).json()
        assert records[0]["business_name"] == "BARBARINO, JOHN JR."
        assert "bin" not in records[0]


def test_real_arcgis_metadata_shape(client: httpx.Client) -> None:
    fakes.require_realdata(fakes.ARCFS_SERVICE, fakes.ARCFS_LAYER)
    real = fakes.load_arcgis_metadata()
    assert real is not None
    real_service, real_layer = real
    with fakes.ArcGISServer() as server:
        layer = fakes.add_realdata_layer(server, n=5)
        assert layer is not None
        served = client.get(server.layer_url(layer.service, 13), params={"f": "json"}).json()
        assert served.keys() == real_layer.keys()
        assert served["editingInfo"] == real_layer["editingInfo"]
        service = client.get(server.service_url(layer.service), params={"f": "json"}).json()
        assert service.keys() == real_service.keys()
        page = client.get(
            server.query_url(layer.service, 13),
            params={"where": "1=1", "outFields": "*", "f": "geojson"},
        ).json()
        assert len(page["features"]) == 5
        assert "HistoricName" in page["features"][0]["properties"]
    # and synthesized metadata carries the real layer's essential keys
    with fakes.ArcGISServer() as server:
        server.add_layer(features=fakes.sample_features(3))
        synthetic = client.get(server.layer_url("Test_Service", 0), params={"f": "json"}).json()
        essential = {"editingInfo", "maxRecordCount", "fields", "objectIdField", "extent"}
        assert essential <= synthetic.keys() <= real_layer.keys()
