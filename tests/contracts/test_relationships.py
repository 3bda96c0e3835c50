"""Relationship rules (`references: table.column` in a data dictionary, as dbt's
`relationships` test): a column's values must be found in another table of the build; NULLs
are not checked; a failure counts the rows and shows a few by key and value; an unknown table
or column is named with what exists; a reused model's check is reused only while the table it
references is unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pytest

from lakehouse.contracts.contract import BuildTables, check_table, dictionary_contract
from lakehouse.contracts.dictionary import TableEntry, load_dictionary
from lakehouse.errors import ConfigError, ContractError
from lakehouse.project import Lakehouse
from tests.projects import mappluto_lite_project

WHERE = "contracts/shop/dictionary.yml"


def sales_entry(references: str = "lots.bbl", severity: str = "error") -> TableEntry:
    return TableEntry.model_validate(
        {
            "description": "one row per sale",
            "primary_key": ["sale_id"],
            "columns": [
                {"name": "sale_id", "type": "integer", "description": "the sale"},
                {"name": "bbl", "type": "bbl", "description": "the lot sold",
                 "references": references, "severity": severity},
            ],
        }
    )  # fmt: skip


@pytest.fixture
def con() -> Any:
    return ibis.duckdb.connect()


def table(con: Any, name: str, rows: dict[str, list[Any]], types: dict[str, str]) -> Any:
    return con.create_table(name, ibis.memtable(rows, schema=types))


def lots_and_sales(con: Any, sold: list[int | None]) -> tuple[Any, BuildTables]:
    """Lots 1, 2, 3 and a sale (ids 10, 11 ...) of each lot in `sold`, as a build's tables."""
    lots = table(con, "lots", {"bbl": [1, 2, 3]}, {"bbl": "int64"})
    sales = table(
        con,
        "sales",
        {"sale_id": [10 + i for i in range(len(sold))], "bbl": sold},
        {"sale_id": "int64", "bbl": "int64"},
    )
    tables = {"lots": lots, "sales": sales}
    return sales, BuildTables({"lots": "lots-v1", "sales": "sales-v1"}, tables, WHERE)


def relationship(report: Any) -> Any:
    (found,) = [r for r in report.results if r.kind == "references"]
    return found


def test_values_all_found_in_the_referenced_column_pass_and_nulls_are_not_checked(
    con: Any,
) -> None:
    sales, build = lots_and_sales(con, [1, 3, None, 3])
    report = check_table(sales, "sales", sales_entry(), build=build)
    assert report.passed
    found = relationship(report)
    assert (found.rule, found.detail, found.passed, found.failing_rows) == (
        "bbl: references",
        "values in lots.bbl",
        True,
        0,
    )


def test_values_not_found_are_counted_and_shown_by_key_and_value(con: Any) -> None:
    sales, build = lots_and_sales(con, [9, 1, None, 7, 9, 2])
    report = check_table(sales, "sales", sales_entry(), build=build)
    found = relationship(report)
    assert (found.passed, found.severity, found.failing_rows) == (False, "error", 3)
    assert found.sample_keys == [
        {"sale_id": 10, "bbl": 9},
        {"sale_id": 13, "bbl": 7},
        {"sale_id": 14, "bbl": 9},
    ]
    assert report.blocking == [found]
    assert report.failure_text() == (
        "sales.bbl: references (values in lots.bbl) fails on 3 rows: sale_id=10 bbl=9; "
        "sale_id=13 bbl=7; sale_id=14 bbl=9"
    )
    assert "FAIL  sales.bbl: references (values in lots.bbl): 3 row(s), e.g. " in report.to_text()


def test_a_column_of_severity_warn_only_warns(con: Any) -> None:
    sales, build = lots_and_sales(con, [4])
    report = check_table(sales, "sales", sales_entry(severity="warn"), build=build)
    assert report.passed
    assert [(r.rule, r.failing_rows) for r in report.warnings] == [("bbl: references", 1)]


def test_a_table_may_reference_its_own_key(con: Any) -> None:
    units = table(
        con,
        "units",
        {"unit": [1, 2, 3, 4], "parent": [None, 1, 1, 5]},
        {"unit": "int64", "parent": "int64"},
    )
    entry = TableEntry.model_validate(
        {
            "description": "units and the unit each belongs to",
            "primary_key": ["unit"],
            "columns": [
                {"name": "unit", "type": "integer", "description": "the unit"},
                {"name": "parent", "type": "integer", "description": "its parent",
                 "references": "units.unit"},
            ],
        }
    )  # fmt: skip
    build = BuildTables({"units": "u1"}, {"units": units})
    found = relationship(check_table(units, "units", entry, build=build))
    assert (found.failing_rows, found.sample_keys) == (1, [{"unit": 4, "parent": 5}])


