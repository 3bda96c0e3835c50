"""`lake check` (`Lakehouse.check`, `check_build`) re-runs a product's dictionary on a finished
build, its `references` too: against the build's inputs as its lock pinned them (an archived
version, a seed, another product's output) and the models it wrote out; a reference to an
intermediate model the build did not write out is reported as not checked, not failed."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import ConfigError
from lakehouse.project import Lakehouse
from tests.contracts.test_relationships import DICTIONARY

MODELS = """
from lakehouse.transform import model


@model(layer="intermediate")
def sold(sales_source):
    return sales_source.select(bbl=sales_source.bbl.cast("int64")).distinct()


@model(layer="product")
def lot_list(sold):
    return sold.order_by("bbl")


@model(layer="product")
def sales(sales_source):
    return sales_source.select(
        sale_id=sales_source.sale_id.cast("int64"), bbl=sales_source.bbl.cast("int64")
    ).order_by("sale_id")
"""


AUDIT_MODELS = """
from lakehouse.transform import model


@model(layer="product")
def audited(shop_sales):
    return shop_sales.select(sale_id=shop_sales.sale_id, ok=shop_sales.bbl.notnull())
"""

AUDIT_DICTIONARY = """
product: audit
tables:
  audited:
    description: one row per sale of the shop
    columns:
      - {name: sale_id, type: integer, description: the sale, references: shop_sales.sale_id}
      - {name: ok, type: bool, description: whether it names a lot}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def shop(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Path:
    """A product `shop` with sales of lots 1 and 3 and one of no lot (its output `sales`, and
    `lot_list` kept), the lots 1, 2, 3 archived, a seed of zoned lots (1 only); its dictionary
    says the sales' lots are among the archived lots. Returns the dictionary file."""
    sales = tmp_path / "sales_source.csv"
    sales.write_text("sale_id,bbl\n10,1\n11,\n12,3\n")
    lake.ingest("sales_source", file=sales)
    lots = tmp_path / "lots.parquet"  # typed, as a CSV's bbl would be text
    pq.write_table(pa.table({"bbl": pa.array([1, 2, 3], pa.int64())}), lots)
    lake.ingest("lots", file=lots)
    write(
        project_dir,
        {
            "transforms/shop/__init__.py": MODELS,
            "seeds/zoned_lots.csv": "bbl,zone\n1,R6\n",
            "recipes/shop.yml": (
                "name: shop\nowner: me\ninputs:\n  sales_source: latest\n  lots: latest\n"
                "  zoned_lots: {seed: zoned_lots, types: {bbl: int64}}\n"
                "outputs: [sales]\nkeep: [lot_list]\n"
            ),
            "contracts/shop/dictionary.yml": DICTIONARY,
        },
    )
    lake.lock("shop")
    return project_dir / "contracts" / "shop" / "dictionary.yml"


def references(lake: Lakehouse, product: str = "shop") -> list[tuple[str, str, bool, int]]:
    _, report = lake.check(product)
    return [(r.rule, r.detail, r.passed, r.failing_rows)
            for r in report.results if r.kind == "references"]  # fmt: skip


def test_a_passing_build_passes_lake_check_with_its_references_checked(
    lake: Lakehouse, shop: Path
) -> None:
    assert lake.build("shop").contracts.passed
    _, report = lake.check("shop")
    assert report.passed
    assert not report.unchecked
    assert [(r.rule, r.detail, r.passed, r.failing_rows)
            for r in report.results if r.kind == "references"] == [
        ("bbl: references", "values in lots.bbl", True, 0)
    ]  # fmt: skip
    assert report.summary() == "5/5 checks passed"


def test_a_dictionary_referencing_values_the_output_breaks_fails_lake_check_with_the_count(
    lake: Lakehouse, shop: Path
) -> None:
    build = lake.build("shop")
    shop.write_text(DICTIONARY.replace("lots.bbl", "zoned_lots.bbl"))  # the seed: lot 1 only
    entry, report = lake.check("shop")
    assert entry.build_id == build.build_id
    assert not report.passed
    assert report.failure_text() == (
        "sales.bbl: references (values in zoned_lots.bbl) fails on 1 row: sale_id=12 bbl=3"
    )
    assert report.advice() == (
        "fix the transform or the data, or the rule in contracts/shop/dictionary.yml if the "
        "rule is wrong"
    )


def test_a_reference_to_a_kept_model_is_checked_on_its_written_file(
    lake: Lakehouse, shop: Path
) -> None:
    lake.build("shop")
    shop.write_text(DICTIONARY.replace("lots.bbl", "lot_list.bbl"))
    assert references(lake) == [("bbl: references", "values in lot_list.bbl", True, 0)]


def test_a_reference_to_a_model_the_build_did_not_write_out_is_reported_not_checked(
    lake: Lakehouse, shop: Path
) -> None:
    build = lake.build("shop")
    shop.write_text(DICTIONARY.replace("lots.bbl", "sold.bbl"))
    _, report = lake.check("shop")
    assert report.passed
    assert [r for r in report.results if r.kind == "references"] == []
    assert [rule.text() for rule in report.unchecked] == [
        f"sales.bbl: references (values in sold.bbl) not checked: sold is an intermediate model "
        f"that build {build.build_id} did not write out, so only a build checks it (add sold to "
        "keep: in the recipe to have it written)"
    ]
    assert report.summary() == "4/4 checks passed, 1 not checked"
    assert "skip  sales.bbl: references (values in sold.bbl) not checked: " in report.to_text()


def test_a_reference_to_a_table_the_build_does_not_have_names_those_it_has(
    lake: Lakehouse, shop: Path
) -> None:
    lake.build("shop")
    shop.write_text(DICTIONARY.replace("lots.bbl", "lot.bbl"))
    with pytest.raises(ConfigError) as error:
        lake.check("shop")
    assert str(error.value) == (
        "contracts/shop/dictionary.yml: sales.bbl references lot.bbl, but the build has no "
        "table 'lot'; name one of its tables (the recipe's inputs by alias, the product's "
        "models): lot_list, lots, sales, sales_source, sold, zoned_lots."
    )


def test_a_reference_to_another_products_output_reads_the_build_the_lock_pinned(
    lake: Lakehouse, shop: Path, project_dir: Path
) -> None:
    lake.build("shop")
    write(
        project_dir,
        {
            "transforms/audit/__init__.py": AUDIT_MODELS,
            "recipes/audit.yml": (
                "name: audit\nowner: me\ninputs:\n"
                "  shop_sales: {product: shop, output: sales}\noutputs: [audited]\n"
            ),
            "contracts/audit/dictionary.yml": AUDIT_DICTIONARY,
        },
    )
    lake.lock("audit")
    assert lake.build("audit").contracts.passed
    assert references(lake, "audit") == [
        ("sale_id: references", "values in shop_sales.sale_id", True, 0)
    ]
