"""Any version one line away: the notebook API and `lake sql`'s views."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import lakehouse as lh
from lakehouse.cli import app
from lakehouse.errors import NotFoundError
from lakehouse.project import Lakehouse
from tests.projects import make_project


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lake = make_project(tmp_path_factory.mktemp("explore") / "p", lots=200)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    return lake


def test_sources_builds_and_published_versions_are_ibis_tables(lake: Lakehouse) -> None:
    lh.connect(lake.config.project_dir / "lakehouse.toml")
    version = lake.versions("dof_pts")[0].version
    dof = lh.source("dof_pts", version)
    assert dof.count().execute() == lake.versions("dof_pts")[0].row_count
    assert "owner_name" in dof.columns
    built = lh.build("pluto_lite")
    assert built.label == lake.builds("pluto_lite")[-1].build_id
    assert built.table().count().execute() == 200
    published = lh.published("pluto_lite", "25v1")
    frame = published.table("pluto_lite").to_pandas()
    assert len(frame) == 200 and list(frame.columns)[:2] == ["bbl", "borough"]
    polars_frame = lh.published("pluto_lite").table().to_polars()  # latest
    assert polars_frame.height == 200
    assert published.metadata.build_id == built.label
    assert built.metadata == lake.builds("pluto_lite")[-1]  # its build.json, as a record


def test_a_version_that_does_not_exist_lists_the_ones_that_do(lake: Lakehouse) -> None:
    explorer = lh.connect(lake.config.project_dir / "lakehouse.toml")
    version = lake.versions("dof_pts")[0].version
    with pytest.raises(NotFoundError, match=rf"archived versions: {version}"):
        explorer.source("dof_pts", "19990101")
    with pytest.raises(NotFoundError, match=r"published versions: 25v1\."):
        explorer.published("pluto_lite", "24v9")
    with pytest.raises(NotFoundError, match=r"its latest builds: 2026|its latest builds: 20"):
        explorer.build("pluto_lite", "nope")
    with pytest.raises(NotFoundError, match="its outputs: pluto_lite"):
        explorer.published("pluto_lite").table("lots")


def test_lake_sql_sees_every_version_as_a_view(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(lake.config.project_dir))
    runner = CliRunner()
    version = lake.versions("dof_pts")[0].version
    query = (
        "SELECT (SELECT count(*) FROM published.pluto_lite_25v1) AS published, "
        "(SELECT count(*) FROM build.pluto_lite) AS built, "
        f"(SELECT count(*) FROM source.dof_pts_v{version}) AS raw"
    )
    result = runner.invoke(app, ["sql", "-c", query])
    assert result.exit_code == 0, result.output
    raw_rows = lake.versions("dof_pts")[0].row_count
    assert f"│ 200       │ 200   │ {raw_rows} │" in result.output
    piped = ".views\nSELECT count(*) AS n\n  FROM published.pluto_lite;\n"
    result = runner.invoke(app, ["sql"], input=piped)
    assert result.exit_code == 0, result.output
    assert "published.pluto_lite_25v1" in result.output and "│ 200 │" in result.output
    result = runner.invoke(app, ["sql"], input="SELECT nope;\n")
    assert result.exit_code == 1 and "Binder Error" in result.output
    result = runner.invoke(app, ["sql", "-c", "SELECT nope"])
    assert result.exit_code == 1 and "Binder Error" in result.output


def test_versions_whose_view_names_collide_each_keep_a_view_of_their_own(
    tmp_path: Path,
) -> None:
    from lakehouse.config import init_project, load_config
    from lakehouse.explore import Explorer
    from lakehouse.explore.explorer import distinct_view_names

    init_project(tmp_path / "p")
    lake = Lakehouse(load_config(tmp_path / "p" / "lakehouse.toml"))
    for version, rows in (("25v1.1", "a\n1\n"), ("25v1_1", "a\n2\n2\n")):
        source = tmp_path / f"{version}.csv"
        source.write_text(rows)
        lake.ingest("d", file=source, version=version)
    made = Explorer(lake).register_views()
    dotted = next(name for name in made if name.startswith("source.d_v25v1_1_"))
    assert {"source.d_v25v1_1", dotted, "source.d"} <= set(made)  # none replaced another
    explorer = Explorer(lake)
    explorer.register_views()
    assert explorer.sql("SELECT count(*) AS n FROM source.d_v25v1_1").execute()["n"][0] == 2
    assert explorer.sql(f"SELECT count(*) AS n FROM {dotted}").execute()["n"][0] == 1
    # a latest view keeps its plain name against a version that sanitises to it
    names = distinct_view_names([("source", ("d", "v1")), ("source", ("d_v1",))])
    assert names[1] == "d_v1" and names[0].startswith("d_v1_")
