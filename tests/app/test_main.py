"""The QA app through Streamlit's own testing API: each page shows the project's numbers, the
page's state goes into the URL and comes back from it, and bad input (an unknown version or
build in the URL, a store that cannot be read) shows a sentence, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lakehouse.app.main import CONFIG_VARIABLE, parse_args
from lakehouse.config import init_project
from tests.app.project import AppProject

SCRIPT = Path(__file__).resolve().parents[2] / "lakehouse" / "app" / "main.py"


def run_app(monkeypatch: pytest.MonkeyPatch, config: Path, **query: str) -> AppTest:
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))
    app = AppTest.from_file(str(SCRIPT), default_timeout=60)
    for name, value in query.items():
        app.query_params[name] = value
    app.run()
    assert [e.value for e in app.exception] == []
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def captions(app: AppTest) -> list[str]:
    return [c.value for c in app.caption if not c.value.startswith("Store:")]


def test_the_sources_page_shows_both_versions_their_drift_and_the_keys_added_and_removed(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(monkeypatch, app_project.config)
    assert [e.value for e in app.error] == []
    versions = app.dataframe[0].value
    assert list(versions["version"]) == ["26v1", "26v2"]
    assert list(versions["rows"]) == [120, 119]
    assert list(versions["raw_contract"]) == ["2/2 checks passed", "2/2 checks passed"]
    assert metrics(app) == {
        "Rows": "119", "Columns added": "0", "Columns removed": "0",
        "Keys kept": "117", "Keys added": "2", "Keys removed": "3",
    }  # fmt: skip
    added, removed, preview = captions(app)
    assert (added, removed) == ("rows 1-2 of 2 (page 1 of 1)", "rows 1-3 of 3 (page 1 of 1)")
    assert preview == "rows 1-50 of 119 (page 1 of 3)"  # a page, never the whole version
    assert dict(app.query_params) == {"page": "sources", "dataset": "lots", "versions": "26v1,26v2"}


def test_the_preview_filters_a_column_by_a_substring_and_pages(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(monkeypatch, app_project.config)
    app.selectbox(key="sources-filter-column").set_value("name")
    app.text_input(key="sources-filter-text").input("n12").run()
    assert captions(app)[-1] == "rows 1-4 of 4 (page 1 of 1)"
    assert list(app.dataframe[-1].value["id"]) == ["12", "120", "121", "122"]  # as archived
    app.selectbox(key="sources-filter-column").set_value("(no filter)")
    app.number_input(key="sources-preview-page").set_value(3).run()
    assert captions(app)[-1] == "rows 101-119 of 119 (page 3 of 3)"


def test_the_builds_page_opens_a_failed_rule_on_all_its_failing_rows(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = app_project.failed_build
    app = run_app(monkeypatch, app_project.config, page="builds", product="prod", builds=failed)
    listed = app.dataframe[0].value
    assert list(listed["status"]) == ["failed", "passed", "passed"]
    assert list(listed["published_as"]) == ["", "26v1", ""]
    assert list(app.dataframe[1].value["version"]) == ["26v1"]
    contract = app.dataframe[4].value
    assert contract.loc[0, ["rule", "passed", "failing_rows"]].tolist() == [
        "value: range",
        False,
        23,
    ]
    assert captions(app) == ["rows 1-23 of 23 (page 1 of 1)"]  # beyond the report's 5 samples
    assert list(app.dataframe[5].value["id"]) == list(range(100, 123))
    assert dict(app.query_params)["builds"] == failed


def test_the_diff_page_counts_rows_added_removed_and_changed_between_a_build_and_a_version(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = f"{app_project.first_build},26v1"
    app = run_app(monkeypatch, app_project.config, page="diff", product="prod", builds=pair)
    assert metrics(app) == {"Rows added": "2", "Rows removed": "3", "Rows changed": "12"}
    per_column = app.dataframe[1].value
    assert per_column.values.tolist() == [["value", 12], ["name", 0]]
    changed = app.dataframe[3].value
    assert list(changed["id"]) == list(range(10, 130, 10))
    side_by_side = app.dataframe[4].value
    assert side_by_side.values.tolist() == [
        ["id", "10", "10", False], ["name", "n10", "n10", False], ["value", "100", "101", True],
    ]  # fmt: skip
    app.selectbox(key="diff-column").set_value("value").run()
    assert app.dataframe[3].value.loc[0].tolist() == [10, 100, 101]
    assert dict(app.query_params)["builds"] == pair


def test_the_lineage_page_draws_the_dag_and_shows_the_column_lineage_and_dictionary(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(monkeypatch, app_project.config, page="lineage")
    (drawing,) = [m.value for m in app.markdown if "<svg" in m.value]  # st.html drops SVG
    assert 'data-name="lots"' in drawing
    lineage, dictionary = (frame.value for frame in app.dataframe)
    assert lineage.values.tolist() == [
        ["id", "lots.id", ""], ["name", "lots.name", ""], ["value", "lots.value", ""],
    ]  # fmt: skip
    assert dictionary["rules"].tolist() == ["", "", "between 0 and 1000"]
    assert dict(app.query_params) == {"page": "lineage", "product": "prod"}


def test_choosing_another_page_and_versions_goes_into_the_url(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(monkeypatch, app_project.config)
    app.selectbox(key="sources-old").set_value("26v2").run()
    assert dict(app.query_params)["versions"] == "26v2,26v2"
    app.radio(key="page").set_value("diff").run()
    assert dict(app.query_params) == {  # by default, what `lake diff prod` compares
        "page": "diff", "dataset": "lots", "versions": "26v2,26v2",
        "product": "prod", "builds": f"26v1,{app_project.failed_build}",
    }  # fmt: skip


def test_an_unknown_version_in_the_url_names_the_versions_there_are(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(monkeypatch, app_project.config, dataset="lots", versions="26v1,25v9")
    assert [e.value for e in app.error] == [
        "'lots' has no version '25v9'; its versions: 26v1, 26v2."
    ]
    assert metrics(app)["Keys added"] == "2"  # the latest two are shown instead


def test_an_unknown_build_in_the_url_names_the_builds_and_versions_there_are(
    app_project: AppProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(monkeypatch, app_project.config, page="diff", product="prod", builds="nope,26v1")
    known = ", ".join(
        [app_project.first_build, app_project.second_build, app_project.failed_build, "26v1"]
    )
    assert [e.value for e in app.error] == [
        f"'prod' has no build or published version 'nope'; its build or published versions: "
        f"{known}."
    ]


def test_a_store_that_cannot_be_reached_shows_the_sentence_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config, _ = init_project(tmp_path, "s3://nowhere/lake")
    endpoint = f"http://127.0.0.1:{port}"
    config.write_text(config.read_text() + f'\n[store.s3]\nendpoint_url = "{endpoint}"\n')
    app = run_app(monkeypatch, config)
    (error,) = [e.value for e in app.error]
    assert error.startswith(
        f"Cannot reach the S3 endpoint {endpoint} of the store s3://nowhere/lake"
    )
    assert not app.dataframe


def test_the_config_comes_from_the_arguments_after_the_double_dash_before_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CONFIG_VARIABLE, "from-env.toml")
    args = parse_args(["--config", "given.toml", "--env", "prod"])
    assert (args.config, args.env) == ("given.toml", "prod")
    assert parse_args(["-x", "tests/app"]).config == "from-env.toml"
