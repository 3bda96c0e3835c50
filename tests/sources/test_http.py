"""HTTP downloads against a real server on 127.0.0.1: retries, timeouts, truncation, HTML pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.errors import (
    SourceError,
)
from lakehouse.project import Lakehouse
from lakehouse.sources.http import file_name_from_url, redact_url
from tests import fakes
from tests.conftest import write_template

CSV = b'bbl,owner\n1000010001,"SMITH, JOHN"\n2000020002,ACME\n'


@pytest.fixture
def files() -> Iterator[fakes.FileServer]:
    with fakes.FileServer() as server:
        yield server


def _template(project_dir: Path, url: str, **fetching: float) -> None:
    options = {"timeout_seconds": 5, "retries": 2, "backoff_seconds": 0, **fetching}
    extra = ", ".join(f"{k}: {v}" for k, v in options.items())
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}', {extra}}}\nformat: {{type: csv}}\n",
    )


def test_a_csv_download_is_archived_byte_for_byte(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    _template(project_dir, url)
    manifest = lake.ingest("lots").manifest
    assert manifest.source.location == url
    assert (Path(lake.store.root) / manifest.source_files[0].path).read_bytes() == CSV
    assert manifest.source_files[0].path.endswith("/source/lots.csv")
    assert lake.read("lots").column("owner").to_pylist() == ["SMITH, JOHN", "ACME"]


def test_server_errors_are_retried_until_the_body_arrives(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.status500(times=2))
    _template(project_dir, url)
    assert lake.ingest("lots").manifest.row_count == 2
    assert len(files.requests_to("/data/lots.csv", "GET")) == 3


def test_persistent_500_is_a_clear_error_and_archives_nothing(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.status500())
    _template(project_dir, url, retries=1)
    with pytest.raises(SourceError, match=r"answered HTTP 500 \(tried 2 times\)"):
        lake.ingest("lots")
    assert lake.versions("lots") == []


def test_a_hang_past_the_timeout_fails_after_retries(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.hang(seconds=10))
    _template(project_dir, url, timeout_seconds=0.3, retries=1)
    with pytest.raises(SourceError, match=r"did not answer within 0\.3 s"):
        lake.ingest("lots")
    assert lake.versions("lots") == []


def test_a_truncated_body_is_refused(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV * 200, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.truncate())
    _template(project_dir, url, retries=1)
    with pytest.raises(SourceError, match="cut off"):
        lake.ingest("lots")
    assert lake.versions("lots") == []
    assert not list(Path(lake.store.root).rglob("*.csv"))


def test_a_truncated_body_then_a_good_one_succeeds(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.truncate(times=1))
    _template(project_dir, url)
    manifest = lake.ingest("lots").manifest
    assert (Path(lake.store.root) / manifest.source_files[0].path).read_bytes() == CSV


def test_an_html_page_instead_of_data_is_refused(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.wrong_content_type())
    _template(project_dir, url)
    with pytest.raises(SourceError, match=r"sent a web page .*; content type text/html"):
        lake.ingest("lots")
    assert lake.versions("lots") == []


def test_404_is_not_retried(lake: Lakehouse, project_dir: Path, files: fakes.FileServer) -> None:
    _template(project_dir, f"{files.base_url}/missing.csv")
    with pytest.raises(SourceError, match="HTTP 404; check the URL"):
        lake.ingest("lots")
    assert len(files.requests_to("/missing.csv")) == 1


def test_an_unreachable_url_is_a_clear_error(lake: Lakehouse, project_dir: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _template(project_dir, f"http://127.0.0.1:{port}/lots.csv", retries=0)
    with pytest.raises(SourceError, match="cannot reach"):
        lake.ingest("lots")


def test_credentials_in_the_url_never_reach_the_manifest(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    files.add("/data/lots.csv", CSV, content_type="text/csv")
    url = f"http://user:s3cret@127.0.0.1:{files.port}/data/lots.csv"
    _template(project_dir, url)
    manifest = lake.ingest("lots").manifest
    assert "s3cret" not in manifest.to_json().decode()
    assert manifest.source.location == f"http://127.0.0.1:{files.port}/data/lots.csv"


def test_geojson_over_http(lake: Lakehouse, project_dir: Path, files: fakes.FileServer) -> None:

    collection = {"type": "FeatureCollection", "features": fakes.sample_features(5, seed=1)}
    url = files.add("/f.geojson", json.dumps(collection).encode(), "application/geo+json")
    write_template(
        project_dir,
        "f",
        f"name: f\nsource: {{type: http, url: '{url}'}}\nformat: {{type: geojson}}\n",
    )
    manifest = lake.ingest("f").manifest
    assert manifest.row_count == 5
    assert manifest.geometry_column == "geom"


def test_secrets_in_query_strings_are_masked() -> None:
    url = "http://u:pw@h:81/a.csv?$$app_token=SECRET&access_token=T&limit=5&X-Amz-Signature=abc"
    shown = redact_url(url)
    assert "SECRET" not in shown and "pw" not in shown and "abc" not in shown
    assert "limit=5" in shown and shown.startswith("http://h:81/a.csv?")


@pytest.mark.parametrize(
    "url", ["http://h/a/.", "http://h/a/..", "http://h/", "http://h/x%2F..%2Fy"]
)
def test_odd_url_paths_never_name_a_file_outside_the_landing_folder(url: str) -> None:
    assert file_name_from_url(url, "download") == "download"
