"""The cheap "has upstream changed?" probes of every built-in source type, against servers on
127.0.0.1 that count requests: each probe reports the marker and edit date the source gives,
asks for metadata (or headers) alone, never the data; a fetch records the same marker keys in
the manifest's source details, with the same values while nothing changed upstream; a failure
is a one-sentence SourceError."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from lakehouse.errors import SourceError
from lakehouse.project import Lakehouse
from lakehouse.sources import SOURCE_TYPES, Upstream, arcgis, file, http, s3, socrata
from tests import fakes
from tests.conftest import write_template
from tests.fakes.counting_proxy import CountingProxy
from tests.fakes.faults import replace_body
from tests.fakes.server import RecordedRequest, Response, http_date
from tests.sources.conftest import DATASET

SERVICE = "Test_Service"
CSV = b"bbl,owner\n1000010001,SMITH\n2000020002,ACME\n"
JANUARY_2025 = 1735700000  # epoch seconds


def _one_sentence(error: pytest.ExceptionInfo[SourceError]) -> str:
    """The error's message, checked to be one sentence."""
    message = str(error.value)
    assert message.endswith(".") and ". " not in message, message
    return message


def _stopped_server_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens any more."""
    with fakes.FileServer() as server:
        url = server.url(path)
    return url


def test_every_built_in_source_type_can_be_probed() -> None:
    for name in SOURCE_TYPES.builtin_names():
        assert SOURCE_TYPES.get(name).probe is not None, name


# socrata ----------------------------------------------------------------------------------------


def _socrata(portal: fakes.SocrataServer, **settings: float) -> socrata.SocrataSource:
    spec = {"type": "socrata", "domain": portal.base_url, "dataset_id": DATASET}
    return socrata.SocrataSource.model_validate({**spec, "backoff_seconds": 0, **settings})


def test_the_socrata_probe_reads_rows_updated_at_from_the_view_metadata_alone(
    portal: fakes.SocrataServer,
) -> None:
    upstream = socrata.probe(_socrata(portal))
    assert upstream == Upstream(
        marker={"rowsUpdatedAt": fakes.DEFAULT_ROWS_UPDATED_AT},
        edited_at=datetime(2024, 4, 12, 20, 36, 35, tzinfo=UTC),
    )
    assert [(r.method, r.path) for r in portal.requests] == [("GET", portal.view_path(DATASET))]


@pytest.mark.parametrize("mode", ["export", "api"])
def test_a_socrata_fetch_records_the_marker_the_probe_reports_until_the_rows_change(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer, mode: str
) -> None:
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, mode: {mode}, backoff_seconds: 0}}\nformat: {{type: csv}}\n",
    )
    details = lake.ingest("licenses").manifest.source.details
    source = _socrata(portal)
    assert socrata.probe(source).marker == {"rowsUpdatedAt": details["rowsUpdatedAt"]}
    portal.set_rows(DATASET, fakes.sample_socrata_rows(10, seed=9), rows_updated_at=JANUARY_2025)
    portal.clear_requests()
    changed = socrata.probe(source)
    assert (
        changed.marker
        == {"rowsUpdatedAt": JANUARY_2025}
        != {"rowsUpdatedAt": details["rowsUpdatedAt"]}
    )
    assert changed.edited_at == datetime.fromtimestamp(JANUARY_2025, tz=UTC)
    assert [r.path for r in portal.requests] == [portal.view_path(DATASET)]  # no count, no data


def test_a_socrata_view_without_rows_updated_at_gives_an_empty_marker() -> None:
    assert socrata.upstream_from_metadata({"id": DATASET}) == Upstream(marker={})
    assert socrata.upstream_from_metadata({"id": DATASET, "rowsUpdatedAt": True}).marker == {}


def test_a_socrata_probe_failure_is_one_sentence(portal: fakes.SocrataServer) -> None:
    portal.set_fault(portal.view_path(DATASET), fakes.wrong_content_type())
    with pytest.raises(SourceError) as error:
        socrata.probe(_socrata(portal))
    assert "sent a web page" in _one_sentence(error)
    unknown = _socrata(portal).model_copy(update={"dataset_id": "zzzz-9999"})
    with pytest.raises(SourceError) as error:
        socrata.probe(unknown)
    assert "answered HTTP 404; check the URL" in _one_sentence(error)
    down = _socrata(portal).model_copy(update={"domain": _stopped_server_url("")})
    with pytest.raises(SourceError) as error:
        socrata.probe(down)
    assert "cannot reach" in _one_sentence(error)


def test_a_probe_retries_once_whatever_the_template_says(portal: fakes.SocrataServer) -> None:
    portal.set_fault(portal.view_path(DATASET), fakes.status500())
    with pytest.raises(SourceError) as error:
        socrata.probe(_socrata(portal, retries=5))
    assert "answered HTTP 500 (tried 2 times)" in _one_sentence(error)
    assert len(portal.requests_to(portal.view_path(DATASET))) == 2
    portal.clear_requests()
    with pytest.raises(SourceError):
        socrata.probe(_socrata(portal, retries=0))
    assert len(portal.requests_to(portal.view_path(DATASET))) == 1


# arcgis -----------------------------------------------------------------------------------------


@pytest.fixture
def layer_server() -> Iterator[fakes.ArcGISServer]:
    with fakes.ArcGISServer() as server:
        server.add_layer(
            SERVICE,
            0,
            fakes.sample_features(150, seed=2),
            max_record_count=100,
            schema_last_edit_date=fakes.DEFAULT_EDIT_MS + 5000,  # a field added after the data
        )
        yield server


def _layer(server: fakes.ArcGISServer, layer_id: int = 0) -> arcgis.ArcgisSource:
    return arcgis.ArcgisSource(
        type="arcgis", url=server.layer_url(SERVICE, layer_id), backoff_seconds=0
    )


def test_the_arcgis_probe_reads_last_edit_date_from_the_layer_metadata_alone(
    layer_server: fakes.ArcGISServer,
) -> None:
    upstream = arcgis.probe(_layer(layer_server))
    last_edit = fakes.DEFAULT_EDIT_MS + 5000  # the schema's edit, later than the data's
    assert upstream == Upstream(
        marker={"lastEditDate": last_edit},
        edited_at=datetime.fromtimestamp(last_edit / 1000, tz=UTC),
    )
    requests = layer_server.requests
    assert [(r.method, r.path, r.query) for r in requests] == [
        ("GET", layer_server.layer_path(SERVICE, 0), {"f": "json"})
    ]


def test_an_arcgis_fetch_records_the_marker_the_probe_reports_until_the_layer_is_edited(
    lake: Lakehouse, project_dir: Path, layer_server: fakes.ArcGISServer
) -> None:
    write_template(
        project_dir,
        "layer",
        f"name: layer\nsource: {{type: arcgis, url: '{layer_server.layer_url(SERVICE, 0)}', "
        "backoff_seconds: 0}\nformat: {type: geojson}\n",
    )
    details = lake.ingest("layer").manifest.source.details
    assert details["dataLastEditDate"] == fakes.DEFAULT_EDIT_MS  # as before
    source = _layer(layer_server)
    assert arcgis.probe(source).marker == {"lastEditDate": details["lastEditDate"]}
    newer = fakes.DEFAULT_EDIT_MS + 86_400_000
    layer_server.set_features(SERVICE, 0, fakes.sample_features(3, seed=4), newer)
    layer_server.clear_requests()
    assert (
        arcgis.probe(source).marker
        == {"lastEditDate": newer}
        != {"lastEditDate": details["lastEditDate"]}
    )
    assert layer_server.requests_to(layer_server.query_path(SERVICE, 0)) == []


def test_a_layer_without_last_edit_date_is_reported_by_its_data_last_edit_date(
    layer_server: fakes.ArcGISServer,
) -> None:
    metadata = {"name": "old server", "editingInfo": {"dataLastEditDate": 1722957831575}}
    path = layer_server.layer_path(SERVICE, 0)
    layer_server.set_fault(path, replace_body(json.dumps(metadata).encode()))
    upstream = arcgis.probe(_layer(layer_server))
    assert upstream.marker == {"dataLastEditDate": 1722957831575}
    assert upstream.edited_at == datetime(2024, 8, 6, 15, 23, 51, 575000, tzinfo=UTC)
    assert arcgis.upstream_from_metadata({"editingInfo": "none"}) == Upstream(marker={})


def test_an_arcgis_probe_failure_is_one_sentence(layer_server: fakes.ArcGISServer) -> None:
    with pytest.raises(SourceError) as error:
        arcgis.probe(_layer(layer_server, layer_id=7))
    assert "reported error 400" in _one_sentence(error)
    layer_server.set_fault(layer_server.layer_path(SERVICE, 0), fakes.wrong_content_type())
    with pytest.raises(SourceError) as error:
        arcgis.probe(_layer(layer_server))
    assert "sent a web page" in _one_sentence(error)
    assert layer_server.requests_to(layer_server.query_path(SERVICE, 0)) == []


# http -------------------------------------------------------------------------------------------


def _http(url: str, **settings: float) -> http.HttpSource:
    options = {"timeout_seconds": 5, "backoff_seconds": 0, **settings}
    return http.HttpSource.model_validate({"type": "http", "url": url, **options})


def test_the_http_probe_reads_etag_and_last_modified_with_one_head(
    files: fakes.FileServer,
) -> None:
    url = files.add("/data/lots.csv", CSV, "text/csv", etag='"v1"', last_modified=1.7e9)
    assert http.probe(_http(url)) == Upstream(
        marker={"etag": '"v1"', "last_modified": http_date(1.7e9)},
        edited_at=datetime.fromtimestamp(1.7e9, tz=UTC),
    )
    assert [r.method for r in files.requests] == ["HEAD"]


def test_the_http_marker_holds_only_the_headers_the_server_sent(
    files: fakes.FileServer,
) -> None:
    bare = files.add("/bare.csv", CSV, "text/csv", etag=False)
    assert http.probe(_http(bare)) == Upstream(marker={})
    tagged = files.add("/tagged.csv", CSV, "text/csv", etag='W/"weak"')
    assert http.probe(_http(tagged)) == Upstream(marker={"etag": 'W/"weak"'})


def test_an_http_fetch_records_the_marker_the_probe_reports_until_the_file_changes(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, "text/csv", last_modified=1.7e9)
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}', backoff_seconds: 0}}\n"
        "format: {type: csv}\n",
    )
    details = lake.ingest("lots").manifest.source.details
    probed = http.probe(_http(url))
    assert details == probed.marker
    assert set(details) == {"etag", "last_modified"}
    files.add("/data/lots.csv", CSV + b"3000030003,NEW\n", "text/csv", last_modified=1.8e9)
    files.clear_requests()
    changed = http.probe(_http(url)).marker
    assert changed["etag"] != details["etag"]
    assert changed["last_modified"] == http_date(1.8e9) != details["last_modified"]
    assert [r.method for r in files.requests] == ["HEAD"]


def test_the_http_probe_follows_redirects_to_the_file(files: fakes.FileServer) -> None:
    files.add("/files/v2.csv", CSV, "text/csv", etag='"v2"')
    files.add_redirect("/latest.csv", "/files/v2.csv")
    assert http.probe(_http(files.url("/latest.csv"))).marker == {"etag": '"v2"'}
    assert [(r.method, r.path) for r in files.requests] == [
        ("HEAD", "/latest.csv"),
        ("HEAD", "/files/v2.csv"),
    ]


class NoHeadServer(fakes.FileServer):
    """A file host that refuses HEAD (405 Method Not Allowed), as some download links do."""

    def route(self, request: RecordedRequest) -> Response:
        if request.method == "HEAD":
            return Response(405, b"", "text/plain", {"Allow": "GET"})
        return super().route(request)


def test_a_refused_head_falls_back_to_a_get_whose_body_is_never_read() -> None:
    with NoHeadServer() as server:
        url = server.add("/big.csv", CSV * 50_000, "text/csv", etag='"big"')
        # the GET sends its headers and 1 KiB, then nothing more until the server stops: a
        # probe that read the body would time out (after 1 s) and fail instead of answering
        server.set_fault("/big.csv", fakes.slow_body(first_bytes=1024))
        upstream = http.probe(_http(url, timeout_seconds=1, retries=0))
        requests = server.requests
    assert upstream == Upstream(marker={"etag": '"big"'})
    assert [(r.method, r.fault) for r in requests] == [("HEAD", None), ("GET", "slow_body")]


def test_a_refused_head_reports_what_the_get_answers() -> None:
    with NoHeadServer() as server:
        with pytest.raises(SourceError) as error:
            http.probe(_http(server.url("/gone.csv")))
        methods = [r.method for r in server.requests]
    assert "/gone.csv answered HTTP 404; check the URL and access rights" in _one_sentence(error)
    assert methods == ["HEAD", "GET"]


def test_an_http_probe_failure_is_one_sentence_without_secrets(files: fakes.FileServer) -> None:
    url = files.add("/data/lots.csv", CSV, "text/csv")
    secret_url = f"{url}?token=S3CRET"
    files.set_fault("/data/lots.csv", fakes.status500(methods=("HEAD",)))
    with pytest.raises(SourceError) as error:
        http.probe(_http(secret_url, retries=3))
    message = _one_sentence(error)
    assert "answered HTTP 500 (tried 2 times)" in message and "token=REDACTED" in message
    assert "S3CRET" not in message
    assert [r.method for r in files.requests] == ["HEAD", "HEAD"]
    files.set_fault("/data/lots.csv", fakes.hang(seconds=10, methods=("HEAD",)))
    with pytest.raises(SourceError) as error:
        http.probe(_http(secret_url, timeout_seconds=0.3, retries=0))
    assert "did not answer within 0.3 s" in _one_sentence(error)
    assert "S3CRET" not in str(error.value)
    files.set_fault("/data/lots.csv", fakes.wrong_content_type(methods=("HEAD",)))
    with pytest.raises(SourceError) as error:
        http.probe(_http(url))
    assert "sent a web page" in _one_sentence(error)
    with pytest.raises(SourceError) as error:
        http.probe(_http(_stopped_server_url("/data/lots.csv")))
    assert "cannot reach" in _one_sentence(error)


def test_the_last_modified_date_is_read_leniently() -> None:
    assert http.last_modified_at({"last_modified": "Tue, 14 Nov 2023 22:13:20 GMT"}) == (
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    )
    assert http.last_modified_at({"last_modified": "yesterday"}) is None
    assert http.last_modified_at({"etag": '"x"'}) is None


# s3 ---------------------------------------------------------------------------------------------


@pytest.fixture
def s3_proxy(s3_endpoint: str) -> Iterator[CountingProxy]:
    with CountingProxy(s3_endpoint) as proxy:
        yield proxy


def _put(endpoint: str, bucket: str, key: str, body: bytes) -> None:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.put_object(Bucket=bucket, Key=key, Body=body)


def test_the_s3_probe_reads_the_etag_from_the_object_metadata_alone(
    s3_endpoint: str, s3_bucket: str, s3_proxy: CountingProxy
) -> None:
    _put(s3_endpoint, s3_bucket, "drop/lots.csv", CSV)
    head = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").head_object(
        Bucket=s3_bucket, Key="drop/lots.csv"
    )
    source = s3.S3Source(
        type="s3", url=f"s3://{s3_bucket}/drop/lots.csv", endpoint_url=s3_proxy.url
    )
    upstream = s3.probe(source)
    assert upstream == Upstream(
        marker={"etag": hashlib.md5(CSV).hexdigest()}, edited_at=head["LastModified"]
    )
    assert [(s.method, s.path) for s in s3_proxy.seen] == [("HEAD", f"/{s3_bucket}/drop/lots.csv")]


def test_an_s3_fetch_records_the_marker_the_probe_reports_until_the_object_changes(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str, s3_proxy: CountingProxy
) -> None:
    from lakehouse.progress import no_progress

    _put(s3_endpoint, s3_bucket, "drop/lots.csv", CSV)
    source = s3.S3Source(
        type="s3", url=f"s3://{s3_bucket}/drop/lots.csv", endpoint_url=s3_proxy.url
    )
    fetched = s3.fetch(source, tmp_path, no_progress)
    assert fetched.details == s3.probe(source).marker == {"etag": hashlib.md5(CSV).hexdigest()}
    _put(s3_endpoint, s3_bucket, "drop/lots.csv", CSV + b"3000030003,NEW\n")
    s3_proxy.clear()
    assert s3.probe(source).marker != fetched.details
    assert [s.method for s in s3_proxy.seen] == ["HEAD"]


def test_an_s3_probe_failure_is_one_sentence(
    s3_endpoint: str, s3_bucket: str, s3_proxy: CountingProxy
) -> None:
    missing = s3.S3Source(type="s3", url=f"s3://{s3_bucket}/nope.csv", endpoint_url=s3_endpoint)
    with pytest.raises(SourceError) as error:
        s3.probe(missing)
    assert "does not exist; check the bucket and key" in _one_sentence(error)
    _put(s3_endpoint, s3_bucket, "folder/inside.csv", CSV)
    folder = s3.S3Source(type="s3", url=f"s3://{s3_bucket}/folder", endpoint_url=s3_endpoint)
    with pytest.raises(SourceError) as error:
        s3.probe(folder)
    assert "is a folder, not an object" in _one_sentence(error)


# file -------------------------------------------------------------------------------------------


def test_the_file_probe_reports_size_and_modification_time(tmp_path: Path) -> None:
    path = tmp_path / "lots.csv"
    path.write_bytes(CSV)
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    upstream = file.probe(file.FileSource(type="file", path=str(path)))
    assert upstream.marker == {"size": len(CSV), "mtime_ns": 1_700_000_000_123_456_789}
    assert upstream.edited_at == datetime.fromtimestamp(1_700_000_000.123456789, tz=UTC)


def test_a_file_fetch_records_the_marker_the_probe_reports_until_the_file_changes(
    lake: Lakehouse, project_dir: Path
) -> None:
    (project_dir / "data").mkdir()
    path = project_dir / "data" / "lots.csv"
    path.write_bytes(CSV)
    write_template(
        project_dir,
        "lots",
        "name: lots\nsource: {type: file, path: data/lots.csv}\nformat: {type: csv}\n",
    )
    details = lake.ingest("lots").manifest.source.details
    source = file.FileSource(type="file", path="data/lots.csv").relative_to_project(project_dir)
    assert file.probe(source).marker == details
    stat = path.stat()
    path.write_bytes(CSV + b"3000030003,NEW\n")
    os.utime(path, ns=(stat.st_mtime_ns + 10**9, stat.st_mtime_ns + 10**9))
    assert file.probe(source).marker == {
        "size": len(CSV) + 15,
        "mtime_ns": stat.st_mtime_ns + 10**9,
    }


def test_a_file_probe_failure_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as error:
        file.probe(file.FileSource(type="file", path=str(tmp_path / "nope.csv")))
    assert "does not exist; check the path" in _one_sentence(error)
