"""Benchmark: the QA app's diff page for two PLUTO-lite builds that differ in 1% of rows, vs
`lake diff` of the same two builds, side by side in the same run.

The project has the repo's recipe and transforms on generated sources (as bench/build.py makes
them, in a folder of its own); the first build reads dof_pts as generated, the second a new
version of it with 1% of the lots different: 0.6% with assessed_land + 1, 0.2% removed, 0.2%
added (lot 9999, never generated, on existing blocks). Then, alternating over several rounds:
(a) `lake diff pluto_lite <first> <second>` in a new process (wall clock, imports included) and
(b) `lake app` started afresh, its diff page for the two builds opened in headless Chromium,
timed from the navigation until the page shows the diff's added/removed/changed counts (its
first view: Streamlit's first run of the script included; also how long until it drew its
sidebar), then the same page opened again in that browser (a new session of the running app).
The counts the page must show are those `lake diff` printed. Then `lake qa report diff` for the
pair (which a person runs before publishing, and which stores the diff beside the newer build)
and the app's first view again: the page reads the stored diff back instead of computing it.
The computed rounds first remove a report an earlier run of this benchmark stored.

    python bench/app_diff.py [--lots 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PRODUCT = "pluto_lite"
CHANGED = "hash(bbl) % 1000 < 6"  # assessed_land + 1
REMOVED = "hash(bbl) % 1000 BETWEEN 6 AND 7"
ADDED = "hash(bbl) % 1000 BETWEEN 8 AND 9"  # copied to lot 9999 of the same block
SIDEBAR = "Lineage & dictionary"  # the last page in the app's sidebar
COUNTS = re.compile(r"(\d[\d,]*) added, (\d[\d,]*) removed, (\d[\d,]*) changed")
WHAT = ("added", "removed", "changed")


@dataclass(frozen=True)
class View:
    drawn: float  # seconds until the app's sidebar showed
    counts: float  # seconds until the diff's counts showed


def changed_dof_pts(original: Path, changed: Path) -> None:
    """The generated dof_pts with 1% of its lots changed, removed or added; text kept as is."""
    import duckdb

    source = f"read_csv('{original}', all_varchar = true)"
    land = "assessed_land"
    duckdb.connect().execute(
        f"""COPY (
            SELECT * REPLACE (
                CASE WHEN {CHANGED} AND regexp_full_match({land}, '[0-9]+')
                    THEN CAST(CAST({land} AS BIGINT) + 1 AS VARCHAR) ELSE {land} END AS {land})
            FROM {source} WHERE NOT ({REMOVED})
            UNION ALL
            SELECT * REPLACE (substr(bbl, 1, 6) || '9999' AS bbl, '9999' AS lot)
            FROM {source} WHERE {ADDED}
        ) TO '{changed}' (HEADER, DELIMITER ',')"""
    )


def two_builds(project: Path, lots: int, seed: int) -> tuple[str, str]:
    """The project (made once, then reused) and its two builds' ids."""
    from bench.build import prepare
    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    made = project / "app-diff-builds.json"
    prepare(project, lots, seed)
    if made.exists():
        first, second = json.loads(made.read_text())
        return str(first), str(second)
    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    print("building twice ...", flush=True)
    first = lake.build(PRODUCT).build_id
    changed = project / "dof_pts_changed.csv"
    changed_dof_pts(project / "data" / "dof_pts.csv", changed)
    lake.ingest("dof_pts", file=changed)
    lake.lock(PRODUCT)
    second = lake.build(PRODUCT).build_id
    made.write_text(json.dumps([first, second]))
    return first, second


def lake_diff(config: Path, first: str, second: str) -> tuple[float, tuple[str, ...]]:
    """`lake diff` in a new process: its wall time and the counts it printed."""
    start = time.perf_counter()
    printed = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", "--config", str(config), "diff", PRODUCT,
         first, second],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    ).stdout  # fmt: skip
    seconds = time.perf_counter() - start
    found = COUNTS.search(printed)
    if found is None:
        raise SystemExit(f"`lake diff` printed no counts:\n{printed}")
    return seconds, found.groups()


