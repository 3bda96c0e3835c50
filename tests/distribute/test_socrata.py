"""The Socrata destination against a fake portal on 127.0.0.1 that takes writes the way the real
publishing API does (tests/fakes/socrata_publisher.py): a version replaces the live dataset
only through an applied revision, column metadata and dataset metadata come from the
dictionary and the recipe, and every fault (a 5xx mid-upload, a failed job, an expired
credential, a rate limit, a deadline) leaves the live dataset as it was, with one clear
sentence and no credential anywhere."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from lakehouse.distribute import DESTINATION_TYPES
from lakehouse.distribute.delivery import (
    DeliveredColumn,
    DeliveredTable,
    Delivery,
    ProductMetadata,
)
from lakehouse.distribute.socrata import DESTINATION, SocrataSpec, preview, send
from lakehouse.errors import DistributeError
from lakehouse.project import Lakehouse
from tests.fakes.faults import disconnect, http_error, status500
from tests.fakes.socrata_publisher import LiveColumn, SocrataPublisher
from tests.transform.test_plan import numbers_and_letters, write

DATASET = "abcd-1234"
USER, PASSWORD = "planted-user-4f1c", "planted-password-9b2e"
API = "/api/publishing/v1"
BOROUGHS = {
    "code": [1, 2, 3],
    "name": ["Manhattan", "Bronx", "Brooklyn"],
    "zonedist1": ["R6", "C4-2", "M1-1"],
}


def delivery(
    tmp_path: Path,
    *,
    rows: int | None = None,
    types: dict[str, str] | None = None,
    renames: dict[str, str] | None = None,
) -> Delivery:
    """A published version of a three-row table, made by hand: its Parquet file, the csv
    package's data file, and the dictionary's descriptions."""
    renames = {"zonedist1": "zoning_district_1"} if renames is None else renames
    types = {"code": "integer", "name": "text", "zonedist1": "text"} | (types or {})
    tmp_path.mkdir(parents=True, exist_ok=True)
    parquet = tmp_path / "boroughs.parquet"
    pq.write_table(pa.table(BOROUGHS), parquet)
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    data = package / "data" / "boroughs.csv"
    with open(data, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(BOROUGHS))
        writer.writerows(zip(*BOROUGHS.values(), strict=True))
    described = {
        "code": ("Borough code", "The borough's number, 1 to 5."),
        "name": ("Borough", "The borough's name."),
        "zonedist1": ("Zoning district 1", "The zoning district covering most of the lot."),
    }
    columns = [
        DeliveredColumn(renames.get(c, c), c, types[c], described[c][1], described[c][0])
        for c in BOROUGHS
    ]
    return Delivery(
        product="boroughs",
        version="26v1",
        build_id="b-1",
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
        package=package,
        files={"data/boroughs.csv": hashlib.sha256(data.read_bytes()).hexdigest()},
        tables={"boroughs": DeliveredTable("boroughs", rows or 3, parquet, columns)},
        metadata=ProductMetadata(
            title="NYC Boroughs",
            description="The five boroughs.",
            owner="Data Engineering",
            tags=["boroughs", "zoning"],
            cadence="Quarterly",
            attribution="Department of City Planning (DCP)",
        ),
    )


def live_dataset(portal: SocrataPublisher) -> None:
    portal.add_dataset(
        DATASET,
        columns=[
            LiveColumn("code", "Borough code", "The borough's number, 1 to 5.", "number"),
            LiveColumn("name", "Name", "The borough's name."),
            LiveColumn("zonedist1", "Zoning district 1", "Old words.", "text"),
            LiveColumn("old_flag", "Old flag", "", "checkbox"),
        ],
        rows=[
            {"code": "1", "name": "Manhattan", "zonedist1": "R5", "old_flag": "true"},
            {"code": "2", "name": "Bronx", "zonedist1": "C1", "old_flag": "false"},
        ],
        name="Boroughs",
        description="Old description.",
        attribution="Department of City Planning (DCP)",
        tags=["boroughs"],
        custom_fields={"Update": {"Update Frequency": "Annually"}},
    )


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[SocrataPublisher]:
    monkeypatch.setenv("SOCRATA_USERNAME", USER)
    monkeypatch.setenv("SOCRATA_PASSWORD", PASSWORD)
    with SocrataPublisher() as server:
        server.credentials = (USER, PASSWORD)
        live_dataset(server)
        yield server


def spec(portal: SocrataPublisher, **settings: Any) -> SocrataSpec:
    return SocrataSpec.model_validate(
        {
            "name": "open_data",
            "type": "socrata",
            "domain": portal.base_url,
            "dataset_id": DATASET,
            "renames": {"zonedist1": "zoning_district_1"},
            "cadence_field": "Update/Update Frequency",
            "poll_seconds": 0.01,
            "backoff_seconds": 0,
            "deadline_seconds": 30,
        }
        | settings
    )


def quiet(task: str, done: int, total: int | None = None) -> None:
    """A progress reporter that ignores what it is told."""


def calls(portal: SocrataPublisher) -> list[str]:
    return [f"{r.method} {r.path}" for r in portal.requests]


# a version sent -------------------------------------------------------------------------------


def test_a_version_replaces_the_live_dataset_through_an_applied_revision(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    receipt = send(spec(portal), delivery(tmp_path), quiet)

    live = portal.datasets[DATASET]
    assert live.rows == [
        {"code": "1", "name": "Manhattan", "zoning_district_1": "R6"},
        {"code": "2", "name": "Bronx", "zoning_district_1": "C4-2"},
        {"code": "3", "name": "Brooklyn", "zoning_district_1": "M1-1"},
    ]
    assert [(c.field_name, c.name, c.data_type) for c in live.columns] == [
        ("code", "Borough code", "number"),
        ("name", "Borough", "text"),
        ("zoning_district_1", "Zoning district 1", "text"),
    ]
    assert live.columns[2].description == "The zoning district covering most of the lot."
    assert (live.name, live.tags) == ("NYC Boroughs", ["boroughs", "zoning"])
    assert live.description == "The five boroughs.\n\nOwner: Data Engineering"
    assert live.custom_fields == {"Update": {"Update Frequency": "Quarterly"}}
    assert receipt.location == f"socrata {portal.base_url}/d/{DATASET}"
    assert receipt.remote_id == "revision 1, job 901"
    assert receipt.details["rows"] == 3 and receipt.details["job_status"] == "successful"
    assert receipt.details["columns"] == ["code", "name", "zoning_district_1"]
    sent = b"code,name,zonedist1\r\n1,Manhattan,R6\r\n2,Bronx,C4-2\r\n3,Brooklyn,M1-1\r\n"
    assert receipt.details["file_sha256"] == hashlib.sha256(sent).hexdigest()
    assert portal.open_revisions(DATASET) == []


def test_the_calls_are_the_publishing_api_s_in_its_order(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    send(spec(portal), delivery(tmp_path), quiet)

    revision, source, schema = f"{API}/revision/{DATASET}/1", f"{API}/source/501", "schema/601"
    assert calls(portal) == [
        f"POST {API}/revision/{DATASET}",
        f"POST {revision}/source",
        f"POST {source}",
        f"GET {source}",
        f"POST {source}/{schema}",
        f"GET {source}/{schema}/output/702",
        f"PATCH {revision}",
        f"PUT {revision}/apply",
        f"GET {revision}",
        f"GET {revision}",
        f"GET {revision}",
    ]
    opened, created, uploaded = portal.requests[:3]
    assert opened.body == b'{"action": {"type": "replace"}}'
    assert b'"filename": "boroughs.csv"' in created.body
    assert uploaded.headers["content-type"] == "text/csv"
    assert uploaded.body == (tmp_path / "package" / "data" / "boroughs.csv").read_bytes()


def test_column_names_labels_descriptions_and_types_come_from_the_dictionary(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    send(spec(portal), delivery(tmp_path), quiet)

    (transform,) = [r for r in portal.requests if r.path.endswith("/schema/601")]
    asked = json.loads(transform.body)["output_columns"]
    assert [
        (c["field_name"], c["display_name"], c["transform"]["transform_expr"], c["position"])
        for c in asked
    ] == [
        ("code", "Borough code", "to_number(`code`)", 1),
        ("name", "Borough", "`name`", 2),
        ("zoning_district_1", "Zoning district 1", "`zonedist1`", 3),
    ]
    assert asked[1]["description"] == "The borough's name."


def test_an_app_token_is_sent_beside_the_credentials(
    portal: SocrataPublisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCRATA_APP_TOKEN", "planted-token-77aa")
    portal.app_token = "planted-token-77aa"
    send(spec(portal, token_env="SOCRATA_APP_TOKEN"), delivery(tmp_path), quiet)
    assert {r.headers["x-app-token"] for r in portal.requests} == {"planted-token-77aa"}


# faults ---------------------------------------------------------------------------------------


def test_a_5xx_in_the_middle_of_the_upload_is_retried(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    portal.set_fault(portal.upload_path(), status500(times=1))
    send(spec(portal), delivery(tmp_path), quiet)
    assert [r.fault for r in portal.requests_to(portal.upload_path(), "POST")] == [
        "http_error",
        None,
    ]
    assert len(portal.datasets[DATASET].rows) == 3


def test_a_connection_dropped_during_the_upload_is_retried(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    portal.set_fault(portal.upload_path(), disconnect(times=1))
    send(spec(portal), delivery(tmp_path), quiet)
    assert len(portal.requests_to(portal.upload_path(), "POST")) == 2
    assert len(portal.datasets[DATASET].rows) == 3


def test_an_upload_that_keeps_failing_leaves_the_live_dataset_and_discards_the_revision(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    before = portal.datasets[DATASET].snapshot()
    portal.set_fault(portal.upload_path(), status500())
    with pytest.raises(DistributeError) as caught:
        send(spec(portal, retries=2), delivery(tmp_path), quiet)
    assert str(caught.value) == (
        f"Socrata at {portal.base_url} answered HTTP 500 to the upload of boroughs.csv (tried 3 "
        "times); try again later (the live dataset was not changed)."
    )
    assert portal.datasets[DATASET].snapshot() == before
    assert portal.revisions[(DATASET, 1)].discarded
    assert not any(r.path.endswith("/apply") for r in portal.requests)


def test_a_failed_job_is_reported_with_the_server_s_message(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    before = portal.datasets[DATASET].snapshot()
    portal.fail_next_job("Column zoning_district_1 is longer than the dataset allows")
    with pytest.raises(DistributeError) as caught:
        send(spec(portal), delivery(tmp_path), quiet)
    assert str(caught.value) == (
        f"Socrata's job 901 applying revision 1 to {DATASET} failed (Column zoning_district_1 is "
        "longer than the dataset allows); the live dataset was not changed, and the revision is "
        f"left open at {portal.base_url}/d/{DATASET}/revisions/1 to look at."
    )
    assert portal.datasets[DATASET].snapshot() == before
    assert portal.open_revisions(DATASET) == [1]


def test_an_expired_credential_names_the_variables_to_check_and_is_not_retried(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    before = portal.datasets[DATASET].snapshot()
    portal.expire_credentials()
    with pytest.raises(DistributeError) as caught:
        send(spec(portal), delivery(tmp_path), quiet)
    assert str(caught.value) == (
        f"Socrata at {portal.base_url} refused the credentials (HTTP 401) to open a revision on "
        f"{DATASET}; check or renew the values of SOCRATA_USERNAME and SOCRATA_PASSWORD (the live "
        "dataset was not changed)."
    )
    assert calls(portal) == [f"POST {API}/revision/{DATASET}"]
    assert portal.datasets[DATASET].snapshot() == before


def test_a_rate_limit_is_waited_out_as_its_retry_after_says(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    portal.set_fault(f"{API}/revision/{DATASET}", http_error(429, times=1, retry_after=1))
    send(spec(portal, backoff_seconds=0), delivery(tmp_path), quiet)
    limited, accepted = portal.requests_to(f"{API}/revision/{DATASET}", "POST")
    assert (limited.fault, accepted.fault) == ("http_error", None)
    assert accepted.received_at - limited.received_at >= 1.0  # waited as told, not backoff (0)
    assert len(portal.datasets[DATASET].rows) == 3


def test_a_job_that_outlasts_the_deadline_says_where_to_look(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    before = portal.datasets[DATASET].snapshot()
    portal.stall_jobs()
    with pytest.raises(DistributeError) as caught:
        send(spec(portal, deadline_seconds=0.5), delivery(tmp_path), quiet)
    message = str(caught.value)
    assert message.startswith(
        f"Sending to Socrata dataset {DATASET} did not finish within its deadline of 0.5 s "
        "(waiting for Socrata job 901); raise deadline_seconds"
    )
    assert message.endswith(
        f"(revision 1 may still apply: see {portal.base_url}/d/{DATASET}/revisions/1)."
    )
    assert portal.datasets[DATASET].snapshot() == before


def test_a_row_count_that_differs_from_the_version_s_is_refused_before_applying(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    before = portal.datasets[DATASET].snapshot()
    with pytest.raises(
        DistributeError, match=r"Socrata read 3 rows from boroughs\.csv and boroughs 26v1 has 4"
    ):
        send(spec(portal), delivery(tmp_path, rows=4), quiet)
    assert portal.datasets[DATASET].snapshot() == before
    assert portal.revisions[(DATASET, 1)].discarded


def test_values_socrata_cannot_convert_to_the_dictionary_s_type_are_refused(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    before = portal.datasets[DATASET].snapshot()
    with pytest.raises(DistributeError) as caught:
        send(spec(portal), delivery(tmp_path, types={"name": "integer"}), quiet)
    assert str(caught.value) == (
        "Socrata could not convert 3 values of boroughs to the dictionary's types (in name); the "
        "upload was discarded and the live dataset was not changed (check those columns' types "
        "in the dictionary)."
    )
    assert portal.datasets[DATASET].snapshot() == before
    assert portal.revisions[(DATASET, 1)].discarded


def test_a_file_socrata_cannot_parse_is_reported_with_its_message(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    portal.fail_parse("Unterminated quoted field on line 3")
    with pytest.raises(DistributeError) as caught:
        send(spec(portal), delivery(tmp_path), quiet)
    assert str(caught.value) == (
        "Socrata could not read boroughs.csv (Unterminated quoted field on line 3); the upload "
        "was discarded and the live dataset was not changed."
    )
    assert portal.revisions[(DATASET, 1)].discarded


def test_a_name_socrata_cannot_take_is_refused_before_anything_is_sent(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    with pytest.raises(DistributeError) as caught:
        send(spec(portal), delivery(tmp_path, renames={"zonedist1": "Zoning District"}), quiet)
    assert "boroughs has Zoning District; give them Socrata names" in str(caught.value)
    assert portal.requests == []


def test_geometry_not_in_longitude_and_latitude_is_refused_before_anything_is_sent(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    found = delivery(tmp_path)
    table = found.tables["boroughs"]
    found.tables["boroughs"] = replace(table, geometry="zonedist1", crs="EPSG:2263")
    with pytest.raises(DistributeError) as caught:
        send(spec(portal), found, quiet)
    assert str(caught.value) == (
        "Socrata keeps geometry as longitude and latitude (EPSG:4326) and boroughs's zonedist1 "
        "is in EPSG:2263; transform it to EPSG:4326 in the product, or send it to ArcGIS "
        "instead of 'open_data'."
    )
    assert portal.requests == []


# the dry run ----------------------------------------------------------------------------------


def test_the_dry_run_lists_row_column_and_metadata_changes_and_only_reads(
    portal: SocrataPublisher, tmp_path: Path
) -> None:
    lines = preview(spec(portal), delivery(tmp_path))

    assert lines == [
        f"socrata {portal.base_url}/d/{DATASET}: replace 2 rows with 3 (boroughs 26v1)",
        "column name label: 'Name' -> 'Borough'",
        "column renamed: zonedist1 -> zoning_district_1",
        "column zoning_district_1 description changes",
        "column removed: old_flag",
        "metadata name: 'Boroughs' -> 'NYC Boroughs'",
        "metadata description: 'Old description.' -> 'The five boroughs. Owner: Data Engineering'",
        "metadata tags: ['boroughs'] -> ['boroughs', 'zoning']",
        "metadata Update/Update Frequency: 'Annually' -> 'Quarterly'",
    ]
    assert {r.method for r in portal.requests} == {"GET"}
    assert portal.revisions == {}


def test_the_dry_run_reads_a_public_dataset_without_credentials(
    portal: SocrataPublisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal.credentials = None
    monkeypatch.delenv("SOCRATA_PASSWORD")
    lines = preview(spec(portal), delivery(tmp_path))
    assert (
        lines[-1] == "read without credentials: set SOCRATA_USERNAME and SOCRATA_PASSWORD to send"
    )
    assert "authorization" not in portal.requests[0].headers


def test_sending_without_credentials_names_the_variable_to_set(
    portal: SocrataPublisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCRATA_PASSWORD")
    with pytest.raises(
        DistributeError, match="in the environment variable SOCRATA_PASSWORD; set it"
    ):
        send(spec(portal), delivery(tmp_path), quiet)
    assert portal.requests == []


# secrets --------------------------------------------------------------------------------------


def test_credentials_appear_in_no_receipt_error_or_log_line(
    portal: SocrataPublisher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SOCRATA_APP_TOKEN", "planted-token-77aa")
    portal.app_token = "planted-token-77aa"
    destination = spec(portal, token_env="SOCRATA_APP_TOKEN")
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        receipt = send(destination, delivery(tmp_path / "ok"), quiet)
        texts += [receipt.location, str(receipt.remote_id), repr(receipt.details)]
        texts += preview(destination, delivery(tmp_path / "dry"))
        portal.fail_next_job(f"server echoed {USER}:{PASSWORD}")
        portal.set_fault(portal.upload_path(1), status500(times=1))
        for fault in ("job", "credential"):
            if fault == "credential":
                portal.expire_credentials()
            with pytest.raises(DistributeError) as caught:
                send(destination, delivery(tmp_path / fault), quiet)
            texts.append(str(caught.value))
    texts += [record.getMessage() for record in caplog.records]
    assert any("server echoed ***:***" in text for text in texts)
    for planted in (USER, PASSWORD, "planted-token-77aa"):
        assert not [text for text in texts if planted in text], planted
    assert portal.requests[0].headers["authorization"].startswith("Basic ")  # they were sent


# through `lake distribute` ------------------------------------------------------------------


def test_lake_distribute_sends_a_published_version_and_records_the_revision(
    portal: SocrataPublisher, lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    numbers_and_letters(lake, project_dir, tmp_path)
    dictionary = project_dir / "contracts" / "prod" / "dictionary.yml"
    dictionary.write_text(
        dictionary.read_text().replace(
            "with every letter\n", "with every letter\n    primary_key: [n, letter]\n"
        )
    )
    lake.build("prod")
    lake.diff_report("prod")
    version = lake.publish("prod").version
    portal.add_dataset("prod-0001", columns=[LiveColumn("n", "N", "a number plus one")], rows=[])
    write(
        project_dir,
        {
            "recipes/prod.destinations.yml": (
                "destinations:\n"
                "  - name: portal\n"
                "    type: socrata\n"
                f"    domain: {portal.base_url}\n"
                "    dataset_id: prod-0001\n"
                "    renames: {letter: the_letter}\n"
                "    poll_seconds: 0.01\n"
            )
        },
    )

    (dry,) = lake.distribute("prod", dry_run=True)
    assert dry.status == "dry run"
    assert dry.lines == [
        f"socrata {portal.base_url}/d/prod-0001: replace 0 rows with 4 (prod {version})",
        "column added: the_letter",
        "metadata name: 'Test Dataset' -> 'Prod'",
        "metadata description: '' -> 'Owner: me'",
    ]
    (outcome,) = lake.distribute("prod")

    assert outcome.status == "sent", outcome.message
    assert portal.datasets["prod-0001"].rows == [
        {"n": "2", "the_letter": "a"},
        {"n": "2", "the_letter": "b"},
        {"n": "3", "the_letter": "a"},
        {"n": "3", "the_letter": "b"},
    ]
    assert [(c.field_name, c.description) for c in portal.datasets["prod-0001"].columns] == [
        ("n", "a number plus one"),
        ("the_letter", "a letter"),
    ]
    (record,) = lake.distributions("prod")
    assert (record.destination, record.version, record.remote_id) == (
        "portal",
        version,
        "revision 1, job 901",
    )
    assert record.details["rows"] == 4 and record.details["file"] == "data/prod.csv"


# the spec -------------------------------------------------------------------------------------


def test_the_destination_is_registered_and_says_where_it_sends() -> None:
    assert DESTINATION_TYPES.get("socrata") is DESTINATION
    found = SocrataSpec.model_validate(
        {"name": "nyc", "type": "socrata", "domain": "https://data.cityofnewyork.us/",
         "dataset_id": "abcd-1234"}
    )  # fmt: skip
    assert found.where() == "socrata https://data.cityofnewyork.us/d/abcd-1234"
    assert (found.username_env, found.password_env, found.format) == (
        "SOCRATA_USERNAME", "SOCRATA_PASSWORD", "csv"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("dataset_id", "ABCD-12345", "four-by-four id, like abcd-1234"),
        ("domain", "http://data.cityofnewyork.us", "must start with https://"),
        ("domain", "https://me:pw@data.cityofnewyork.us", "no path, query or user:password"),
        ("domain", "https://data.cityofnewyork.us/resource", "no path, query or user:password"),
        ("format", "parquet", "Input should be 'csv', 'xlsx' or 'geojson'"),
        ("username_env", "my user", "the name of an environment variable"),
        ("cadence_field", "Frequency", "a custom metadata section and field"),
    ],
)
def test_a_wrong_setting_is_refused_with_what_is_allowed(field: str, value: str, says: str) -> None:
    settings = {"name": "nyc", "type": "socrata", "domain": "https://data.cityofnewyork.us",
                "dataset_id": "abcd-1234"} | {field: value}  # fmt: skip
    with pytest.raises(ValidationError, match=says):
        SocrataSpec.model_validate(settings)
