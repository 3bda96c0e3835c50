"""A whole fetch has a deadline and a minimum transfer rate, and Socrata paging a guard
(issue 13, S4): a server trickling a byte at a time, or serving the same page forever, cannot
keep an ingest alive. Real servers on 127.0.0.1, tiny deadlines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lakehouse.archive.template import load_template
from lakehouse.errors import ConfigError, SourceError
from lakehouse.project import Lakehouse
from tests import fakes
from tests.conftest import write_template
from tests.fakes.faults import drip, ignore_params, replace_body

CSV = b"bbl,owner\n" + b"".join(b"%d,OWNER %d\n" % (1000010000 + i, i) for i in range(200))
DATASET = "abcd-1234"
SERVICE = "Test_Service"


def _options(**extra: object) -> str:
    return ", ".join(f"{k}: {v}" for k, v in {"backoff_seconds": 0, **extra}.items())


def _http_template(project_dir: Path, url: str, **extra: object) -> None:
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}', {_options(**extra)}}}\n"
        "format: {type: csv}\n",
    )


def _socrata_template(project_dir: Path, portal: fakes.SocrataServer, **extra: object) -> None:
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, {_options(**extra)}}}\n",
    )


def _timed_failure(lake: Lakehouse, dataset: str, match: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(SourceError, match=match) as error:
        lake.ingest(dataset)
    elapsed = time.monotonic() - started
    assert lake.versions(dataset) == []
    assert not list(Path(lake.store.root).rglob("*.part"))
    return str(error.value), elapsed


def test_a_trickling_download_stops_at_the_deadline(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", drip(piece_bytes=1, interval=0.02))
    _http_template(
        project_dir, f"{files.base_url}/data/lots.csv?key=S3CRET", timeout_seconds=5,
        retries=3, deadline_seconds=0.6, min_bytes_per_second=0,
    )  # fmt: skip
    message, elapsed = _timed_failure(lake, "lots", "deadline")
    assert message.startswith(
        f"The fetch of {files.base_url}/data/lots.csv?key=REDACTED did not finish within its "
        "deadline of 0.6 s ("
    )
    assert message.endswith(
        "); raise source.deadline_seconds in the template if the source is really this slow, "
        "or try again later."
    )
    assert "S3CRET" not in message
    assert elapsed < 3
    assert len(files.requests_to("/data/lots.csv")) == 1  # a deadline is not retried


def test_a_trickle_below_the_minimum_rate_is_abandoned_and_retried(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", drip(piece_bytes=1, interval=0.01))
    _http_template(project_dir, url, timeout_seconds=0.4, retries=1, min_bytes_per_second=1000)
    message, elapsed = _timed_failure(lake, "lots", "slower than")
    assert "slower than the 1,000 bytes/s the template allows (min_bytes_per_second)" in message
    assert "(tried 2 times)" in message
    assert elapsed < 3
    files.set_fault("/data/lots.csv", drip(piece_bytes=4096, interval=0.01))
    assert lake.ingest("lots").manifest.row_count == 200  # a quick enough drip is fine


def test_retries_end_at_the_deadline(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", fakes.hang(seconds=10))
    _http_template(project_dir, url, timeout_seconds=0.25, retries=10, deadline_seconds=0.9)
    message, elapsed = _timed_failure(lake, "lots", "deadline of 0.9 s")
    assert "did not answer within" in message  # what the last attempt met
    assert elapsed < 2.5
    assert len(files.requests_to("/data/lots.csv")) < 6


def test_a_trickling_socrata_page_stops_at_the_deadline(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    # the count (request 0) and the first page are quick, the second trickles
    portal.set_fault(portal.resource_path(DATASET), drip(piece_bytes=10, interval=0.02, after=2))
    _socrata_template(project_dir, portal, mode="api", page_size=1000, deadline_seconds=1)
    message, elapsed = _timed_failure(lake, "licenses", "deadline of 1 s")
    assert message.startswith(f"The fetch of Socrata dataset {DATASET} from {portal.base_url} ")
    assert elapsed < 3.5


def test_a_trickling_socrata_export_stops_at_the_deadline(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.export_path(DATASET), drip(piece_bytes=10, interval=0.02))
    _socrata_template(project_dir, portal, mode="export", deadline_seconds=0.6)
    _, elapsed = _timed_failure(lake, "licenses", "deadline of 0.6 s")
    assert elapsed < 3


def test_a_trickling_arcgis_page_stops_at_the_deadline(lake: Lakehouse, project_dir: Path) -> None:
    with fakes.ArcGISServer() as arcgis:
        arcgis.add_layer(SERVICE, 0, fakes.sample_features(30, seed=2), max_record_count=10)
        arcgis.set_fault(
            arcgis.query_path(SERVICE, 0), drip(piece_bytes=10, interval=0.02, after=1)
        )
        url = arcgis.layer_url(SERVICE, 0)
        write_template(
            project_dir,
            "layer",
            f"name: layer\nsource: {{type: arcgis, url: '{url}', deadline_seconds: 0.8}}\n",
        )
        message, elapsed = _timed_failure(lake, "layer", "deadline of 0.8 s")
    assert message.startswith(f"The fetch of ArcGIS layer {url} did not finish")
    assert elapsed < 3


def test_a_socrata_server_that_ignores_offset_is_stopped_at_the_repeated_page(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.resource_path(DATASET), ignore_params("$offset"))
    _socrata_template(project_dir, portal, mode="api", page_size=1000)
    message, _ = _timed_failure(lake, "licenses", "same page")
    assert message == (
        f"The Socrata API for {DATASET} returned the same page of 1,000 rows at offsets 0 and "
        "1,000: the server ignores $offset, so the dataset cannot be paged; use mode: export."
    )
    pages = [r for r in portal.requests_to(portal.resource_path(DATASET)) if "$offset" in r.query]
    assert len(pages) == 2


def test_socrata_paging_stops_when_rows_pass_the_count_the_server_reported(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    count = json.dumps([{"count": "1000"}]).encode()
    portal.set_fault(portal.resource_path(DATASET), replace_body(count, times=1))
    _socrata_template(project_dir, portal, mode="api", page_size=1000)
    message, _ = _timed_failure(lake, "licenses", "more rows")
    assert message == (
        f"The Socrata API for {DATASET} returned 2,500 rows in 3 pages, more rows than the "
        "1,000 the dataset reports: the server does not page as asked; use mode: export."
    )


# the template fields ----------------------------------------------------------------------------


def _source_dump(project_dir: Path, fields: str) -> dict[str, object]:
    path = write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: 'https://example.org/a.csv'{fields}}}\n"
        "format: {type: csv}\n",
    )
    dumped: dict[str, object] = load_template(path).model_dump(mode="json")["source"]
    return dumped


def test_the_new_fields_at_their_defaults_leave_the_template_hash_alone(project_dir: Path) -> None:
    before = {
        "timeout_seconds": 60.0, "retries": 3, "backoff_seconds": 1.0,
        "type": "http", "url": "https://example.org/a.csv",
    }  # fmt: skip
    assert _source_dump(project_dir, "") == before
    defaults = ", deadline_seconds: 3600, min_bytes_per_second: 1024"
    assert _source_dump(project_dir, defaults) == before
    dumped = _source_dump(project_dir, ", deadline_seconds: 600, min_bytes_per_second: 0")
    assert list(dumped) == [
        *list(before)[:3],
        "deadline_seconds",
        "min_bytes_per_second",
        "type",
        "url",
    ]
    assert (dumped["deadline_seconds"], dumped["min_bytes_per_second"]) == (600.0, 0.0)


@pytest.mark.parametrize(
    "fields", [", deadline_seconds: 0", ", deadline_seconds: -1", ", min_bytes_per_second: -5"]
)
def test_a_bad_deadline_or_rate_names_the_field(project_dir: Path, fields: str) -> None:
    name = fields.split(":")[0].strip(", ")
    with pytest.raises(ConfigError, match=f"source.{name}"):
        _source_dump(project_dir, fields)
