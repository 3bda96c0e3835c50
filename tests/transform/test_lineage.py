"""Lineage: tables from the DAG and the lock, columns traced through the compiled SQL."""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.contracts.dictionary import load_dictionary
from lakehouse.errors import NotFoundError
from lakehouse.project import Lakehouse
from lakehouse.render.dag import dag_svg
from lakehouse.transform.lineage import (
    UNTRACED,
    RowCondition,
    column_lineage,
    compile_models,
    compile_queries,
    row_lineage,
    table_lineage,
)
from lakehouse.transform.models import MODEL_ATTRIBUTE, Model, model
from tests.projects import make_project


@model(layer="staging")
def stg_orders(orders: ir.Table) -> ir.Table:
    return orders.select(
        order_id=orders.id.cast("int64"),
        total=orders.price * orders.quantity,
        shop=orders.shop.upper(),
    )


@model(layer="product")
def shop_sales(stg_orders: ir.Table, shops: ir.Table) -> ir.Table:
    per_shop = stg_orders.group_by("shop").aggregate(
        sales=stg_orders.total.sum(), orders=stg_orders.count()
    )
    joined = per_shop.join(shops, per_shop.shop == shops.code)
    return joined.select("shop", "sales", "orders", region=joined.region, flag=ibis.literal(True))


def toy_models() -> dict[str, Model]:
    from lakehouse.transform.models import _as_model

    found = {}
    for func in (stg_orders, shop_sales):
        found[func.__name__] = _as_model(func, getattr(func, MODEL_ATTRIBUTE), __name__)
    return found


SCHEMAS = {
    "orders": {"id": "string", "price": "float64", "quantity": "int64", "shop": "string"},
    "shops": {"code": "string", "region": "string"},
}


def test_each_output_column_is_traced_to_the_source_columns_it_is_computed_from() -> None:
    models = toy_models()
    sql = compile_models(models, SCHEMAS, ["shop_sales"])
    assert set(sql) == {"stg_orders", "shop_sales"}
    assert column_lineage(sql, "shop_sales", set(SCHEMAS)) == {
        "shop": ["orders.shop"],
        "sales": ["orders.price", "orders.quantity"],
        "orders": ["orders (rows)"],  # a count: the rows of orders, no column
        "region": ["shops.region"],
        "flag": ["orders (rows)", "shops (rows)"],  # a constant on every joined row
    }
    grouped_then_joined = [
        "orders.shop (join key in shop_sales)",
        "shops.code (join key in shop_sales)",
        "orders.shop (group by in shop_sales)",
    ]
    rows = row_lineage(sql, "shop_sales", set(SCHEMAS))
    assert {column: [str(c) for c in found] for column, found in rows.items()} == {
        "shop": grouped_then_joined,
        "sales": grouped_then_joined,
        "orders": grouped_then_joined,
        "region": grouped_then_joined,
        "flag": grouped_then_joined,
    }


def test_table_lineage_runs_from_the_pinned_sources_through_the_models() -> None:
    found = table_lineage(
        "sales", toy_models(), {"orders": "orders 20260101", "shops": "shops 20250101"},
        ["shop_sales"],
    )  # fmt: skip
    assert [(n.name, n.layer) for n in found.nodes] == [
        ("orders", "source"), ("shops", "source"), ("stg_orders", "staging"),
        ("shop_sales", "product"),
    ]  # fmt: skip
    assert sorted(found.edges) == [
        ("orders", "stg_orders"), ("shops", "shop_sales"), ("stg_orders", "shop_sales")
    ]  # fmt: skip
    assert found.nodes[0].detail == "orders 20260101"
    svg = dag_svg("lineage of shop", found.nodes, found.edges)
    assert svg.count('class="node"') == 4 and svg.count("marker-end") == 3
    assert "http" not in svg  # nothing to fetch


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lake = make_project(tmp_path_factory.mktemp("lineage") / "p", lots=200)
    lake.lock("pluto_lite")
    return lake


def test_pluto_lite_lineage(lake: Lakehouse) -> None:
    found = lake.lineage("pluto_lite")
    pinned = {n.name: n.detail for n in found.nodes if n.layer == "source"}
    assert pinned == {
        name: f"{name} {lake.versions(name)[-1].version}"
        for name in ("dof_pts", "zoning_lots", "dob_jobs", "landmarks")
    }
    assert found.upstream("pluto_lite") == ["lots", "zoning_by_lot", "dob_by_lot", "stg_landmarks"]
    assert found.upstream("stg_dof_pts") == ["dof_pts"]
    columns = found.columns["pluto_lite"]
    dictionary = load_dictionary(lake.config.contracts_dir, "pluto_lite")
    assert dictionary is not None
    assert list(columns) == [c.name for c in dictionary.tables["pluto_lite"].columns]
    assert columns["far"] == ["dof_pts.bldg_area", "dof_pts.land_area"]
    assert columns["borough"] == ["dof_pts.boro"]
    assert columns["bldg_age"] == ["dof_pts.year_built"]
    assert columns["dob_job_count"] == ["dob_jobs (rows)"]
    assert columns["landmark"] == ["landmarks (rows)"]
    assert columns["dob_units_proposed"] == ["dob_jobs.job_type", "dob_jobs.proposed_units"]
    assert "zoning_lots.zoning_district" in columns["zonedist1"]
    assert all(columns.values()), "every column traced to a source"
    assert UNTRACED not in {source for sources in columns.values() for source in sources}


