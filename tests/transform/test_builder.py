"""Builds end to end on generated PLUTO-lite sources: locks, caching, reproducibility, errors."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from lakehouse.demo import generate_pluto_lite
from lakehouse.errors import NotFoundError
from lakehouse.project import Lakehouse
from lakehouse.transform.builder import BuildError
from lakehouse.transform.engines import ENGINES
from lakehouse.transform.models import TransformError
from lakehouse.transform.recipe import LockError, lock_path
from lakehouse.transform.records import BuildRecord
from tests.projects import DATASETS, REPO, make_project
from tests.transform.engines.toy import TOY as TOY_ENGINE
from tests.transform.engines.toy import ToyEngine


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lake = make_project(tmp_path_factory.mktemp("built") / "project")
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    return lake


def output_path(lake: Lakehouse, build: BuildRecord) -> Path:
    return (
        Path(lake.store.root)
        / "builds"
        / "pluto_lite"
        / build.build_id
        / "outputs"
        / ("pluto_lite.parquet")
    )


def test_a_build_lands_in_the_standard_folder_with_its_metadata(built: Lakehouse) -> None:
    (first, *_) = built.builds("pluto_lite")
    folder = output_path(built, first).parents[1]
    assert sorted(p.name for p in folder.iterdir()) == [
        "build.json",
        "contracts",
        "outputs",
        "pluto_lite.lock",
    ]
    assert first.status == "passed"
    report = (folder / "contracts" / "report.txt").read_text()
    assert report.startswith("contract report (build): ")
    assert "\nproduct\n" in report
    assert "pass  pluto_lite.bbl: primary key" not in report  # the key rule is the table's
    assert "pass  pluto_lite.pluto_lite: primary key ((bbl) unique and not null)" in report
    assert first.product == "pluto_lite"
    assert first.recipe.owner
    assert set(first.packages) >= {"ibis-framework", "duckdb", "lakehouse"}
    assert set(first.git.model_dump()) == {"commit", "dirty"}
    assert first.order.index("stg_dof_pts") < first.order.index("lots")
    assert first.order[-1] == "pluto_lite"
    statuses = {name: m.status for name, m in first.models.items()}
    assert {name for name, status in statuses.items() if status == "view"} == {
        "stg_dof_pts",
        "stg_zoning_lots",
        "stg_dob_jobs",
        "stg_landmarks",
        "lots",  # PLUTO-lite declares its intermediates views (materialized=False)
        "zoning_by_lot",
        "dob_by_lot",
    }  # staging models are views, computed inside the tables that read them
    assert {name for name, status in statuses.items() if status == "built"} == {"pluto_lite"}
    output = first.outputs["outputs/pluto_lite"]
    table = pq.read_table(output_path(built, first))
    assert output.rows == table.num_rows == 1500
    assert len(output.content_sha256) == 64
    assert {v.dataset for v in first.lock.inputs.values()} == set(DATASETS)
    written = json.loads((folder / "build.json").read_text())
    assert written["schema_version"] == BuildRecord.SCHEMA_VERSION
    assert written["build_id"] == first.build_id


def test_the_build_equals_the_hand_written_sql(built: Lakehouse) -> None:
    spec = importlib.util.spec_from_file_location("reference", REPO / "bench" / "pluto_lite_sql.py")
    assert spec and spec.loader
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    paths = {d: built.store.url(built.manifest(d).data_files[0].path) for d in DATASETS}
    expected = duckdb.connect().execute(reference.pluto_lite_sql(**paths)).to_arrow_table()
    ours = pq.read_table(output_path(built, built.builds("pluto_lite")[0]))
    assert ours.schema == expected.schema
    assert ours.equals(expected)


def test_a_second_build_reuses_every_model(built: Lakehouse) -> None:
    again = built.build("pluto_lite")
    assert again.all_cached
    builds = built.builds("pluto_lite")
    first, last = builds[0], builds[-1]
    assert last.build_id == again.build_id
    assert (
        last.outputs["outputs/pluto_lite"].content_sha256
        == first.outputs["outputs/pluto_lite"].content_sha256
    )


def test_sql_over_a_build(built: Lakehouse) -> None:
    columns, rows = built.sql("pluto_lite", "SELECT count(*) AS n, count(DISTINCT bbl) FROM lots")
    assert columns[0] == "n"
    assert rows == [(1500, 1500)]
    with pytest.raises(NotFoundError, match="no build 'nope'"):
        built.sql("pluto_lite", "SELECT 1", build_id="nope")
    with pytest.raises(BuildError, match="query failed"):
        built.sql("pluto_lite", "SELECT * FROM missing_table")


def test_changing_one_transform_recomputes_it_and_its_dependents(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=300)
    lake.build("pluto_lite")
    product = tmp_path / "p" / "transforms" / "pluto_lite" / "product.py"
    product.write_text(
        product.read_text().replace("return result.select(", "return (result).select(")
    )
    statuses = {run.name: run.status for run in lake.build("pluto_lite").models}
    assert statuses.pop("pluto_lite") == "built"
    assert set(statuses.values()) == {"view"}
    staging = tmp_path / "p" / "transforms" / "pluto_lite" / "staging.py"
    staging.write_text(staging.read_text().replace('lpad(5, "0")', 'lpad(5, "0")  # padded'))
    statuses = {run.name: run.status for run in lake.build("pluto_lite").models}
    rebuilt = {name for name, status in statuses.items() if status == "built"}
    assert rebuilt == {"pluto_lite"}  # zipcode() helps stg_dof_pts, a view read via lots
    refreshed = {run.status for run in lake.build("pluto_lite", full_refresh=True).models}
    assert refreshed == {"built", "view"}


def test_builds_from_two_fresh_roots_have_the_same_content(tmp_path: Path) -> None:
    hashes = []
    for name in ("one", "two"):
        lake = make_project(tmp_path / name, lots=400, seed=3)
        lake.lock("pluto_lite")
        result = lake.build("pluto_lite")
        hashes.append(result.outputs["outputs/pluto_lite"].content_sha256)
    assert hashes[0] == hashes[1]


def test_the_lock_pins_versions_until_relocked(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=200)
    lock, path = lake.lock("pluto_lite")
    assert path == lock_path(tmp_path / "p" / "recipes", "pluto_lite")
    generate_pluto_lite(tmp_path / "p" / "data" / "pluto_lite", lots=250, seed=99)
    lake.ingest("dof_pts")  # a newer version
    newest = lake.manifest("dof_pts").version
    assert newest != lock.inputs["dof_pts"].version
    locked = lake.build("pluto_lite")
    assert (
        json.loads((Path(lake.store.root) / locked.folder / "build.json").read_text())["lock"][
            "inputs"
        ]["dof_pts"]["version"]
        == lock.inputs["dof_pts"].version
    )
    latest = lake.build("pluto_lite", latest=True)
    assert latest.outputs["outputs/pluto_lite"].rows == 250
    assert locked.outputs["outputs/pluto_lite"].rows == 200


def test_a_lock_that_no_longer_matches_the_archive_is_refused(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    _, path = lake.lock("pluto_lite")
    text = path.read_text()
    sha = lake.manifest("landmarks").source_sha256
    path.write_text(text.replace(sha, "f" * 64))
    with pytest.raises(LockError, match="input 'landmarks' pins landmarks"):
        lake.build("pluto_lite")


def test_a_recipe_naming_a_missing_dataset_or_version_is_refused(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    recipe = tmp_path / "p" / "recipes" / "pluto_lite.yml"
    recipe.write_text(recipe.read_text().replace("landmarks: latest", "landmarks: 19990101"))
    with pytest.raises(NotFoundError, match=r"pluto_lite\.yml: input 'landmarks'.*no version"):
        lake.build("pluto_lite")


def test_a_transform_that_raises_leaves_no_build(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    intermediate = tmp_path / "p" / "transforms" / "pluto_lite" / "intermediate.py"
    intermediate.write_text(
        intermediate.read_text().replace(
            "    t = stg_dob_jobs\n", '    t = stg_dob_jobs\n    raise KeyError("oops")\n'
        )
    )
    with pytest.raises(BuildError, match=r"Model 'dob_by_lot' \(intermediate\.py:\d+\) raised"):
        lake.build("pluto_lite")
    assert lake.builds("pluto_lite") == []
    assert not (Path(lake.store.root) / "builds" / "pluto_lite").exists() or not any(
        (Path(lake.store.root) / "builds" / "pluto_lite").iterdir()
    )


def test_a_cycle_and_an_unknown_input_are_named(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    extra = tmp_path / "p" / "transforms" / "pluto_lite" / "loops.py"
    extra.write_text(
        "from lakehouse.transform import model\n\n"
        "@model()\ndef a(b):\n    return b\n\n@model()\ndef b(a):\n    return a\n"
    )
    recipe = tmp_path / "p" / "recipes" / "pluto_lite.yml"
    recipe.write_text(recipe.read_text().replace("keep: []", "keep: [a]"))
    with pytest.raises(TransformError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        lake.build("pluto_lite")
    extra.write_text(
        "from lakehouse.transform import model\n\n"
        "@model()\ndef a(nothing_like_this):\n    return 1\n"
    )
    with pytest.raises(TransformError, match=r"'a' .* reads 'nothing_like_this'"):
        lake.build("pluto_lite")


TOY = """
from lakehouse.transform import model

