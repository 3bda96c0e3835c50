"""`lake status` for sources: due, overdue, last fetched, and news from upstream asked without
downloading the data (fake servers on 127.0.0.1 count the requests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from lakehouse.archive.checks import read_check
from lakehouse.project import Lakehouse
from lakehouse.schedule.status import Status, project_status, source_status
from tests import fakes
from tests.conftest import write_template

DATASET = "abcd-1234"


def scheduled(project_dir: Path, csv_file: Path, extra: str) -> None:
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: '{csv_file}'}}\nformat: {{type: csv}}\n{extra}",
    )


def test_a_daily_source_whose_latest_version_is_two_days_old_is_overdue(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    scheduled(project_dir, csv_file, "cadence: daily\n")
    archived = lake.ingest("lots").manifest.archived_at
    status = source_status(lake.config, lake.archive, "lots", now=archived + timedelta(days=2),
                           ask_upstream=False)  # fmt: skip
    assert status.overdue and status.due
    assert status.state == "overdue"
    assert status.age == timedelta(days=2)
    assert status.max_age == timedelta(hours=36)


def test_due_after_a_time_of_the_cadence_and_overdue_after_max_age(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    # the source is expected every day at twelve hours from its first fetch
    scheduled(project_dir, csv_file, "")
    first = lake.ingest("lots").manifest.archived_at
    hour = (first.hour + 12) % 24
    scheduled(project_dir, csv_file, f"cadence: '{first.minute} {hour} * * *'\nmax_age: 3d\n")

    def at(later: timedelta) -> str:
        return source_status(lake.config, lake.archive, "lots", now=first + later,
                             ask_upstream=False).state  # fmt: skip

    assert at(timedelta(hours=1)) == "current"
    assert at(timedelta(hours=12, minutes=1)) == "due"
    assert at(timedelta(days=2)) == "due"  # past 36 hours, but max_age says 3 days
    assert at(timedelta(days=3, minutes=1)) == "overdue"


def test_a_fetch_that_finds_the_same_bytes_counts_as_fresh(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    scheduled(project_dir, csv_file, "cadence: daily\n")
    archived = lake.ingest("lots")
    again = lake.ingest("lots")
    assert again.status == "unchanged"
    check = read_check(lake.store, "lots")
    assert check is not None and check.outcome == "unchanged"
    assert check.version == archived.version and check.checked_at > archived.manifest.archived_at
    status = source_status(lake.config, lake.archive, "lots", ask_upstream=False)
    assert status.fetched_at == check.checked_at
    assert status.archived_at == archived.manifest.archived_at  # the age is still the version's
    # judged from the second fetch: 35 hours after it is not overdue even if the first was
    later = check.checked_at + timedelta(hours=35)
    assert not source_status(lake.config, lake.archive, "lots", now=later,
                             ask_upstream=False).overdue  # fmt: skip


def test_a_local_copy_is_not_a_fetch_of_the_source(
    lake: Lakehouse, project_dir: Path, csv_file: Path, tmp_path: Path
) -> None:
    scheduled(project_dir, csv_file, "cadence: daily\n")
    copy = tmp_path / "copy.csv"
    copy.write_text(csv_file.read_text() + "4000040004,NEW,10002\n")
    lake.ingest("lots", file=copy)
    assert read_check(lake.store, "lots") is None


def test_without_a_cadence_a_source_is_never_due(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    scheduled(project_dir, csv_file, "")
    before = source_status(lake.config, lake.archive, "lots", ask_upstream=False)
    assert before.state == "never fetched" and before.needs_fetch
    archived = lake.ingest("lots").manifest.archived_at
    later = archived + timedelta(days=400)
    status = source_status(lake.config, lake.archive, "lots", now=later, ask_upstream=False)
    assert status.state == "no cadence"
    assert not status.due and not status.overdue and not status.needs_fetch


def test_a_broken_template_is_a_status_not_a_crash(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    scheduled(project_dir, csv_file, "cadence: sometimes\n")
    status = source_status(lake.config, lake.archive, "lots")
    assert status.state == "error"
    assert status.error is not None and "cadence" in status.error and "lots.yml" in status.error
    assert not status.needs_fetch


def test_fail_on_overdue_names_the_source(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    scheduled(project_dir, csv_file, "cadence: daily\n")
    archived = lake.ingest("lots").manifest.archived_at
    status = project_status(lake.config, lake.store, lake.archive, products=[],
                            now=archived + timedelta(days=2), ask_upstream=False)  # fmt: skip
    assert status.failures(["overdue"]) == [
        "lots is overdue: last fetched 2d ago, more than its max_age of 1d 12h"
    ]
    assert status.failures(["behind"]) == []
    fresh = project_status(lake.config, lake.store, lake.archive, products=[],
                           now=archived + timedelta(minutes=1), ask_upstream=False)  # fmt: skip
    assert isinstance(fresh, Status) and fresh.failures(["overdue"]) == []


# -- news from upstream, asked without the data -----------------------------------------------


@pytest.fixture
def portal() -> Iterator[fakes.SocrataServer]:
    with fakes.SocrataServer() as server:
        server.add_sample_dataset(DATASET, n=300, seed=3)
        yield server


def test_socrata_says_it_has_newer_rows_without_sending_them(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, backoff_seconds: 0}}\n",
    )
    lake.ingest("licenses")
    portal.clear_requests()
    assert source_status(lake.config, lake.archive, "licenses").upstream.state == "same"
    rows = portal.dataset(DATASET).rows
    portal.set_rows(
        DATASET, rows[:-1], rows_updated_at=portal.dataset(DATASET).rows_updated_at + 86400
    )
    status = source_status(lake.config, lake.archive, "licenses")
    assert status.upstream.state == "newer" and status.state == "changed upstream"
    assert "rowsUpdatedAt" in status.upstream.detail
    assert status.needs_fetch
    asked = {request.path for request in portal.requests}
    assert asked == {portal.view_path(DATASET)}  # metadata only: no export, no rows, no count
    assert len(portal.requests) == 2  # once before the change, once after


def test_arcgis_says_its_layer_was_edited_without_sending_features(
    lake: Lakehouse, project_dir: Path
) -> None:
    with fakes.ArcGISServer() as server:
        server.add_layer("Lots", 0, fakes.sample_features(40, seed=2), max_record_count=100)
        url = server.layer_url("Lots", 0)
        write_template(
            project_dir,
            "layer",
            f"name: layer\nsource: {{type: arcgis, url: '{url}', backoff_seconds: 0}}\n",
        )
        lake.ingest("layer")
        server.clear_requests()
        assert source_status(lake.config, lake.archive, "layer").upstream.state == "same"
        edited = server.layer("Lots", 0).data_last_edit_date + 3_600_000
        server.set_features("Lots", 0, fakes.sample_features(41, seed=2),
                            data_last_edit_date=edited)  # fmt: skip
        status = source_status(lake.config, lake.archive, "layer")
        assert status.upstream.state == "newer"
        assert status.upstream.edited_at is not None
        assert int(status.upstream.edited_at.timestamp() * 1000) == edited
        assert {request.path for request in server.requests} == {server.layer_path("Lots", 0)}


def served_lots(server: fakes.FileServer, project_dir: Path, body: bytes, extra: str = "") -> None:
    """`lots`, a template of a CSV file the server serves over HTTP."""
    url = server.add("/lots.csv", body, "text/csv")
    options = ", ".join(option for option in ("backoff_seconds: 0", extra) if option)
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}', {options}}}\nformat: {{type: csv}}\n",
    )


def test_an_http_file_with_a_new_etag_is_newer_and_only_its_headers_were_asked(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    with fakes.FileServer() as server:
        served_lots(server, project_dir, csv_file.read_bytes())
        lake.ingest("lots")
        server.clear_requests()
        assert source_status(lake.config, lake.archive, "lots").upstream.state == "same"
        server.add("/lots.csv", csv_file.read_bytes() + b"4000040004,NEW,10002\n", "text/csv")
        status = source_status(lake.config, lake.archive, "lots")
        assert status.upstream.state == "newer" and "etag" in status.upstream.detail
        assert [request.method for request in server.requests] == ["HEAD", "HEAD"]


def test_a_source_that_cannot_be_reached_is_reported_not_raised(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    with fakes.FileServer() as server:
        served_lots(server, project_dir, csv_file.read_bytes(), "retries: 0")
        lake.ingest("lots")
    # the server is gone
    status = source_status(lake.config, lake.archive, "lots")
    assert status.upstream.state == "failed"
    assert status.upstream.detail.endswith(".")  # one sentence, from the source type
    assert status.state != "error"  # the archive side is still known


def test_the_python_api_is_what_the_cli_shows(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    from lakehouse.schedule import status

    scheduled(project_dir, csv_file, "cadence: daily\n")
    lake.ingest("lots")
    found = status(lake, ["lots", "nothing"], ask_upstream=False)
    assert [s.dataset for s in found.sources] == ["lots"] and found.products == []
    assert found.to_dict()["sources"][0]["state"] == "current"
