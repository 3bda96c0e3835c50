"""The pages' logic on the app's project (tests/app/project.py, whose docstring says what it
holds): the numbers each page shows, computed by hand from how the project was made."""

from __future__ import annotations

import pytest

from lakehouse.app import builds, diff, failing, lineage, sources
from lakehouse.app.rows import RowFilter
from lakehouse.errors import NotFoundError
from lakehouse.transform.records import BuildRecord
from tests.app.project import AppProject


def test_each_version_lists_its_rows_checksums_and_raw_contract(app_project: AppProject) -> None:
    frame = sources.versions_frame(app_project.lake, "lots")
    manifests = app_project.lake.versions("lots")
    assert frame[["version", "rows", "raw_contract", "qa_flags"]].values.tolist() == [
        ["26v1", 120, "2/2 checks passed", 0], ["26v2", 119, "2/2 checks passed", 2],
    ]  # fmt: skip
    assert list(frame["source_sha256"]) == [m.source_sha256 for m in manifests]


def test_the_drift_of_two_versions_and_the_rows_of_the_keys_added_and_removed(
    app_project: AppProject,
) -> None:
    lake = app_project.lake
    found = sources.drift(lake, "lots", "26v1", "26v2")
    assert found.keys is not None
    assert (found.keys.kept, found.keys.added, found.keys.removed) == (117, 2, 3)
    value = sources.drift_frame(found).set_index("column").loc["value"]
    assert (value["old_distinct"], value["new_distinct"]) == (120, 119)
    added = sources.key_changes(lake, "lots", "26v1", "26v2", "added")
    assert added.frame.values.tolist() == [["121", "n121", "1210"], ["122", "n122", "1220"]]
    removed = sources.key_changes(lake, "lots", "26v1", "26v2", "removed", number=1, size=2)
    assert (removed.total, list(removed.frame["id"])) == (3, ["3"])


def test_a_preview_filters_a_version_and_pages_it(app_project: AppProject) -> None:
    page = sources.preview(app_project.lake, "lots", "26v1", RowFilter("value", "00"), size=3)
    # values 100, 200, ..., 1200 (ids 10-120), ordered by the key as text
    assert (page.total, list(page.frame["id"])) == (12, ["10", "100", "110"])


def test_the_builds_newest_first_with_their_status_and_what_they_were_published_as(
    app_project: AppProject,
) -> None:
    frame = builds.builds_frame(app_project.lake, "prod")
    assert frame[["build", "status", "published_as"]].values.tolist() == [
        [app_project.failed_build, "failed", ""],
        [app_project.second_build, "passed", "26v1"],
        [app_project.first_build, "passed", ""],
    ]
    published = builds.published_frame(app_project.lake, "prod")
    assert published[["version", "build"]].values.tolist() == [["26v1", app_project.second_build]]


def test_a_builds_inputs_models_and_contract_results(app_project: AppProject) -> None:
    lake = app_project.lake
    failed = builds.find_entry(lake, "prod", app_project.failed_build)
    assert builds.inputs_frame(failed.lock)[["input", "reads", "version"]].values.tolist() == [
        ["lots", "lots", "26v2"]
    ]
    assert isinstance(failed, BuildRecord)
    models = builds.models_frame(failed)
    assert models[["model", "layer", "rows"]].values.tolist() == [["prod", "product", 119]]
    contracts = builds.contracts_frame(lake, "prod", app_project.failed_build)
    assert contracts.loc[0, ["rule", "passed", "failing_rows"]].tolist() == [
        "value: range",
        False,
        23,
    ]
    assert builds.failed_rules(lake, "prod", app_project.failed_build) == [("prod", "value: range")]
    published = builds.find_entry(lake, "prod", "26v1")
    assert published.build_id == app_project.second_build


def test_an_unknown_build_is_refused_naming_the_builds_and_versions(
    app_project: AppProject,
) -> None:
    with pytest.raises(NotFoundError, match=r"no build or published version 'nope'.*, 26v1\.$"):
        builds.find_entry(app_project.lake, "prod", "nope")


