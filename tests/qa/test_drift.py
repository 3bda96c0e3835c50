"""Source QA: profiles and drift between versions, on hand-made tables and on a changed source."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import init_project, load_config
from lakehouse.demo import generate_pluto_lite, write_demo_templates
from lakehouse.errors import NotFoundError
from lakehouse.project import Lakehouse
from lakehouse.qa.drift import QaSettings, Thresholds, source_drift
from lakehouse.qa.profile import profile_table
from tests.projects import change_dof_pts


def drift_of(old_sql: str, new_sql: str, key: list[str] | None = None):  # type: ignore[no-untyped-def]
    con = duckdb.connect()
    con.execute(f"CREATE TABLE old AS {old_sql}")
    con.execute(f"CREATE TABLE new AS {new_sql}")
    return source_drift(
        con, "t", "v1", "v2",
        ("old", profile_table(con, "old")), ("new", profile_table(con, "new")),
        QaSettings(key=key or []),
    )  # fmt: skip


OLD = """SELECT * FROM (VALUES
    ('1', 'a', '10', 'x'), ('2', 'a', '20', 'y'), ('3', 'b', '30', NULL), ('4', 'b', '40', 'w')
) AS t(id, kind, amount, note)"""


def test_a_profile_counts_what_it_should() -> None:
    con = duckdb.connect()
    found = profile_table(con, f"({OLD})")
    assert found.rows == 4
    amount = found.columns["amount"]
    assert (amount.numeric, amount.minimum, amount.maximum, amount.mean) == (True, 10, 40, 25)
    note = found.columns["note"]
    assert (note.non_null, note.distinct, note.numeric) == (3, 3, False)
    assert found.null_rate("note") == 0.25
    assert (note.min_length, note.max_length) == (1, 1)
    assert found.columns["kind"].top == [("a", 2), ("b", 2)]


def test_identical_versions_show_no_drift() -> None:
    drift = drift_of(OLD, OLD, key=["id"])
    assert drift.flags == [] and (drift.added, drift.removed, drift.retyped) == ([], [], [])
    assert all(not c.flags for c in drift.columns)
    assert drift.keys is not None and (drift.keys.kept, drift.keys.added, drift.keys.removed) == (
        4, 0, 0,
    )  # fmt: skip


def test_each_kind_of_change_is_reported() -> None:
    new = """SELECT * FROM (VALUES
        ('2', 'a', '40', 1), ('3', 'b', '60', 2), ('4', 'c', '80', 3), ('5', 'c', '100', 4)
    ) AS t(id, kind, amount, note)"""
    drift = drift_of(OLD, new, key=["id"])
    assert drift.retyped == [("note", "VARCHAR", "INTEGER")]
    assert drift.keys is not None
    assert (drift.keys.added, drift.keys.removed, drift.keys.kept) == (1, 1, 3)
    assert drift.keys.added_sample == [{"id": "5"}] and drift.keys.removed_sample == [{"id": "1"}]
    by_name = {c.column: c for c in drift.columns}
    assert by_name["amount"].flags == ["mean 25 -> 70"]
    assert by_name["note"].null_rate_old == 0.25 and by_name["note"].null_rate_new == 0.0
    assert "null rate 25.0% -> 0.0%" in by_name["note"].flags
    assert by_name["kind"].top == [("a", 2, 1), ("b", 2, 1), ("c", 0, 2)]
    assert "kind: distinct values 2 -> 3" in drift.flags
    assert "keys added: 1 (25.0%)" in drift.flags and "keys removed: 1 (25.0%)" in drift.flags


def test_a_renamed_column_is_recognised() -> None:
    new = OLD.replace("AS t(id, kind, amount, note)", "AS t(id, kind, amount, remark)")
    drift = drift_of(OLD, new)
    assert (drift.removed, drift.added) == (["note"], ["remark"])
    assert drift.renamed == [("note", "remark")]


def test_thresholds_decide_what_is_flagged() -> None:
    new = OLD.replace("'40'", "'44'")  # the mean moves 4%
    con = duckdb.connect()
    old_profile = profile_table(con, f"({OLD})")
    new_profile = profile_table(con, f"({new})")
    from lakehouse.qa.drift import compare

    assert compare("t", "1", "2", old_profile, new_profile, Thresholds()).flags == []
    strict = Thresholds(mean=0.01)
    assert compare("t", "1", "2", old_profile, new_profile, strict).flags == [
        "amount: mean 25 -> 26"
    ]


# -- a changed PLUTO-lite source, re-ingested -------------------------------------------------


@pytest.fixture
def lake(tmp_path: Path) -> Lakehouse:
    init_project(tmp_path)
    generate_pluto_lite(tmp_path / "data", lots=2000, seed=3)
    lake = Lakehouse(load_config(tmp_path / "lakehouse.toml"))
    write_demo_templates(lake.config.templates_dir, tmp_path / "data", tmp_path)
    lake.ingest("dof_pts")
    return lake


def test_source_qa_after_an_ingest_reports_exactly_what_was_changed(lake: Lakehouse) -> None:
    source = Path(lake.config.project_dir) / "data" / "dof_pts.csv"
    before = list(csv.DictReader(io.StringIO(source.read_text())))
    removed_keys, removed_rows = change_dof_pts(source)
    manifest = lake.ingest("dof_pts").manifest
    first = lake.versions("dof_pts")[0]
    # run at ingest, stored with the version
    assert manifest.qa is not None and manifest.qa.against == first.version
    assert manifest.qa.report is not None
    report = Path(lake.store.root) / manifest.qa.report
    assert "column removed: exempt_total" in report.read_text()

    drift = lake.source_qa("dof_pts")
    assert (drift.old_version, drift.new_version) == (first.version, manifest.version)
    assert drift.removed == ["exempt_total"] and drift.added == [] and drift.retyped == []
    assert drift.old_rows - drift.new_rows == len(removed_rows) == len(before) // 100 + 1
    assert drift.keys is not None and drift.keys.key == ["bbl", "updated_at"]
    assert (drift.keys.added, drift.keys.removed) == (0, len(removed_keys))
    assert [tuple(k.values()) for k in drift.keys.removed_sample] == removed_keys[:5]
    assert manifest.qa.flags == drift.flags
    flagged = {flag.split(":")[0] for flag in drift.flags}
    assert flagged == {"column removed", "assessed_land", "keys removed"}, drift.flags
    assert f"keys removed: {len(removed_keys)} (1.0%)" in drift.flags
    by_name = {c.column: c for c in drift.columns}
    land = by_name["assessed_land"]
    assert land.old and land.new and land.new.mean > 1.15 * land.old.mean
    # the boroughs' counts moved by exactly the rows removed from each
    lost = Counter(row["boro"] for row in removed_rows)
    assert {value: old - new for value, old, new in by_name["boro"].top} == {
        boro: lost.get(boro, 0) for boro, _, _ in by_name["boro"].top
    }


def test_lake_qa_source_prints_the_drift(lake: Lakehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    change_dof_pts(Path(lake.config.project_dir) / "data" / "dof_pts.csv")
    monkeypatch.chdir(Path(lake.config.project_dir))
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "dof_pts"])
    assert result.exit_code == 0, result.output
    assert "source QA against" in result.output and "column removed: exempt_total" in result.output
    result = runner.invoke(app, ["qa", "source", "dof_pts"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    assert "! column removed: exempt_total" in result.output
    assert "exempt_total (removed)" in result.output  # in the column table
    first = lake.versions("dof_pts")[0].version
    result = runner.invoke(app, ["qa", "source", "dof_pts", "--version", first])
    assert result.exit_code == 1 and "is its first version" in result.output


def test_comparing_with_a_version_that_does_not_exist_is_a_clear_error(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError):
        lake.source_qa("dof_pts", against="19990101")


def test_keys_with_an_empty_part_match_themselves() -> None:
    rows = "SELECT * FROM (VALUES ('1', NULL), ('2', 'b'), ('3', NULL)) AS t(id, part)"
    drift = drift_of(rows, rows, key=["id", "part"])
    assert drift.keys is not None and (drift.keys.added, drift.keys.removed) == (0, 0)
    assert drift.flags == []


def test_infinite_and_missing_numbers_do_not_swamp_the_statistics() -> None:
    old = "SELECT * FROM (VALUES ('1'), ('2'), ('3')) AS t(x)"
    new = "SELECT * FROM (VALUES ('1'), ('2'), ('inf'), ('NaN')) AS t(x)"
    drift = drift_of(old, new)
    (column,) = drift.columns
    assert column.new is not None and (column.new.maximum, column.new.mean) == (2.0, 1.5)
    from lakehouse.render.qa_reports import drift_bounds, paired_histograms

    con = duckdb.connect()
    con.execute(f"CREATE TABLE o AS {old}")
    con.execute(f"CREATE TABLE n AS {new}")
    found = paired_histograms(con, "o", "n", drift_bounds(drift))
    low, high, before, after = found["x"]
    assert (low, high, sum(before), sum(after)) == (1.0, 3.0, 3, 2)  # inf and NaN left out


def test_a_template_sets_the_key_and_the_thresholds(lake: Lakehouse) -> None:
    template = lake.config.templates_dir / "dof_pts.yml"
    template.write_text(
        template.read_text()
        + "qa:\n  key: [bbl]\n  thresholds: {row_count: 0.001, mean: 10.0, keys: 0.5}\n"
    )
    change_dof_pts(Path(lake.config.project_dir) / "data" / "dof_pts.csv")
    manifest = lake.ingest("dof_pts").manifest
    assert manifest.qa is not None
    flags = manifest.qa.flags
    assert any(flag.startswith("row count 2,002 -> 1,981") for flag in flags)  # 1% > 0.1%
    assert not any(flag.startswith("assessed_land: mean") for flag in flags)  # +22% < 1000%
    assert not any(flag.startswith("keys removed") for flag in flags)  # 1% < 50%
    drift = lake.source_qa("dof_pts")
    assert drift.keys is not None and drift.keys.key == ["bbl"]


def test_a_template_with_a_mistyped_threshold_names_the_field(lake: Lakehouse) -> None:
    from lakehouse.errors import ConfigError

    template = lake.config.templates_dir / "dof_pts.yml"
    template.write_text(template.read_text() + "qa:\n  thresholds: {row_cuont: 0.1}\n")
    with pytest.raises(ConfigError, match=r"qa\.thresholds\.row_cuont"):
        lake.ingest("dof_pts")


# -- geometry columns ----------------------------------------------------------------------------

NYC_POINTS = ["POINT (-73.99 40.73)", "POINT (-73.95 40.65)"]
SHAPES = [*NYC_POINTS, "POLYGON ((-74 40.7, -73.9 40.7, -73.9 40.8, -74 40.7))",
          "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "POINT EMPTY", None]  # fmt: skip


def geometry_table(con: duckdb.DuckDBPyConnection, name: str, wkts: list[str | None],
                   crs: str = "EPSG:4326") -> None:  # fmt: skip
    """A table `name` of (id, geom): the WKT's geometries, tagged with `crs`."""
    from lakehouse.spatial import ensure_spatial

    ensure_spatial(con)
    rows = ", ".join(f"({i}, {'NULL' if w is None else repr(w)})" for i, w in enumerate(wkts))
    con.execute(
        f"CREATE OR REPLACE TABLE {name} AS SELECT id, ST_SetCRS(ST_GeomFromText(w), '{crs}') "
        f"AS geom FROM (VALUES {rows}) AS t(id, w)"
    )