def test_an_unknown_table_is_named_with_the_tables_the_build_has(con: Any) -> None:
    _, build = lots_and_sales(con, [1])
    with pytest.raises(ConfigError) as error:
        dictionary_contract("sales", sales_entry("lot.bbl"), build)
    assert str(error.value) == (
        "contracts/shop/dictionary.yml: sales.bbl references lot.bbl, but the build has no "
        "table 'lot'; name one of its tables (the recipe's inputs by alias, the product's "
        "models): lots, sales."
    )


def test_an_unknown_column_is_named_with_the_columns_of_its_table(con: Any) -> None:
    _, build = lots_and_sales(con, [1])
    with pytest.raises(ConfigError, match=r"sales\.bbl references lots\.lot_id, but 'lots' has "
                       r"no column 'lot_id'; name one of: bbl\.$"):  # fmt: skip
        dictionary_contract("sales", sales_entry("lots.lot_id"), build)


def test_a_column_of_another_kind_of_value_is_refused(con: Any) -> None:
    raw = table(con, "raw_lots", {"bbl": ["1"]}, {"bbl": "string"})
    build = BuildTables({"raw_lots": "r1"}, {"raw_lots": raw}, WHERE)
    with pytest.raises(ConfigError, match="that column holds string and bbl int64"):
        dictionary_contract("sales", sales_entry("raw_lots.bbl"), build)


def test_the_digest_follows_the_referenced_tables_fingerprint() -> None:
    entry = sales_entry()
    first = dictionary_contract("sales", entry, BuildTables({"lots": "a", "sales": "s"}))
    same = dictionary_contract("sales", entry, BuildTables({"lots": "a", "sales": "other"}))
    changed = dictionary_contract("sales", entry, BuildTables({"lots": "b", "sales": "s"}))
    assert first.digest == same.digest != changed.digest
    plain = TableEntry.model_validate(
        {"description": "d", "columns": [{"name": "x", "type": "integer", "description": "x"}]}
    )
    assert (
        dictionary_contract("t", plain).digest
        == dictionary_contract("t", plain, BuildTables({"lots": "a"})).digest
    )


def test_without_the_builds_tables_references_are_not_checked(con: Any) -> None:
    sales, _ = lots_and_sales(con, [9])
    report = check_table(sales, "sales", sales_entry())
    assert report.passed
    assert not [r for r in report.results if r.kind == "references"]


def test_the_rules_text_says_where_the_values_come_from() -> None:
    column = sales_entry().column("bbl")
    assert column.rules_text() == "values in lots.bbl"
    assert sales_entry(severity="warn").column("bbl").rules_text() == (
        "values in lots.bbl; (warning only)"
    )


# -- the dictionary file -----------------------------------------------------------------------


def load_error(tmp_path: Path, columns: str) -> str:
    folder = tmp_path / "contracts" / "shop"
    folder.mkdir(parents=True)
    (folder / "dictionary.yml").write_text(
        "product: shop\ntables:\n"
        "  lots:\n    description: lots\n    columns:\n"
        "      - {name: bbl, type: bbl, description: the lot}\n"
        "  sales:\n    description: sales\n    columns:\n" + columns
    )
    with pytest.raises(ConfigError) as error:
        load_dictionary(tmp_path / "contracts", "shop")
    return str(error.value)


def test_references_must_be_table_dot_column(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, "      - {name: bbl, type: bbl, description: the lot, references: lots}\n"
    )
    assert (
        "field 'tables.sales.columns.bbl (1st column).references': references is 'lots'; write "
        "the table and the column its values come from as table.column, e.g. pluto_lite.bbl"
    ) in message


def test_a_reference_to_a_table_of_the_same_dictionary_must_name_its_column(
    tmp_path: Path,
) -> None:
    message = load_error(
        tmp_path, "      - {name: bbl, type: bbl, description: the lot, references: lots.lot}\n"
    )
    assert "dictionary.yml" in message
    assert (
        "sales.bbl references lots.lot, but table 'lots' has no column 'lot'; name one of: bbl"
    ) in message


def test_a_geometry_column_cannot_reference(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        "      - {name: geom, type: geometry, crs: 'EPSG:2263', description: its shape,"
        " references: lots.geom}\n",
    )
    assert "references cannot apply to geometry columns" in message


def test_mappluto_lite_says_its_lots_are_pluto_lites() -> None:
    repo = Path(__file__).resolve().parents[2]
    dictionary = load_dictionary(repo / "contracts", "mappluto_lite")
    assert dictionary is not None
    bbl = dictionary.tables["mappluto_lite"].column("bbl")
    assert bbl.reference == ("pluto_lite", "bbl")
    assert "values in pluto_lite.bbl" in bbl.rules_text()


# -- in a build (needs the builder to pass its tables: see BuildTables) ------------------------

MODELS = """
from lakehouse.transform import model


@model(layer="product")
def sales(sales_source):
    return sales_source.select(
        sale_id=sales_source.sale_id.cast("int64"), bbl=sales_source.bbl.cast("int64")
    ).order_by("sale_id")
"""

