"""The docs pages' tables laid out by headless Chromium, at a laptop's width and narrow ones: no
table runs past the page's right edge (where it would be clipped); long unbroken text (a
regex, a long column name) wraps, and a table that cannot fit scrolls inside its own box.

Positions come from the DOM (getBoundingClientRect, scrollWidth, clientWidth), measured by a
script added to a copy of the page (the site itself has none)."""

from __future__ import annotations

import html
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.catalog.catalog import ProductEntry
from lakehouse.catalog.docs import SiteContent, write_docs
from lakehouse.contracts.dictionary import Dictionary, load_dictionary
from tests.browser import FLAGS, chromium
from tests.projects import REPO

MEASURE = """<script>
const doc = document.documentElement;
const tables = [...document.querySelectorAll('table')].map((table) => {
  const box = table.parentElement;
  return {
    heading: table.querySelector('th').textContent,
    right: table.getBoundingClientRect().right,
    box_right: box.getBoundingClientRect().right,
    box_scroll_width: box.scrollWidth,
    box_client_width: box.clientWidth,
    box_overflow_x: getComputedStyle(box).overflowX,
  };
});
const out = document.createElement('pre');
out.id = 'layout';
out.textContent = JSON.stringify({width: doc.clientWidth, scroll_width: doc.scrollWidth, tables});
document.body.appendChild(out);
</script>"""
LONG_PATTERN = "^(" + "|".join(f"code_{i:03d}_[A-Z]{{2,4}}" for i in range(12)) + ")$"
LONG_NAME = "facility_operator_type_description_as_reported_by_the_agency"
LONG_SOURCE = "dcp_colp.agency_code_and_responsible_agency_name_as_published"


@dataclass
class Table:
    heading: str  # its first column's heading
    right: float
    box_right: float
    box_scroll_width: int
    box_client_width: int
    box_overflow_x: str

    @property
    def fits(self) -> bool:
        return self.right <= self.box_right + 0.5

    @property
    def scrolls_in_its_box(self) -> bool:
        scrollable = self.box_overflow_x in ("auto", "scroll")
        return scrollable and self.box_scroll_width > self.box_client_width


@dataclass
class Layout:
    width: int  # the page's visible width
    scroll_width: int  # the width of all it holds: more than `width` means clipped on the right
    tables: list[Table]


def layout(page: Path, work: Path, width: int) -> Layout:
    """The page's tables as Chromium lays them out in a window `width` pixels wide."""
    work.mkdir(parents=True, exist_ok=True)
    measured = work / f"measured-{width}-{page.name}"
    measured.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    dom = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={work / 'profile'}",
         f"--window-size={width},2000", "--dump-dom", measured.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the measuring script did not run"
    data = json.loads(html.unescape(found[1]))
    return Layout(data["width"], data["scroll_width"], [Table(**t) for t in data["tables"]])


def long_words_dictionary() -> Dictionary:
    """A dictionary with text that has nowhere to break: a long regex, column name and source."""
    columns = [
        {"name": LONG_NAME, "type": "text", "description": "Who runs it.", "regex": LONG_PATTERN,
         "source": LONG_SOURCE},
        {"name": "zip", "type": "text", "description": "Its ZIP code.",
         "allowed": [f"1{i:04d}" for i in range(40)]},
    ]  # fmt: skip
    table = {"description": "One row per facility.", "primary_key": ["zip"], "columns": columns}
    return Dictionary.model_validate({"product": "facilities", "tables": {"facilities": table}})


def product(name: str, dictionary: Dictionary | None) -> ProductEntry:
    return ProductEntry(name, "A product.", "me", {}, [name], 0, None, None, dictionary=dictionary)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PLUTO-lite's real dictionary, and one of long unbroken words."""
    pluto = load_dictionary(REPO / "contracts", "pluto_lite")
    products = [product("pluto_lite", pluto), product("facilities", long_words_dictionary())]
    content = SiteContent(products, [], {}, {}, {})
    return write_docs(content, tmp_path_factory.mktemp("layout") / "site").folder


def test_at_a_laptops_width_every_table_fits_and_long_words_wrap(
    site: Path, tmp_path: Path
) -> None:
    for page in ("product-pluto_lite.html", "product-facilities.html"):
        found = layout(site / page, tmp_path, 1280)
        assert found.scroll_width <= found.width, f"{page} runs past the page's right edge"
        assert [t.heading for t in found.tables if not t.fits] == [], page
    text = (site / "product-facilities.html").read_text()
    assert LONG_PATTERN in text and LONG_NAME in text and LONG_SOURCE in text  # whole, wrapped


def test_at_narrow_widths_nothing_runs_past_the_page_and_a_wide_table_scrolls_in_its_box(
    site: Path, tmp_path: Path
) -> None:
    for width in (700, 500):
        for page in ("product-pluto_lite.html", "product-facilities.html"):
            found = layout(site / page, tmp_path, width)
            assert found.scroll_width <= found.width, f"{page} at {width} px is clipped"
            for table in found.tables:
                assert table.box_right <= found.width + 0.5
                assert table.fits or table.scrolls_in_its_box, (page, width, table.heading)
    # at 500 px the dictionary's seven columns do not fit: the table scrolls, the page does not
    dictionary = [t for t in layout(site / "product-pluto_lite.html", tmp_path, 500).tables
                  if t.heading == "column"]  # fmt: skip
    assert dictionary and all(t.scrolls_in_its_box and not t.fits for t in dictionary)


def test_the_layout_check_sees_a_table_clipped_on_the_right(tmp_path: Path) -> None:
    page = tmp_path / "clipped.html"
    cell = "x" * 300
    page.write_text(
        "<html><body style='max-width: 40rem'><table><tr><th>wide</th><td>"
        f"{cell}</td></tr></table></body></html>"
    )
    found = layout(page, tmp_path / "chromium", 1280)
    (table,) = found.tables
    assert not table.fits and not table.scrolls_in_its_box