def geometry_drift(old: list[str | None], new: list[str | None], new_crs: str = "EPSG:4326"):  # type: ignore[no-untyped-def]
    con = duckdb.connect()
    geometry_table(con, "old", old)
    geometry_table(con, "new", new, new_crs)
    return source_drift(
        con, "t", "v1", "v2",
        ("old", profile_table(con, "old")), ("new", profile_table(con, "new")), QaSettings(),
    )  # fmt: skip


def test_a_geometry_column_is_profiled_with_its_crs_types_invalid_empty_and_bbox() -> None:
    from lakehouse.qa.profile import GeometryProfile
    from lakehouse.qa.records import ProfileRecord

    con = duckdb.connect()
    geometry_table(con, "shapes", SHAPES)
    profile = profile_table(con, "shapes")
    geom = profile.columns["geom"]
    assert (geom.type, geom.non_null, geom.top, geom.numeric) == ("GEOMETRY", 5, [], False)
    assert geom.geometry == GeometryProfile(
        crs="EPSG:4326",
        types={"POINT": 3, "POLYGON": 2},
        invalid=1,
        empty=1,
        bbox=(-74.0, 0.0, 1.0, 40.8),
    )
    assert profile.columns["id"].geometry is None
    # read back as written; a column without geometry writes no geometry key
    record = ProfileRecord.of(profile)
    assert record.table_profile() == profile
    assert b'"geometry"' in record.to_json() and record.to_json().count(b'"geometry"') == 1


