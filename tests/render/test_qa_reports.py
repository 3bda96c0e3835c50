"""The QA reports (source drift, build diff) opened in headless Chromium: nothing fetched, the
charts drawn, the key figures on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from lakehouse.render.charts import CHANGED_COLOUR, NEW_COLOUR, OLD_COLOUR, REMOVED_COLOUR
from tests.browser import pixels_of, render
from tests.projects import EXTERNAL, change_dof_pts, change_lots, make_project
from tests.qa.test_drift import lake as drift_lake  # noqa: F401 - a fixture


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def bars(dom: str, css: str) -> int:
    return len(re.findall(rf'<rect class="bar {css}"', dom))


def test_the_source_report_stored_at_ingest_renders_its_charts_and_figures(
    drift_lake: Lakehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    lake = drift_lake
    change_dof_pts(Path(lake.config.project_dir) / "data" / "dof_pts.csv")
    manifest = lake.ingest("dof_pts").manifest
    assert manifest.qa is not None
    assert manifest.qa.html is not None
    report = Path(lake.store.root) / manifest.qa.html
    assert not EXTERNAL.search(report.read_text())
    page = render(report, tmp_path / "chromium", height=3000)
    assert page.page_requests == []
    dom = page.dom
    for figure in ("<b>2,002</b>rows before", "<b>1,981</b>rows after",
                   "<b>1</b>columns removed", "<b>21</b>keys removed"):  # fmt: skip
        assert figure in dom
    assert "column removed: exempt_total" in dom and "assessed_land: mean" in dom
    assert dom.count('class="chart"') >= 4  # waterfall, null rates, distinct counts, histograms
    assert bars(dom, "removed") == 1 and bars(dom, "added") == 1
    assert bars(dom, "old") >= 2 * 18 and bars(dom, "new") >= 2 * 18  # two bars per column
    # flagged first (bbl and zipcode are codes: no histogram)
    assert dom.index('aria-label="assessed_land"') < dom.index('aria-label="land_area"')
    assert pixels_of(page.screenshot, rgb(REMOVED_COLOUR)) > 150  # the waterfall's removed bar
    assert pixels_of(page.screenshot, rgb(NEW_COLOUR)) > 1000
    assert pixels_of(page.screenshot, rgb(OLD_COLOUR)) > 1000


def test_lake_qa_report_source_writes_into_the_workspace(
    drift_lake: Lakehouse,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake = drift_lake
    change_dof_pts(Path(lake.config.project_dir) / "data" / "dof_pts.csv")
    lake.ingest("dof_pts")
    monkeypatch.chdir(Path(lake.config.project_dir))
    result = CliRunner().invoke(app, ["qa", "report", "source", "dof_pts"])
    assert result.exit_code == 0, result.output
    first, second = (m.version for m in lake.versions("dof_pts"))
    path = Path(lake.config.workspace_dir) / "qa" / "dof_pts" / f"{second}-against-{first}.html"
    assert f"wrote {path}" in result.output
    assert "<b>21</b>keys removed" in path.read_text()


def test_the_diff_report_is_written_into_the_build_and_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = make_project(tmp_path / "p", lots=600)
    lake.build("pluto_lite")
    removed, doubled = change_lots(tmp_path / "p" / "data" / "pluto_lite" / "dof_pts.csv")
    lake.ingest("dof_pts")
    second = lake.build("pluto_lite", latest=True)
    monkeypatch.chdir(tmp_path / "p")
    result = CliRunner().invoke(app, ["qa", "report", "diff", "pluto_lite"])
    assert result.exit_code == 0, result.output
    first = lake.builds("pluto_lite")[0].build_id
    report = Path(lake.store.root) / second.folder / "qa" / f"diff-{first}.html"
    assert f"wrote {report}" in result.output
    assert (report.parent / f"diff-{first}.json").is_file()
    page = render(report, tmp_path / "chromium", height=3000)
    assert page.page_requests == []
    dom = page.dom
    assert f"<b>{len(removed)}</b>removed" in dom and f"<b>{len(doubled)}</b>changed" in dom
    assert "<b>0</b>added" in dom
    assert bars(dom, "changed") == 1 and bars(dom, "removed") == 1
    assert "assessland" in dom and "Changed rows (sample)" in dom
    assert pixels_of(page.screenshot, rgb(CHANGED_COLOUR)) > 100
    assert pixels_of(page.screenshot, rgb(NEW_COLOUR)) > 100