def shows_counts(counts: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether the page's text shows the diff's three counts as the app draws them (metrics
    "Rows added", "Rows removed", "Rows changed", with thousands separators)."""
    from tests.cdp import metric_shown

    labels = ("Rows added", "Rows removed", "Rows changed")
    return lambda text: all(map(partial(metric_shown, text), labels, counts))


def app_views(config: Path, first: str, second: str, counts: tuple[str, ...]) -> list[View]:
    """`lake app` started afresh, its diff page opened twice in one browser (the second time
    a new session of the running app): for each, seconds until the app drew its sidebar
    (page loaded, script started, project opened) and until it showed the counts."""
    from tests.cdp import lake_app, open_browser

    query = urlencode({"page": "diff", "product": PRODUCT, "builds": f"{first},{second}"}, safe=",")
    views = []
    with (
        tempfile.TemporaryDirectory() as work,
        lake_app(config) as url,
        open_browser(Path(work)) as browser,
    ):
        for _ in range(2):
            browser.goto("about:blank")
            start = time.perf_counter()
            browser.goto(f"{url}?{query}")
            browser.wait_for(lambda text: SIDEBAR in text.splitlines(), "the sidebar", 120)
            drawn = time.perf_counter() - start
            browser.wait_for(shows_counts(counts), f"the counts {counts}", timeout=120)
            views.append(View(drawn, time.perf_counter() - start))
    return views


def stored_report(project: Path, first: str, second: str) -> list[Path]:
    """The diff `lake qa report diff` stores for the pair (JSON, and its HTML)."""
    folder = project / ".lakehouse" / "builds" / PRODUCT / second / "qa"
    return [folder / f"diff-{first}.json", folder / f"diff-{first}.html"]


def qa_report(config: Path, first: str, second: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", "--config", str(config), "qa", "report", "diff",
         PRODUCT, first, second],
        capture_output=True, text=True, check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    project = args.work.resolve() / f"app_diff_{args.lots}_{args.seed}"
    first, second = two_builds(project, args.lots, args.seed)
    config = project / "lakehouse.toml"
    for earlier in stored_report(project, first, second):  # this benchmark's own, from before
        earlier.unlink(missing_ok=True)
    diffs, firsts, agains = [], [], []
    for number in range(1, args.rounds + 1):
        seconds, counts = lake_diff(config, first, second)
        diffs.append(seconds)
        first_view, again = app_views(config, first, second, counts)
        firsts.append(first_view)
        agains.append(again)
        print(f"round {number}: lake diff {seconds:.2f} s, app diff page first view "
              f"{first_view.counts:.2f} s (sidebar at {first_view.drawn:.2f} s), opened again "
              f"{again.counts:.2f} s", flush=True)  # fmt: skip
    qa_report(config, first, second)
    reported = []
    for number in range(1, args.rounds + 1):
        view, _ = app_views(config, first, second, counts)
        reported.append(view)
        print(f"round {number}, with the QA report stored: app diff page first view "
              f"{view.counts:.2f} s", flush=True)  # fmt: skip
    print()
    differing = ", ".join(f"{n} {w}" for n, w in zip(counts, WHAT, strict=True))
    print(f"| {args.lots:,} lots: {differing} | median s | ratio |")
    print("|---|---|---|")
    ref = statistics.median(diffs)
    rows = [
        ("`lake diff` (a new process, imports included)", ref),
        ("QA app diff page, first view (`lake app` just started): counts shown",
         statistics.median(v.counts for v in firsts)),
        ("... of which until the app drew its sidebar (page, imports, project opened)",
         statistics.median(v.drawn for v in firsts)),
        ("QA app diff page opened again (a new session): counts shown",
         statistics.median(v.counts for v in agains)),
        ("QA app diff page, first view, the pair's QA report stored (`lake qa report diff`)",
         statistics.median(v.counts for v in reported)),
    ]  # fmt: skip
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / ref:.2f} |")
    for case, views in (("computed", firsts), ("QA report stored", reported)):
        shown = statistics.median(v.counts for v in views)
        print(f"first view under 3 s ({case}): {'yes' if shown < 3 else 'NO'}")


if __name__ == "__main__":
    main()