def test_identical_geometry_versions_show_no_drift() -> None:
    drift = geometry_drift(SHAPES, SHAPES)
    assert drift.flags == [] and drift.retyped == []


def test_a_crs_change_is_flagged_once_not_as_a_retyped_column() -> None:
    drift = geometry_drift(NYC_POINTS, NYC_POINTS, new_crs="EPSG:2263")
    assert drift.retyped == []
    assert drift.flags == ["geom: CRS EPSG:4326 -> EPSG:2263"]


def test_geometry_types_invalid_geometries_and_a_bbox_jump_are_flagged() -> None:
    bowtie = "POLYGON ((-74 40.7, -73.9 40.8, -73.9 40.7, -74 40.8, -74 40.7))"
    drift = geometry_drift(NYC_POINTS, [*NYC_POINTS, bowtie])
    assert {
        "geom: geometry types POINT -> POINT, POLYGON",
        "geom: invalid geometries 0 (0.0%) -> 1 (33.3%)",
    } <= set(drift.flags)
    null_island = geometry_drift(NYC_POINTS * 20, [*NYC_POINTS * 20, "POINT (0 0)"])
    assert "geom: bbox [-73.99, 40.65, -73.95, 40.73] -> [-73.99, 0, 0, 40.73]" in (
        null_island.flags
    )
    swapped = geometry_drift(NYC_POINTS, ["POINT (40.73 -73.99)", "POINT (40.65 -73.95)"])
    assert any(flag.startswith("geom: bbox") for flag in swapped.flags)


