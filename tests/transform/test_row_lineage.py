"""Row lineage: the join keys, filters and groupings that decide which rows a column has, traced
back to source columns, on a small facilities product written by hand and on SQL alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from lakehouse.transform.lineage import (
    UNTRACED,
    Lineage,
    RowCondition,
    column_lineage,
    describe_rows,
    row_lineage,
)
from tests.conftest import write_template

SITES = (
    "facility_id,name,zip,capacity,status\n"
    "1,Eastside Library,10009,40,open\n"
    "2,Harbor Clinic,11201,25,closed\n"
    "3,Hilltop Shelter,10463,60,open\n"
)
CITY_ZIP_BORO = "zipcode,boro\n10009,Manhattan\n11201,Brooklyn\n10463,Bronx\nno_zip_code,\n"

MODELS = """
from lakehouse.transform import model


@model(layer="staging")
def stg_sites(sites):
    return sites.select(
        facility_id=sites.facility_id,
        name=sites.name.upper(),
        zip=sites.zip.cast("string"),
        capacity=sites.capacity.cast("int64"),
        status=sites.status,
    )


@model(layer="staging")
def stg_zip_boro(city_zip_boro):
    known = city_zip_boro.filter(city_zip_boro.zipcode != "no_zip_code")
    return known.select(zip=known.zipcode, boro=known.boro)


@model(layer="product")
def facilities(stg_sites, stg_zip_boro):
    open_sites = stg_sites.filter(stg_sites.status == "open")
    joined = open_sites.join(stg_zip_boro, open_sites.zip == stg_zip_boro.zip)
    return joined.select("facility_id", "name", borough=joined.boro, capacity=joined.capacity)


@model(layer="product")
def borough_capacity(facilities):
    return facilities.group_by("borough").aggregate(
        sites=facilities.count(), capacity=facilities.capacity.sum()
    )
