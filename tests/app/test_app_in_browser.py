"""The QA app in a real browser: `lake app` started as a user starts it, on a free loopback
port, over a small PLUTO-lite project (two source versions, two builds, the first published);
each page opened in headless Chromium shows the numbers the library computes once the app has
drawn it, its screenshot is not blank, and Chromium's net log shows no request left
127.0.0.1. A build or version the URL names wrongly shows a message naming those that exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from lakehouse.contracts.dictionary import load_dictionary
from lakehouse.project import Lakehouse
from tests.browser import chromium
from tests.cdp import lake_app, metric_shown, open_browser
from tests.projects import change_lots, make_project

PRODUCT = "pluto_lite"
DATASET = "dof_pts"
SHOWN_WITHIN = 90.0  # seconds; the first page also waits for the app's first imports
MOSTLY_WHITE = 250  # a screenshot pixel lighter than this (in grey) counts as background


@dataclass(frozen=True)
class Project:
    lake: Lakehouse
    config: Path
    old_version: str  # dof_pts as generated
    new_version: str  # with every 50th lot removed and some assessed values doubled
    first_build: str  # published
    second_build: str
    published: str


@dataclass(frozen=True)
class Shown:
    text: str  # the page's text, then its data grids' cells (tests/cdp.py `inner_text`)
    drawings: list[str]  # the text of each inline SVG drawing in the page's main area
    exceptions: list[str]  # the text of each exception (a traceback) Streamlit shows
    non_white_share: float  # of the screenshot's pixels
    requests: list[str]  # every URL the page asked for


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("app-in-browser") / "project"
    lake = make_project(folder, lots=200)
    lake.lock(PRODUCT)
    first = lake.build(PRODUCT).build_id
    lake.diff_report(PRODUCT)
    published = lake.publish(PRODUCT).version
    change_lots(folder / "data" / "pluto_lite" / "dof_pts.csv")
    lake.ingest(DATASET)
    lake.lock(PRODUCT)
    second = lake.build(PRODUCT).build_id
    old, new = (m.version for m in lake.versions(DATASET))
    return Project(lake, folder / "lakehouse.toml", old, new, first, second, published)


@pytest.fixture(scope="module")
def app_url(project: Project) -> Iterator[str]:
    chromium()  # skips (or fails, per LAKEHOUSE_REQUIRE_BROWSER) before the app starts
    with lake_app(project.config) as url:
        yield url


def show(url: str, query: dict[str, str], work: Path, *wanted: str, containing: str = "") -> Shown:
    """Open the page, wait until every `wanted` line is a line of its text (or begins one: a
    grid row's first cells) and it has the `containing` text, screenshot it, and read what
    it requested once the browser has closed."""
    with open_browser(work) as browser:
        browser.goto(f"{url}?{urlencode(query, safe=',')}")
        text = browser.wait_for(
            lambda shown: containing in shown and all(has_line(shown, w) for w in wanted),
            f"all of {wanted} and {containing!r}", SHOWN_WITHIN,
        )  # fmt: skip
        drawings = browser.evaluate(texts_of("[data-testid=stMain] svg"))
        exceptions = browser.evaluate(texts_of("[data-testid=stException]"))
        screenshot = browser.screenshot(work / "page.png")
    return Shown(text, drawings, exceptions, non_white_share(screenshot), browser.requests())


def texts_of(selector: str) -> str:
    """A page expression: the text of every element the CSS selector picks."""
    return f"Array.from(document.querySelectorAll({selector!r}), e => e.textContent)"


def has_line(text: str, line: str) -> bool:
    """`line` is a whole line of the text, or begins one (a grid row's first cells)."""
    return any(shown == line or shown.startswith(line + "\t") for shown in text.splitlines())


def non_white_share(screenshot: Path) -> float:
    from PIL import Image

    with Image.open(screenshot) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
        return sum(histogram[:MOSTLY_WHITE]) / (grey.width * grey.height)


def assert_drawn_from_loopback(shown: Shown, url: str) -> None:
    assert shown.exceptions == [], shown.exceptions
    assert shown.non_white_share > 0.01, f"the screenshot is blank ({shown.non_white_share:.2%})"
    app = urlsplit(url).netloc
    assert any(urlsplit(r).netloc == app for r in shown.requests), shown.requests
    elsewhere = [r for r in shown.requests if urlsplit(r).hostname != "127.0.0.1"]
    assert elsewhere == [], f"requests left 127.0.0.1: {elsewhere}"


def test_the_sources_page_shows_each_version_and_the_drift_between_two(
    project: Project, app_url: str, tmp_path: Path
) -> None:
    lake = project.lake
    old, new = (lake.manifest(DATASET, v) for v in (project.old_version, project.new_version))
    drift = lake.source_qa(DATASET, new.version, against=old.version)
    assert drift.keys is not None and drift.keys.removed > 0
    versions = f"{old.version},{new.version}"
    shown = show(
        app_url, {"page": "sources", "dataset": DATASET, "versions": versions},
        tmp_path, f"Drift: {new.version} against {old.version}",
        f"{old.version}\t{old.row_count}", f"{new.version}\t{new.row_count}",
    )  # fmt: skip
    assert metric_shown(shown.text, "Rows", f"{new.row_count:,}")
    assert metric_shown(shown.text, "Keys removed", f"{drift.keys.removed:,}")
    assert metric_shown(shown.text, "Keys added", f"{drift.keys.added:,}")
    assert_drawn_from_loopback(shown, app_url)


def test_the_builds_page_shows_both_builds_and_the_published_version(
    project: Project, app_url: str, tmp_path: Path
) -> None:
    first, second = (project.lake.builds(PRODUCT)[i] for i in (0, 1))
    assert (first.build_id, second.build_id) == (project.first_build, project.second_build)
    models = [f"{name}\t{run.layer}\t{run.status}" for name, run in first.models.items()]
    shown = show(
        app_url, {"page": "builds", "product": PRODUCT, "builds": project.published}, tmp_path,
        f"Published version {project.published} of build {first.build_id}.",
        f"{second.build_id}\t{second.status}", f"{first.build_id}\t{first.status}",
        f"{project.published}\t{first.build_id}",
        *models,  # the published build's models, how each ran
    )  # fmt: skip
    assert f"Build {first.build_id}: {first.status}; contracts: " in shown.text
    assert_drawn_from_loopback(shown, app_url)


def test_the_diff_page_shows_the_counts_lake_diff_computes(
    project: Project, app_url: str, tmp_path: Path
) -> None:
    (table,) = project.lake.diff(PRODUCT, project.first_build, project.second_build).tables
    assert table.removed > 0 and table.changed > 0
    per_column = [f"{c}\t{n}" for c, n in table.columns.items() if n]
    shown = show(
        app_url,
        {"page": "diff", "product": PRODUCT,
         "builds": f"{project.first_build},{project.second_build}"},
        tmp_path, f"{project.second_build} against {project.first_build}", *per_column,
    )  # fmt: skip
    for label, count in (("added", table.added), ("removed", table.removed),
                         ("changed", table.changed)):  # fmt: skip
        assert metric_shown(shown.text, f"Rows {label}", f"{count:,}"), label
    assert has_line(shown.text, f"{PRODUCT}\t{table.old_rows}\t{table.new_rows}")
    assert_drawn_from_loopback(shown, app_url)


def test_the_lineage_page_shows_the_dag_and_the_dictionary(
    project: Project, app_url: str, tmp_path: Path
) -> None:
    lineage = project.lake.lineage(PRODUCT)
    dictionary = load_dictionary(project.lake.config.contracts_dir, PRODUCT)
    assert dictionary is not None
    entry = dictionary.tables[PRODUCT]
    shown = show(
        app_url, {"page": "lineage", "product": PRODUCT}, tmp_path,
        f"Lineage of {PRODUCT}", entry.description.strip(), entry.columns[0].name,
    )  # fmt: skip
    traced = list(lineage.columns[PRODUCT])
    assert has_line(shown.text, traced[0]), traced[0]
    names = [node.name for node in lineage.nodes]  # its sources, models and outputs
    dag = [drawing for drawing in shown.drawings if all(n in drawing for n in names)]
    assert dag, f"no drawing of the DAG ({', '.join(names)}) among {shown.drawings}"
    assert_drawn_from_loopback(shown, app_url)


@pytest.mark.parametrize("page", ["diff", "sources"])
def test_an_unknown_build_or_version_in_the_url_names_the_ones_that_exist(
    project: Project, app_url: str, tmp_path: Path, page: str
) -> None:
    if page == "diff":
        existing = [project.first_build, project.second_build, project.published]
        query = {"page": "diff", "product": PRODUCT, "builds": f"no-such-build,{existing[1]}"}
        message = f"{PRODUCT!r} has no build or published version 'no-such-build'"
    else:
        existing = [project.old_version, project.new_version]
        query = {"page": "sources", "dataset": DATASET, "versions": f"20010101,{existing[1]}"}
        message = f"{DATASET!r} has no version '20010101'"
    shown = show(app_url, query, tmp_path, containing=message)
    (line,) = [line for line in shown.text.splitlines() if message in line]
    assert all(name in line for name in existing), line
    assert_drawn_from_loopback(shown, app_url)