def test_a_profile_written_before_geometry_profiles_compares_its_crs() -> None:
    import json

    import pyproj

    from lakehouse.qa.drift import compare
    from lakehouse.qa.profile import ColumnProfile, TableProfile

    con = duckdb.connect()
    geometry_table(con, "new", NYC_POINTS, "EPSG:2263")
    new = profile_table(con, "new")
    projjson = json.dumps(pyproj.CRS("EPSG:4326").to_json_dict()).replace("'", "''")
    written_then = ColumnProfile("geom", f"GEOMETRY('{projjson}')", 2, 2)  # its CRS in its type
    old = TableProfile(2, {"id": new.columns["id"], "geom": written_then})
    drift = compare("t", "v1", "v2", old, new, Thresholds())
    assert drift.retyped == [] and drift.flags == ["geom: CRS EPSG:4326 -> EPSG:2263"]


def test_a_wide_table_is_profiled_in_passes_with_every_column_right() -> None:
    """Hundreds of columns are measured COLUMNS_PER_PASS at a time (one pass over all of them
    took gigabytes): each column's figures are still its own, across the passes' edges."""
    import duckdb

    from lakehouse.qa.drift import value_counts
    from lakehouse.qa.profile import COLUMNS_PER_PASS, profile_table

    width = 2 * COLUMNS_PER_PASS + 7
    con = duckdb.connect()
    columns = ", ".join(f"CAST(i * {c} AS VARCHAR) AS c{c}" for c in range(width))
    con.execute(f"CREATE TABLE wide AS SELECT {columns} FROM range(1, 4) AS r(i)")  # i = 1, 2, 3
    profile = profile_table(con, "wide")
    assert profile.rows == 3 and len(profile.columns) == width
    for c in (0, COLUMNS_PER_PASS - 1, COLUMNS_PER_PASS, width - 1):
        column = profile.columns[f"c{c}"]
        assert (column.minimum, column.maximum, column.mean) == (c, 3 * c, 2 * c)
        assert column.distinct == (1 if c == 0 else 3)
        assert dict(column.top)[str(2 * c)] == (3 if c == 0 else 1)
    counted = value_counts(con, "wide", {f"c{c}": [str(c), "0"] for c in range(width)})
    assert counted["c0"] == [3, 3] and counted[f"c{width - 1}"] == [1, 0]