def test_every_failing_row_of_a_rule_is_listed_page_by_page(app_project: AppProject) -> None:
    lake, build = app_project.lake, app_project.failed_build
    first = failing.failing_rows(lake, "prod", build, "prod", "value: range", size=10)
    assert (first.total, first.pages, list(first.frame["id"])) == (23, 3, list(range(100, 110)))
    last = failing.failing_rows(lake, "prod", build, "prod", "value: range", number=2, size=10)
    assert last.frame.values.tolist() == [[120, "n120", 1201], [121, "n121", 1210],
                                          [122, "n122", 1220]]  # fmt: skip
    filtered = failing.failing_rows(
        lake, "prod", build, "prod", "value: range", RowFilter("name", "n11")
    )
    assert list(filtered.frame["id"]) == [110, 111, 112, 113, 114, 115, 116, 117, 118, 119]


def test_a_rule_the_contracts_do_not_have_is_refused_naming_theirs(
    app_project: AppProject,
) -> None:
    with pytest.raises(NotFoundError, match=r"no row rule 'id: regex' now; its rules: id: not"):
        failing.failing_rows(
            app_project.lake, "prod", app_project.failed_build, "prod", "id: regex"
        )


def test_the_diff_of_two_builds_counts_and_lists_the_rows(app_project: AppProject) -> None:
    lake, first, second = app_project.lake, app_project.first_build, app_project.second_build
    found = diff.compare(lake, "prod", first, second)
    assert diff.tables_frame(found).values.tolist() == [["prod", 120, 119, 2, 3, 12, False]]
    table = diff.table_diff(found, "prod")
    assert diff.columns_frame(table).values.tolist() == [["value", 12], ["name", 0]]
    numeric = diff.numeric_frame(table).iloc[0]
    assert (numeric["old_mean"], numeric["old_max"], numeric["new_max"]) == (605.0, 1200, 1220)
    changed = diff.changed_rows(lake, "prod", first, second, "prod", "value", number=1, size=5)
    assert changed.frame.values.tolist() == [
        [60, 600, 601],
        [70, 700, 701],
        [80, 800, 801],
        [90, 900, 901],
        [100, 1000, 1001],
    ]
    removed = diff.side_rows(lake, "prod", first, "26v1", "prod", "removed")
    assert list(removed.frame["id"]) == [1, 2, 3]
    row = diff.side_by_side(lake, "prod", first, second, "prod", {"id": 120})
    assert row[row["changed"]].values.tolist() == [["value", "1200", "1201", True]]


def test_the_default_pair_is_what_lake_diff_compares(app_project: AppProject) -> None:
    assert diff.default_pair(app_project.lake, "prod") == ("26v1", app_project.failed_build)


def test_the_lineage_and_the_dictionary_of_a_product(app_project: AppProject) -> None:
    found = lineage.lineage(app_project.lake, "prod")
    svg = lineage.dag(found)
    assert 'data-name="lots"' in svg and 'data-name="prod"' in svg
    assert lineage.outputs(found) == ["prod"]
    assert lineage.columns_frame(found, "prod")["computed_from"].tolist() == [
        "lots.id", "lots.name", "lots.value"
    ]  # fmt: skip
    dictionary = lineage.dictionary(app_project.lake, "prod")
    assert dictionary is not None
    frame = lineage.dictionary_frame(dictionary, "prod")
    assert frame[["column", "primary_key", "nullable"]].values.tolist() == [
        ["id", True, False], ["name", False, True], ["value", False, True]
    ]  # fmt: skip


def test_a_diff_qa_stored_for_the_pair_is_read_back_not_computed(app_project: AppProject) -> None:
    lake = app_project.lake
    first, second = app_project.first_build, app_project.second_build
    stored = diff.stored_diff(lake, "prod", first, second)  # `lake qa report diff` wrote it
    assert stored is not None
    assert stored.to_dict() == lake.diff("prod", first, second).to_dict()
    assert diff.compare(lake, "prod", first, second).to_dict() == stored.to_dict()
    # no report for the failed build against the first: computed
    assert diff.stored_diff(lake, "prod", first, app_project.failed_build) is None


def test_a_diff_without_detail_has_the_same_counts_and_nothing_else(
    app_project: AppProject,
) -> None:
    lake = app_project.lake
    first, failed = app_project.first_build, app_project.failed_build
    (full,) = lake.diff("prod", first, failed).tables
    (quick,) = lake.diff("prod", first, failed, detail=False).tables
    counts = ("old_rows", "new_rows", "added", "removed", "changed", "columns")
    assert [getattr(quick, c) for c in counts] == [getattr(full, c) for c in counts]
    assert full.changed and full.changed_sample and full.numeric
    assert (quick.changed_sample, quick.added_sample, quick.numeric) == ([], [], [])
