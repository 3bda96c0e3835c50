"""Run events of real ingests, builds and publishes: START then COMPLETE or FAIL, with the
datasets each read and wrote, every event valid for the OpenLineage client's models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakehouse.errors import LakehouseError
from lakehouse.openlineage.datasets import store_namespace
from lakehouse.project import Lakehouse
from lakehouse.transform.lineage import ROWS, UNTRACED
from tests.openlineage.conftest import TO_FILE, kinds, read_events, with_lineage
from tests.projects import DATASETS, pluto_lite_project
from tests.transform.test_plan import write

Event = dict[str, Any]


@pytest.fixture(scope="module")
def pluto(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lakehouse, list[Event]]:
    """PLUTO-lite with lineage on: its sources ingested, built, and published as 25v1."""
    folder = tmp_path_factory.mktemp("lineage") / "p"
    pluto_lite_project(folder, lots=100, seed=7)
    lake = with_lineage(folder, TO_FILE)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    return lake, read_events(folder)


def one(events: list[Event], event_type: str, job: str) -> Event:
    (found,) = [e for e in events if (e["eventType"], e["job"]["name"]) == (event_type, job)]
    return found


def facets(dataset: Event) -> dict[str, Any]:
    return dataset["facets"]


def test_each_run_sends_start_then_complete_under_one_run_id(
    pluto: tuple[Lakehouse, list[Event]],
) -> None:
    _, events = pluto
    jobs = [*(f"ingest.{d}" for d in DATASETS), "build.pluto_lite", "publish.pluto_lite"]
    assert kinds(events) == [(kind, job) for job in jobs for kind in ("START", "COMPLETE")]
    run_ids = [event["run"]["runId"] for event in events]
    assert run_ids[0::2] == run_ids[1::2]  # START and COMPLETE of a run share its id
    assert len(set(run_ids)) == len(jobs)
    assert {event["job"]["namespace"] for event in events} == {"lakehouse"}
    build = one(events, "COMPLETE", "build.pluto_lite")
    assert build["job"]["facets"]["jobType"]["jobType"] == "BUILD"


def test_an_ingest_reads_its_source_and_writes_the_archived_version(
    pluto: tuple[Lakehouse, list[Event]],
) -> None:
    lake, events = pluto
    manifest = lake.manifest("dof_pts")
    complete = one(events, "COMPLETE", "ingest.dof_pts")
    (source,) = complete["inputs"]
    assert (source["namespace"], source["name"]) == ("file", manifest.source.location)
    (output,) = complete["outputs"]
    assert output["namespace"] == Path(lake.store.root).as_uri()
    assert output["name"] == "archive/dof_pts"
    assert facets(output)["version"]["datasetVersion"] == manifest.version
    assert facets(output)["schema"]["fields"] == [
        {"name": column.name, "type": column.type} for column in manifest.columns
    ]
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == manifest.row_count
    assert one(events, "START", "ingest.dof_pts")["outputs"] == []


def test_a_build_reads_its_locked_versions_and_writes_its_outputs(
    pluto: tuple[Lakehouse, list[Event]],
) -> None:
    lake, events = pluto
    (record,) = lake.builds("pluto_lite")
    complete = one(events, "COMPLETE", "build.pluto_lite")
    expected = {(f"archive/{p.dataset}", p.version) for p in record.lock.inputs.values()}
    found = {(d["name"], facets(d)["version"]["datasetVersion"]) for d in complete["inputs"]}
    assert found == expected
    assert one(events, "START", "build.pluto_lite")["inputs"] == complete["inputs"]
    (output,) = complete["outputs"]
    assert output["name"] == "builds/pluto_lite/pluto_lite"
    assert facets(output)["version"]["datasetVersion"] == record.build_id
    columns, _ = lake.sql("pluto_lite", "SELECT * FROM pluto_lite LIMIT 0")
    assert [field["name"] for field in facets(output)["schema"]["fields"]] == columns
    written = record.outputs["outputs/pluto_lite"]
    statistics = output["outputFacets"]["outputStatistics"]
    assert (statistics["rowCount"], statistics["size"]) == (written.rows, written.bytes)


def test_the_column_lineage_is_what_lake_lineage_says(
    pluto: tuple[Lakehouse, list[Event]],
) -> None:
    lake, events = pluto
    (output,) = one(events, "COMPLETE", "build.pluto_lite")["outputs"]
    traced = facets(output)["columnLineage"]["fields"]
    lineage = lake.lineage("pluto_lite")
    datasets = {alias: p.dataset for alias, p in lake.builds("pluto_lite")[0].lock.inputs.items()}
    namespace = store_namespace(lake.store)
    checked = 0
    for column, sources in lineage.columns["pluto_lite"].items():
        columns = [s.partition(".") for s in sources if not s.endswith(ROWS) and s != UNTRACED]
        expected = {(namespace, f"archive/{datasets[alias]}", field) for alias, _, field in columns}
        direct = {
            (f["namespace"], f["name"], f["field"])
            for f in traced.get(column, {}).get("inputFields", [])
            if {"type": "DIRECT"} in f["transformations"]
        }
        assert direct == expected, column
        checked += bool(expected)
    assert checked > 10
    assert ("archive/dof_pts", "bbl") in {
        (f["name"], f["field"]) for f in traced["bbl"]["inputFields"]
    }


def test_the_rows_every_column_shares_are_the_datasets_indirect_lineage(
    pluto: tuple[Lakehouse, list[Event]],
) -> None:
    lake, events = pluto
    (output,) = one(events, "COMPLETE", "build.pluto_lite")["outputs"]
    shared = facets(output)["columnLineage"]["dataset"]
    lineage = lake.lineage("pluto_lite")
    datasets = {alias: p.dataset for alias, p in lake.builds("pluto_lite")[0].lock.inputs.items()}
    expected = set()
    for condition in lineage.shared_rows("pluto_lite"):
        alias, _, field = condition.source.partition(".")
        if not condition.source.endswith(ROWS):
            expected.add((f"archive/{datasets[alias]}", field, condition.how))
    found = {
        (f["name"], f["field"], t["description"])
        for f in shared
        for t in f["transformations"]
        if t["type"] == "INDIRECT"
    }
    assert found == expected and expected


def test_a_publish_reads_the_build_and_writes_the_published_version(
    pluto: tuple[Lakehouse, list[Event]],
) -> None:
    lake, events = pluto
    (record,) = lake.builds("pluto_lite")
    start = one(events, "START", "publish.pluto_lite")
    complete = one(events, "COMPLETE", "publish.pluto_lite")
    (read,) = complete["inputs"]
    assert start["inputs"] == complete["inputs"]
    assert read["name"] == "builds/pluto_lite/pluto_lite"
    assert facets(read)["version"]["datasetVersion"] == record.build_id
    (output,) = complete["outputs"]
    assert output["name"] == "published/pluto_lite/pluto_lite"
    assert facets(output)["version"]["datasetVersion"] == "25v1"
    columns = [field["name"] for field in facets(output)["schema"]["fields"]]
    assert columns == lake.sql("pluto_lite", "SELECT * FROM pluto_lite LIMIT 0")[0]
    lineage = facets(output)["columnLineage"]["fields"]
    assert list(lineage) == columns
    assert lineage["bbl"]["inputFields"] == [
        {
            "namespace": read["namespace"],
            "name": read["name"],
            "field": "bbl",
            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
        }
    ]


def test_an_unchanged_ingest_completes_with_the_version_it_had(prod: Lakehouse) -> None:
    project_dir = prod.config.project_dir
    before = len(read_events(project_dir))
    source = Path(prod.manifest("numbers").source.location)
    result = prod.ingest("numbers", file=source)
    assert result.status == "unchanged"
    start, complete = read_events(project_dir)[before:]
    assert kinds([start, complete]) == [("START", "ingest.numbers"), ("COMPLETE", "ingest.numbers")]
    (output,) = complete["outputs"]
    assert facets(output)["version"]["datasetVersion"] == result.manifest.version
    assert "outputFacets" not in output  # nothing was written


def test_a_dry_run_and_a_selection_send_nothing(prod: Lakehouse, tmp_path: Path) -> None:
    project_dir = prod.config.project_dir
    before = read_events(project_dir)
    changed = tmp_path / "more.csv"
    changed.write_text("n\n1\n2\n3\n")
    assert prod.ingest("numbers", file=changed, dry_run=True).dry_run
    assert prod.build("prod", select=["bumped"]).selected == ["bumped"]
    assert read_events(project_dir) == before


def test_a_failing_build_sends_fail_with_the_error(prod: Lakehouse) -> None:
    project_dir = prod.config.project_dir
    models = project_dir / "transforms" / "prod" / "models.py"
    models.write_text(
        models.read_text().replace(
            "    return letters.select",
            '    raise KeyError("no letters today")\n    return letters',
        )
    )
    with pytest.raises(LakehouseError) as raised:
        prod.build("prod")
    start, fail = read_events(project_dir)[-2:]
    assert kinds([start, fail]) == [("START", "build.prod"), ("FAIL", "build.prod")]
    assert start["run"]["runId"] == fail["run"]["runId"]
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"] == str(raised.value)
    assert "no letters today" in error["message"]
    assert error["programmingLanguage"] == "python"
    assert "KeyError" in error["stackTrace"]
    assert fail["outputs"] == []
    assert {d["name"] for d in fail["inputs"]} == {"archive/numbers", "archive/letters"}


BROKEN = {
    "transforms/broken/__init__.py": (
        "from lakehouse.transform import model\n\n\n"
        '@model(layer="product")\ndef broken(numbers):\n    raise ValueError("broken on purpose")\n'
    ),
    "recipes/broken.yml": "name: broken\nowner: me\ninputs: {numbers: latest}\noutputs: [broken]\n",
    "transforms/reader/__init__.py": (
        "from lakehouse.transform import model\n\n\n"
        '@model(layer="product")\ndef reader(made):\n    return made\n'
    ),
    "recipes/reader.yml": (
        "name: reader\nowner: me\ninputs: {made: {product: broken, output: broken}}\n"
        "outputs: [reader]\n"
    ),
}


def test_build_all_sends_a_products_start_as_its_build_begins(prod: Lakehouse) -> None:
    """A lineage server sees the build running: its START is written before the build's
    first step, its COMPLETE after."""
    project_dir = prod.config.project_dir
    before = len(read_events(project_dir))
    sent_when_it_began: list[list[tuple[str, str]]] = []

    def progress(task: str, done: int, total: int | None = None) -> None:
        if not sent_when_it_began:
            sent_when_it_began.append(kinds(read_events(project_dir)[before:]))

    outcomes = list(prod.build_all(progress=progress))
    assert [outcome.product for outcome in outcomes if outcome.result] == ["prod"]
    assert sent_when_it_began == [[("START", "build.prod")]]
    assert kinds(read_events(project_dir)[before:]) == [
        ("START", "build.prod"),
        ("COMPLETE", "build.prod"),
    ]


def test_build_all_sends_each_built_products_run_and_none_for_a_skipped_one(
    prod: Lakehouse,
) -> None:
    project_dir = prod.config.project_dir
    write(project_dir, BROKEN)
    before = len(read_events(project_dir))
    outcomes = {outcome.product: outcome for outcome in prod.build_all()}
    assert outcomes["reader"].skipped_for == "broken"
    events = read_events(project_dir)[before:]
    assert sorted(kinds(events)) == sorted(
        [
            ("START", "build.prod"),
            ("COMPLETE", "build.prod"),
            ("START", "build.broken"),
            ("FAIL", "build.broken"),
        ]
    )
    by_run: dict[str, list[Event]] = {}
    for event in events:
        by_run.setdefault(event["run"]["runId"], []).append(event)
    for start, end in by_run.values():
        assert start["eventType"] == "START" and start["eventTime"] <= end["eventTime"]
    (fail,) = [e for e in events if e["eventType"] == "FAIL"]
    assert fail["run"]["facets"]["errorMessage"]["message"] == str(outcomes["broken"].error)
    (complete,) = [e for e in events if e["eventType"] == "COMPLETE"]
    built = outcomes["prod"].result
    assert built is not None
    assert facets(complete["outputs"][0])["version"]["datasetVersion"] == built.build_id