DICTIONARY = """
product: shop
tables:
  sales:
    description: one row per sale
    primary_key: [sale_id]
    columns:
      - {name: sale_id, type: integer, description: the sale}
      - {name: bbl, type: bbl, description: the lot sold, references: lots.bbl}
"""


def shop(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Path:
    """A product `shop` whose one model reads sales only, while its dictionary says the sales'
    lots are among `lots` (an input no model reads): sales of lots 1 and 3, and one of no known
    lot; lots 1, 2, 3. Returns the dictionary file."""
    ingest(lake, tmp_path, "sales_source", "sale_id,bbl\n10,1\n11,\n12,3\n")
    ingest_lots(lake, tmp_path, [1, 2, 3])
    (project_dir / "transforms" / "shop").mkdir(parents=True)
    (project_dir / "transforms" / "shop" / "__init__.py").write_text(MODELS)
    (project_dir / "recipes" / "shop.yml").write_text(
        "name: shop\nowner: me\ninputs: {sales_source: latest, lots: latest}\noutputs: [sales]\n"
    )
    dictionary = project_dir / "contracts" / "shop" / "dictionary.yml"
    dictionary.parent.mkdir(parents=True)
    dictionary.write_text(DICTIONARY)
    lake.lock("shop")
    return dictionary


def ingest(lake: Lakehouse, tmp_path: Path, dataset: str, text: str) -> None:
    source = tmp_path / f"{dataset}.csv"
    source.write_text(text)
    lake.ingest(dataset, file=source)


def ingest_lots(lake: Lakehouse, tmp_path: Path, bbls: list[int]) -> None:
    """`lots` as Parquet, its bbl typed (a CSV's would be text: another kind of value)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "lots.parquet"
    pq.write_table(pa.table({"bbl": pa.array(bbls, pa.int64())}), source)
    lake.ingest("lots", file=source)


def contract_actions(lake: Lakehouse) -> list[str]:
    """What `lake plan` says the build does with the contract of the output `sales`."""
    (sales,) = [model for model in lake.plan("shop").models if model.name == "sales"]
    assert sales.action == "reuse"
    return [contract.action for contract in sales.contracts]


def test_a_build_checks_references_and_rechecks_them_when_the_referenced_input_changes(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    shop(lake, project_dir, tmp_path)
    first = lake.build("shop")
    assert first.contracts.passed  # the NULL bbl of sale 11 is not checked
    assert [(r.rule, r.passed) for r in first.contracts.results if r.kind == "references"] == [
        ("bbl: references", True)
    ]
    cache = Path(lake.store.root) / "cache" / "shop" / "sales"
    assert len(list(cache.glob("*.contract-*.json"))) == 1
    assert contract_actions(lake) == ["reuse"]
    assert lake.build("shop").all_cached  # nothing changed: the results are reused
    assert len(list(cache.glob("*.contract-*.json"))) == 1

    ingest_lots(lake, tmp_path, [1, 2])  # lot 3 is gone
    lake.lock("shop")
    assert contract_actions(lake) == ["check"]  # the model is reused, its contract is not
    with pytest.raises(ContractError) as error:
        lake.build("shop")
    assert (
        "failed its product contract: sales.bbl: references (values in lots.bbl) fails on "
        "1 row: sale_id=12 bbl=3"
    ) in str(error.value)
    failed = lake.builds("shop")[-1]
    assert failed.models["sales"].status == "cached"  # the model reads no lots: reused
    assert len(list(cache.glob("*.contract-*.json"))) == 2  # its contract checked again
    assert failed.status == "failed"
    assert failed.contracts.failed == ["sales.bbl: references"]
    folder = Path(lake.store.root) / "builds" / "shop" / failed.build_id / "contracts"
    text = (folder / "report.txt").read_text()
    assert 'FAIL  sales.bbl: references (values in lots.bbl): 1 row(s), e.g. ' \
        '{"sale_id": 12, "bbl": 3}' in text  # fmt: skip


def test_a_build_names_an_unknown_referenced_table_and_the_tables_it_has(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    dictionary = shop(lake, project_dir, tmp_path)
    dictionary.write_text(DICTIONARY.replace("lots.bbl", "lot.bbl"))
    with pytest.raises(ConfigError) as error:
        lake.build("shop")
    assert str(error.value) == (
        f"{dictionary}: sales.bbl references lot.bbl, but the build has no table 'lot'; name "
        "one of its tables (the recipe's inputs by alias, the product's models): lots, sales, "
        "sales_source."
    )
    assert lake.builds("shop") == []  # nothing is kept of a build the dictionary stopped


def test_mappluto_lite_builds_with_its_lots_found_in_pluto_lite(tmp_path: Path) -> None:
    lake = mappluto_lite_project(tmp_path / "project", lots=200, seed=3)
    result = lake.build("mappluto_lite")
    found = [r for r in result.contracts.results if r.kind == "references"]
    assert [(r.rule, r.detail, r.passed, r.failing_rows) for r in found] == [
        ("bbl: references", "values in pluto_lite.bbl", True, 0)
    ]