"""


@pytest.fixture
def facilities_project(lake: Lakehouse, project_dir: Path) -> Lakehouse:
    """Two sources (sites, a zip -> borough lookup) archived, and a product that joins them on
    the zip, keeps the open sites and sums their capacity per borough."""
    for name, text in (("sites", SITES), ("city_zip_boro", CITY_ZIP_BORO)):
        (project_dir / f"{name}.csv").write_text(text, encoding="utf-8")
        write_template(
            project_dir,
            name,
            f"name: {name}\nsource: {{type: file, path: {project_dir / name}.csv}}\n"
            "format: {type: csv}\n",
        )
        lake.ingest(name)
    package = project_dir / "transforms" / "facilities"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    (project_dir / "recipes" / "facilities.yml").write_text(
        "name: facilities\nowner: me\ninputs: {sites: latest, city_zip_boro: latest}\n"
        "outputs: [facilities, borough_capacity]\n"
    )
    return lake


# what decides the rows of every column of `facilities`: the lookup's filter, the zip join (both
# sides) and the filter on the sites' status
FACILITY_ROWS = [
    RowCondition("city_zip_boro.zipcode", "filter", "stg_zip_boro"),
    RowCondition("city_zip_boro.zipcode", "join key", "facilities"),
    RowCondition("sites.zip", "join key", "facilities"),
    RowCondition("sites.status", "filter", "facilities"),
]
GROUPED_ROWS = [*FACILITY_ROWS, RowCondition("city_zip_boro.boro", "group by", "borough_capacity")]


def test_a_joined_column_is_traced_with_the_join_keys_and_filters_that_decide_its_rows(
    facilities_project: Lakehouse,
) -> None:
    found = facilities_project.lineage("facilities")
    assert found.columns["facilities"] == {
        "facility_id": ["sites.facility_id"],
        "name": ["sites.name"],
        "borough": ["city_zip_boro.boro"],
        "capacity": ["sites.capacity"],
    }
    assert found.rows_decided_by("borough") == {
        "facilities": FACILITY_ROWS,
        "borough_capacity": GROUPED_ROWS,
    }
    # a column of the other side of the join gets the lookup's filter too: it decides the join
    assert found.row_conditions["facilities"]["name"] == FACILITY_ROWS


def test_an_aggregate_is_traced_with_its_grouping_keys(facilities_project: Lakehouse) -> None:
    found = facilities_project.lineage("facilities")
    assert found.columns["borough_capacity"] == {
        "borough": ["city_zip_boro.boro"],
        "sites": ["city_zip_boro (rows)", "sites (rows)"],  # a count of the joined rows
        "capacity": ["sites.capacity"],
    }
    assert found.row_conditions["borough_capacity"]["sites"] == GROUPED_ROWS
    assert found.row_conditions["borough_capacity"]["capacity"] == GROUPED_ROWS
    assert describe_rows(GROUPED_ROWS) == [
        "filter in stg_zip_boro: city_zip_boro.zipcode",
        "join key in facilities: city_zip_boro.zipcode, sites.zip",
        "filter in facilities: sites.status",
        "group by in borough_capacity: city_zip_boro.boro",
    ]


def test_lake_lineage_column_prints_the_value_sources_then_what_decides_the_rows(
    facilities_project: Lakehouse, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_dir)
    result = CliRunner().invoke(app, ["lineage", "facilities", "--column", "borough"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "facilities.borough <- city_zip_boro.boro",
        "  rows decided by:",
        "    filter in stg_zip_boro: city_zip_boro.zipcode",
        "    join key in facilities: city_zip_boro.zipcode, sites.zip",
        "    filter in facilities: sites.status",
        "borough_capacity.borough <- city_zip_boro.boro",
        "  rows decided by:",
        "    filter in stg_zip_boro: city_zip_boro.zipcode",
        "    join key in facilities: city_zip_boro.zipcode, sites.zip",
        "    filter in facilities: sites.status",
        "    group by in borough_capacity: city_zip_boro.boro",
    ]


def test_lake_lineage_shows_what_decides_the_rows_of_each_output_once(
    facilities_project: Lakehouse, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_dir)
    result = CliRunner().invoke(app, ["lineage", "facilities"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("rows of facilities decided by:")
    assert lines[start : start + 4] == [
        "rows of facilities decided by:",
        "  filter in stg_zip_boro: city_zip_boro.zipcode",
        "  join key in facilities: city_zip_boro.zipcode, sites.zip",
        "  filter in facilities: sites.status",
    ]
    assert lines[-1] == "  group by in borough_capacity: city_zip_boro.boro"
    assert "also decided by" not in result.output  # every column shares its table's rows


def test_the_conditions_every_column_shares_are_told_apart_from_a_columns_own() -> None:
    found = Lineage("p", [], [])
    found.columns["out"] = {"a": ["s.a"], "b": ["s.b"]}
    lookup = RowCondition("s.key", "join key", "out")
    grouped = RowCondition("s.a", "group by", "side")
    found.row_conditions["out"] = {"a": [lookup, grouped], "b": [lookup]}
    assert found.shared_rows("out") == [lookup]
    assert found.own_rows("out", "a") == [grouped]
    assert found.own_rows("out", "b") == []
    assert found.shared_rows("unknown") == []


TABLES = {"fac": ["Zip Code", "status", "cap"], "zb": ["zip", "boro"], "other": ["zip", "ok"]}


def _rows(sql: str, column: str) -> list[str]:
    return [str(c) for c in row_lineage({"m": sql}, "m", set(TABLES), TABLES)[column]]


def test_filters_having_and_a_subquery_filter_decide_rows_and_names_keep_their_case() -> None:
    sql = (
        'SELECT a."Zip Code", b.boro, COUNT(*) AS n FROM fac AS a JOIN zb AS b '
        'ON a."Zip Code" = b.zip WHERE a.status = 1 AND b.zip IN (SELECT o.zip FROM other AS o '
        "WHERE o.ok) GROUP BY 1, 2 HAVING SUM(a.cap) > 3"
    )
    assert column_lineage({"m": sql}, "m", set(TABLES), TABLES) == {
        "Zip Code": ["fac.Zip Code"],
        "boro": ["zb.boro"],
        "n": ["fac (rows)", "zb (rows)"],
    }
    assert _rows(sql, "n") == [
        "fac.Zip Code (join key in m)",
        "zb.zip (join key in m)",
        "fac.cap (filter in m)",
        "fac.status (filter in m)",
        "other.ok (filter in m)",
        "other.zip (filter in m)",
        "zb.zip (filter in m)",
        "fac.Zip Code (group by in m)",
        "zb.boro (group by in m)",
    ]


def test_a_union_traces_both_sides_and_a_distinct_union_decides_rows() -> None:
    sql = "SELECT b.zip FROM zb AS b UNION SELECT o.zip FROM other AS o"
    assert column_lineage({"m": sql}, "m", set(TABLES), TABLES) == {"zip": ["other.zip", "zb.zip"]}
    assert _rows(sql, "zip") == ["other.zip (distinct in m)", "zb.zip (distinct in m)"]
    all_rows = "SELECT b.zip FROM zb AS b UNION ALL SELECT o.zip FROM other AS o"
    assert _rows(all_rows, "zip") == []


def test_a_query_the_walk_cannot_follow_is_marked_and_so_is_what_reads_it() -> None:
    recursive = (
        "WITH RECURSIVE r AS (SELECT b.zip AS n FROM zb AS b UNION ALL "
        "SELECT r.n FROM r AS r WHERE r.n < 10) SELECT r.n FROM r AS r"
    )
    sql = {"m": recursive, "after": "SELECT m.n, m.n || 'x' AS label FROM m AS m"}
    tables = {**TABLES, "m": ["n"]}
    assert column_lineage(sql, "m", set(TABLES), tables) == {"n": [UNTRACED]}
    assert column_lineage(sql, "after", set(TABLES), tables) == {
        "n": [UNTRACED],
        "label": [UNTRACED],
    }
    assert row_lineage(sql, "after", set(TABLES), tables) == {"n": [], "label": []}