def test_key_overlap_keeps_no_tables_on_the_connection_it_was_given() -> None:
    """Each anti join's rows are kept in a temporary table while they are counted and sampled,
    then dropped: the caller's connection holds only its own tables after."""
    from lakehouse.qa.drift import key_overlap

    con = duckdb.connect()
    con.execute(f"CREATE TABLE old AS {OLD}")
    con.execute(
        "CREATE TABLE new AS SELECT * FROM old WHERE id <> '2' UNION ALL SELECT '9', 'c', '1', NULL"
    )
    for unique in (False, True):
        keys = key_overlap(con, "old", "new", ["id"], unique)
        assert (keys.kept, keys.added, keys.removed) == (3, 1, 1)
        assert (keys.added_sample, keys.removed_sample) == ([{"id": "9"}], [{"id": "2"}])
        found = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        assert {row[0] for row in found} == {"old", "new"}


def test_key_overlap_by_one_full_join_counts_rows_as_the_anti_joins_do() -> None:
    """With the key unique in one version, the full outer join finds the same added and
    removed rows as the two anti joins: a key repeated in the other version counts once per
    row, an empty key part matches itself, and the samples are the same keys."""
    from lakehouse.qa.drift import key_overlap

    con = duckdb.connect()
    # old: unique on (boro, lot), one with an empty lot
    con.execute(
        "CREATE TABLE old AS SELECT * FROM (VALUES ('1', '10'), ('1', '11'), ('2', NULL), "
        "('3', '30'), ('4', '40')) AS t(boro, lot)"
    )
    # new: 1/10 twice (kept), 2/empty (kept: matches itself), 5/50 twice and 6/60 (added
    # rows: 3); 1/11, 3/30 and 4/40 gone (removed rows: 3)
    con.execute(
        "CREATE TABLE new AS SELECT * FROM (VALUES ('1', '10'), ('1', '10'), ('2', NULL), "
        "('5', '50'), ('5', '50'), ('6', '60')) AS t(boro, lot)"
    )
    by_anti_joins = key_overlap(con, "old", "new", ["boro", "lot"])
    by_full_join = key_overlap(con, "old", "new", ["boro", "lot"], unique=True)
    assert (by_full_join.kept, by_full_join.added, by_full_join.removed) == (3, 3, 3)
    assert by_full_join == by_anti_joins
    assert by_full_join.added_sample == [{"boro": "5", "lot": "50"}, {"boro": "6", "lot": "60"}]