SCALE = 10


@model(layer="staging")
def stg_numbers(numbers):
    return numbers.select(n=numbers.n.cast("int64"))


def doubled(column):
    return column * 2


@model(layer="intermediate")
def evens(stg_numbers):
    return stg_numbers.select(n=doubled(stg_numbers.n))


@model(layer="intermediate")
def tens(stg_numbers):
    return stg_numbers.select(n=stg_numbers.n * SCALE)


@model(layer="product")
def toy(evens, tens):
    return evens.union(tens).order_by("n")
"""


def test_only_the_changed_table_and_its_dependents_are_recomputed(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("n\n1\n2\n3\n")
    lake.ingest("numbers", file=numbers)
    (project_dir / "transforms" / "toy").mkdir(parents=True)
    (project_dir / "transforms" / "toy" / "__init__.py").write_text("")
    module = project_dir / "transforms" / "toy" / "models.py"
    module.write_text(TOY)
    (project_dir / "recipes" / "toy.yml").write_text(
        "name: toy\nowner: me\ninputs: {numbers: latest}\noutputs: [toy]\n"
    )

    def statuses() -> dict[str, str]:
        return {run.name: run.status for run in lake.build("toy").models}

    assert statuses() == {"stg_numbers": "view", "evens": "built", "tens": "built", "toy": "built"}
    assert statuses() == {
        "stg_numbers": "view",
        "evens": "cached",
        "tens": "cached",
        "toy": "cached",
    }
    module.write_text(TOY.replace("SCALE = 10", "SCALE = 100"))  # a constant tens() uses
    assert statuses() == {"stg_numbers": "view", "evens": "cached", "tens": "built", "toy": "built"}
    module.write_text(TOY.replace("SCALE = 10", "SCALE = 100").replace("column * 2", "column * 4"))
    assert statuses() == {"stg_numbers": "view", "evens": "built", "tens": "cached", "toy": "built"}
    _, rows = lake.sql("toy", "SELECT list(n ORDER BY n) FROM toy")
    assert rows == [([4, 8, 12, 100, 200, 300],)]


def test_a_product_can_read_another_products_build_output(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("n\n1\n2\n")
    lake.ingest("numbers", file=numbers)
    for product, recipe, code in (
        ("toy", "inputs: {numbers: latest}\noutputs: [toy]\n", TOY),
        (
            "toy_total",
            "inputs: {toy: {product: toy, output: toy}}\noutputs: [toy_total]\n",
            "from lakehouse.transform import model\n\n\n@model(layer='product')\n"
            "def toy_total(toy):\n    return toy.aggregate(total=toy.n.sum())\n",
        ),
    ):
        (project_dir / "transforms" / product).mkdir(parents=True)
        (project_dir / "transforms" / product / "__init__.py").write_text(code)
        (project_dir / "recipes" / f"{product}.yml").write_text(
            f"name: {product}\nowner: me\n{recipe}"
        )
    first_toy = lake.build("toy")
    lock, _ = lake.lock("toy_total")
    assert lock.inputs["toy"].version == first_toy.build_id
    assert lock.inputs["toy"].product == "toy"
    lake.build("toy_total")
    assert lake.sql("toy_total", "SELECT total FROM toy_total")[1] == [(2 + 4 + 10 + 20,)]
    module = project_dir / "transforms" / "toy" / "__init__.py"
    module.write_text(TOY.replace("SCALE = 10", "SCALE = 1000"))
    lake.build("toy")
    lake.build("toy_total")  # still the locked build of toy
    assert lake.sql("toy_total", "SELECT total FROM toy_total")[1] == [(36,)]
    lake.build("toy_total", latest=True)
    assert lake.sql("toy_total", "SELECT total FROM toy_total")[1] == [(2 + 4 + 1000 + 2000,)]


def _toy_project(lake: Lakehouse, project_dir: Path, tmp_path: Path, code: str) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("n\n1\n2\n3\n")
    lake.ingest("numbers", file=numbers)
    (project_dir / "transforms" / "toy").mkdir(parents=True, exist_ok=True)
    (project_dir / "transforms" / "toy" / "__init__.py").write_text(code)
    (project_dir / "recipes" / "toy.yml").write_text(
        "name: toy\nowner: me\ninputs: {numbers: latest}\noutputs: [toy]\n"
    )


def test_a_model_that_returns_no_table_is_named(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    code = "from lakehouse.transform import model\n\n@model()\ndef toy(numbers):\n    return 42\n"
    _toy_project(lake, project_dir, tmp_path, code)
    with pytest.raises(BuildError, match=r"Model 'toy' .* returned a int, not a table"):
        lake.build("toy")
    assert not list((Path(lake.store.root) / "workspace").rglob("*.duckdb"))


def test_integer_sums_are_stored_as_the_types_the_model_declares(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    code = (
        "from lakehouse.transform import model\n\n@model()\ndef toy(numbers):\n"
        "    n = numbers.n.cast('int64')\n    return numbers.aggregate(total=n.sum())\n"
    )
    _toy_project(lake, project_dir, tmp_path, code)
    result = lake.build("toy")
    stored = pq.read_schema(Path(lake.store.root) / result.folder / "outputs" / "toy.parquet")
    assert str(stored.field("total").type) == "int64"  # DuckDB's SUM alone would give HUGEINT
    assert lake.sql("toy", "SELECT total FROM toy")[1] == [(6,)]


def test_a_full_refresh_never_overwrites_a_cached_file(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    _toy_project(lake, project_dir, tmp_path, TOY)
    first = lake.build("toy")
    cached = {run.name: run.cache_file for run in first.models if run.cache_file}
    before = {name: (Path(lake.store.root) / path).read_bytes() for name, path in cached.items()}
    refreshed = lake.build("toy", full_refresh=True)
    assert {run.name: run.cache_file for run in refreshed.models if run.cache_file} != cached
    for name, path in cached.items():
        assert (Path(lake.store.root) / path).read_bytes() == before[name]
    assert lake.sql("toy", "SELECT count(*) FROM toy", build_id=first.build_id)[1] == [(6,)]


def test_an_empty_query_is_refused(built: Lakehouse) -> None:
    with pytest.raises(BuildError, match="Give a SQL query"):
        built.sql("pluto_lite", "  ")


def test_a_delta_stored_input_builds_and_answers_sql(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=200)
    template = lake.config.templates_dir / "landmarks.yml"
    template.write_text(template.read_text() + "storage: delta\n")
    generate_pluto_lite(tmp_path / "p" / "data" / "pluto_lite", lots=220, seed=5)
    lake.ingest("landmarks")
    assert lake.manifest("landmarks").storage == "delta"
    result = lake.build("pluto_lite", latest=True)
    assert result.outputs["outputs/pluto_lite"].rows == 200
    _, rows = lake.sql("pluto_lite", "SELECT count(*) FROM landmarks")
    assert rows == [(lake.manifest("landmarks").row_count,)]


def test_a_lock_that_no_longer_fits_the_recipe_is_refused(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    lake.lock("pluto_lite")
    recipe = tmp_path / "p" / "recipes" / "pluto_lite.yml"
    recipe.write_text(recipe.read_text().replace("landmarks: latest", "landmarks: 20200101"))
    with pytest.raises(LockError, match="the recipe now asks for landmarks 20200101"):
        lake.build("pluto_lite")
    recipe.write_text(
        recipe.read_text().replace("landmarks: 20200101", "landmarks: {dataset: dob_jobs}")
    )
    with pytest.raises(LockError, match="asks for dob_jobs latest"):
        lake.build("pluto_lite")


def test_an_unknown_engine_is_a_clear_error(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=300)
    with pytest.raises(BuildError, match="Unknown engine 'flink'; use one of: duckdb, spark"):
        lake.build("pluto_lite", engine="flink")


@pytest.fixture
def toy_engine() -> Iterator[type[ToyEngine]]:
    """The toy engine of tests/transform/engines/toy.py, registered as a plugin's would be."""
    ENGINES.register(TOY_ENGINE)
    ToyEngine.calls.clear()
    try:
        yield ToyEngine
    finally:
        ENGINES.unregister(TOY_ENGINE.name)