# what decides the rows of every PLUTO-lite column: the latest record per bbl (lots), the side
# files grouped (or made distinct) to one row per bbl, and the left joins on bbl
PLUTO_ROWS = [
    RowCondition("landmarks.bbl", "distinct", "stg_landmarks"),
    RowCondition("zoning_lots.zoning_district", "filter", "stg_zoning_lots"),
    RowCondition("dob_jobs.bbl", "group by", "dob_by_lot"),
    RowCondition("dof_pts.bbl", "filter", "lots"),
    RowCondition("dof_pts.updated_at", "filter", "lots"),
    RowCondition("zoning_lots.bbl", "group by", "zoning_by_lot"),
    RowCondition("zoning_lots.zoning_district", "group by", "zoning_by_lot"),
    RowCondition("dob_jobs.bbl", "join key", "pluto_lite"),
    RowCondition("dof_pts.bbl", "join key", "pluto_lite"),
    RowCondition("landmarks.bbl", "join key", "pluto_lite"),
    RowCondition("zoning_lots.bbl", "join key", "pluto_lite"),
]


def test_pluto_lite_rows_are_decided_by_the_dedup_and_the_joins_on_bbl(lake: Lakehouse) -> None:
    found = lake.lineage("pluto_lite")
    assert found.rows_decided_by("far") == {"pluto_lite": PLUTO_ROWS}
    rows = found.row_conditions["pluto_lite"]
    assert list(rows) == list(found.columns["pluto_lite"])
    assert all(rows[column] == PLUTO_ROWS for column in rows)


def test_lake_lineage_command(lake: Lakehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(lake.config.project_dir))
    runner = CliRunner()
    result = runner.invoke(app, ["lineage", "pluto_lite", "--column", "far"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "pluto_lite.far <- dof_pts.bldg_area, dof_pts.land_area",
        "  rows decided by:",
        "    distinct in stg_landmarks: landmarks.bbl",
        "    filter in stg_zoning_lots: zoning_lots.zoning_district",
        "    group by in dob_by_lot: dob_jobs.bbl",
        "    filter in lots: dof_pts.bbl, dof_pts.updated_at",
        "    group by in zoning_by_lot: zoning_lots.bbl, zoning_lots.zoning_district",
        "    join key in pluto_lite: dob_jobs.bbl, dof_pts.bbl, landmarks.bbl, zoning_lots.bbl",
    ]
    result = runner.invoke(app, ["lineage", "pluto_lite"])
    assert result.exit_code == 0, result.output
    assert "stg_zoning_lots" in result.output and "dof_pts.year_built" in result.output
    result = runner.invoke(app, ["lineage", "pluto_lite", "--column", "farr"])
    assert result.exit_code == 1
    assert "has no output column 'farr'; its columns are: " in result.output


def test_an_unknown_column_lists_the_known_ones(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match="bldg_age"):
        lake.lineage("pluto_lite").column_sources("nope")
    with pytest.raises(NotFoundError, match="has no output column 'nope'"):
        lake.lineage("pluto_lite").rows_decided_by("nope")


@model(layer="product")
def both_shops(shops: ir.Table) -> ir.Table:
    return shops.union(shops)


def test_a_union_of_stars_is_traced_when_the_tables_columns_are_known() -> None:
    from lakehouse.transform.models import _as_model

    models = {"both_shops": _as_model(both_shops, getattr(both_shops, MODEL_ATTRIBUTE), __name__)}
    compiled = compile_queries(models, {"shops": SCHEMAS["shops"]}, ["both_shops"])
    assert "UNION ALL" in compiled.sql["both_shops"]
    assert compiled.tables == {"shops": ["code", "region"], "both_shops": ["code", "region"]}
    assert column_lineage(compiled.sql, "both_shops", {"shops"}, compiled.tables) == {
        "code": ["shops.code"],
        "region": ["shops.region"],
    }
    # without them, SELECT * on both sides: no column to name; the table lineage still holds
    assert column_lineage(compiled.sql, "both_shops", {"shops"}) == {}
