"""Socrata extraction against a SODA-shaped server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.errors import SourceError
from lakehouse.project import Lakehouse
from tests import fakes
from tests.conftest import write_template

DATASET = "abcd-1234"


@pytest.fixture
def portal() -> Iterator[fakes.SocrataServer]:
    with fakes.SocrataServer() as server:
        server.add_sample_dataset(DATASET, n=2500, seed=3)
        yield server


def _template(project_dir: Path, portal: fakes.SocrataServer, mode: str, **extra: object) -> None:
    options = ", ".join(f"{k}: {v}" for k, v in {"backoff_seconds": 0, **extra}.items())
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, mode: {mode}, {options}}}\nformat: {{type: csv}}\n",
    )


def test_api_mode_pages_with_limit_and_offset(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    _template(project_dir, portal, "api", page_size=1000)
    manifest = lake.ingest("licenses").manifest
    requests = portal.requests_to(portal.resource_path(DATASET))
    assert requests[0].query == {"$select": "count(*)"}  # what paging is checked against
    pages = requests[1:]
    assert [(r.query["$limit"], r.query["$offset"], r.query["$order"]) for r in pages] == [
        ("1000", "0", ":id"),
        ("1000", "1000", ":id"),
        ("1000", "2000", ":id"),
    ]
    assert manifest.row_count == 2500
    assert len(manifest.source_files) == 3
    assert manifest.version == "20240412"  # rowsUpdatedAt 1712954195
    assert manifest.version_origin == "source metadata"
    assert {c.type for c in manifest.columns} == {"VARCHAR"}
    expected = portal.dataset(DATASET).records()
    table = lake.read("licenses")
    first_field = portal.dataset(DATASET).field_names[0]
    assert table.column(first_field).to_pylist() == [r.get(first_field) for r in expected]


def test_an_exact_multiple_of_the_page_size_ends_on_an_empty_page(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    _template(project_dir, portal, "api", page_size=500)
    assert lake.ingest("licenses").manifest.row_count == 2500
    assert len(portal.requests_to(portal.resource_path(DATASET))) == 1 + 6  # the count, 6 pages


def test_export_mode_archives_the_bulk_csv(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    _template(project_dir, portal, "export")
    manifest = lake.ingest("licenses").manifest
    assert manifest.row_count == 2500
    assert manifest.source.format == "csv"
    request = portal.requests_to(portal.export_path(DATASET))[0]
    assert request.query == {"accessType": "DOWNLOAD"}


def test_same_data_again_is_unchanged_and_an_update_is_a_new_version(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    _template(project_dir, portal, "api")
    first = lake.ingest("licenses")
    assert lake.ingest("licenses").status == "unchanged"
    portal.set_rows(DATASET, fakes.sample_socrata_rows(10, seed=9), rows_updated_at=1735700000)
    second = lake.ingest("licenses").manifest
    assert (first.version, second.version) == ("20240412", "20250101")
    assert second.row_count == 10


def test_a_page_failing_then_recovering_is_retried(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.resource_path(DATASET), fakes.status500(times=1, after=2))
    _template(project_dir, portal, "api", page_size=1000)
    assert lake.ingest("licenses").manifest.row_count == 2500


def test_a_hanging_page_fails_the_whole_ingest(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.resource_path(DATASET), fakes.hang(seconds=10, after=2))
    _template(project_dir, portal, "api", page_size=1000, timeout_seconds=0.3, retries=0)
    with pytest.raises(SourceError, match="did not answer"):
        lake.ingest("licenses")
    assert lake.versions("licenses") == []


def test_an_html_page_instead_of_metadata_is_refused(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.view_path(DATASET), fakes.wrong_content_type())
    _template(project_dir, portal, "api")
    with pytest.raises(SourceError, match=r"sent a web page .*; content type text/html"):
        lake.ingest("licenses")


def test_a_truncated_export_is_refused(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.export_path(DATASET), fakes.truncate())
    _template(project_dir, portal, "export", retries=1)
    with pytest.raises(SourceError, match="cut off"):
        lake.ingest("licenses")
    assert lake.versions("licenses") == []


def test_an_unknown_dataset_is_a_clear_error(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    write_template(
        project_dir,
        "nope",
        f"name: nope\nsource: {{type: socrata, domain: '{portal.base_url}', "
        "dataset_id: zzzz-9999}\nformat: {type: csv}\n",
    )
    with pytest.raises(SourceError, match="HTTP 404"):
        lake.ingest("nope")


@pytest.mark.realdata
def test_the_real_dcwp_dataset(lake: Lakehouse, project_dir: Path) -> None:
    fakes.require_realdata(fakes.DCA_CSV, fakes.DCA_METADATA)
    with fakes.SocrataServer() as server:
        dataset = fakes.load_dca_dataset(server)
        assert dataset is not None
        write_template(
            project_dir,
            "dcwp",
            f"name: dcwp\nsource: {{type: socrata, domain: '{server.base_url}', "
            f"dataset_id: {dataset.dataset_id}, mode: export}}\nformat: {{type: csv}}\n",
        )
        manifest = lake.ingest("dcwp").manifest
    real = (fakes.REALDATA / fakes.DCA_CSV).read_bytes()
    assert (Path(lake.store.root) / manifest.source_files[0].path).read_bytes() == real
    assert manifest.row_count == real.count(b"\n") - 1