def test_an_engine_registered_from_outside_builds_the_product(
    tmp_path: Path, toy_engine: type[ToyEngine]
) -> None:
    lake = make_project(tmp_path / "p", lots=200)
    lake.lock("pluto_lite")
    duck = lake.build("pluto_lite")
    toy = lake.build("pluto_lite", engine="toy")
    # the builder asked the toy engine for every model: nothing reused from the DuckDB build
    assert {run.name: run.status for run in toy.models} == {
        run.name: run.status for run in duck.models
    }
    assert toy_engine.ran("write") == ["pluto_lite"]
    assert toy_engine.ran("view") == [run.name for run in toy.models if run.status == "view"]
    assert set(toy_engine.ran("read")) == {*DATASETS, "pluto_lite"}  # its inputs, its output
    assert [kind for kind, _ in toy_engine.calls if kind in ("open", "close")] == ["open", "close"]
    on_duck, on_toy = (
        json.loads((Path(lake.store.root) / result.folder / "build.json").read_text())
        for result in (duck, toy)
    )
    assert (on_duck["engine"], on_toy["engine"]) == ("duckdb", "toy")
    assert on_toy["packages"]["pytest"] == metadata.version("pytest")  # its packages
    assert "pytest" not in on_duck["packages"]
    for name, model in on_toy["models"].items():  # the engine is part of every fingerprint
        assert model["fingerprint"] != on_duck["models"][name]["fingerprint"]
    key = "outputs/pluto_lite"
    assert on_toy["outputs"][key]["content_sha256"] == on_duck["outputs"][key]["content_sha256"]
    assert on_toy["status"] == "passed" and toy.contracts.passed  # checked on the toy's tables
    assert len(toy.contracts.results) == len(duck.contracts.results)
    # no database of its own (provides_database=False): the builder wrote one for `lake sql`
    query = "SELECT count(*), count(DISTINCT bbl) FROM pluto_lite"
    assert lake.sql("pluto_lite", query, build_id=toy.build_id)[1] == [(200, 200)]
    with pytest.raises(BuildError, match="query failed"):  # views live only in the engine
        lake.sql("pluto_lite", "SELECT * FROM lots", build_id=toy.build_id)
    assert lake.sql("pluto_lite", "SELECT count(*) FROM lots", build_id=duck.build_id)[1] == [
        (200,)
    ]
    # a second build on the toy engine reuses its own results, and the DuckDB build its own
    toy_engine.calls.clear()
    assert lake.build("pluto_lite", engine="toy").all_cached
    assert toy_engine.ran("write") == [] and toy_engine.ran("open") == [""]
    toy_engine.calls.clear()
    assert lake.build("pluto_lite").all_cached
    assert toy_engine.calls == []  # the DuckDB build did not open the toy engine
    ENGINES.unregister(TOY_ENGINE.name)
    with pytest.raises(BuildError, match="Unknown engine 'toy'; use one of: duckdb, spark"):
        lake.build("pluto_lite", engine="toy")
