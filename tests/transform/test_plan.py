"""`lake plan`: a stale lock is flagged, each reason to rebuild names exactly the models it
rebuilds, and the build right after a plan rebuilds exactly the models the plan listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.project import Lakehouse
from lakehouse.transform.plan import Plan
from lakehouse.transform.records import BuildRecord

HELPERS = """
def plus_one(column):
    return column + 1
"""

MODELS = """
from lakehouse.transform import model
from transforms.common.helpers import plus_one


@model(layer="staging")
def stg_numbers(numbers):
    return numbers.select(n=numbers.n.cast("int64"))


@model(layer="intermediate")
def bumped(stg_numbers):
    return stg_numbers.select(n=plus_one(stg_numbers.n))


@model(layer="intermediate")
def lettered(letters):
    return letters.select(letter=letters.letter)


@model(layer="product")
def prod(bumped, lettered):
    return bumped.cross_join(lettered).order_by(["n", "letter"])
"""

DICTIONARY = """
product: prod
description: numbers and letters
tables:
  prod:
    description: every number with every letter
    columns:
      - name: n
        type: integer
        description: a number plus one
      - name: letter
        type: text
        description: a letter
"""

TABLES = ["bumped", "lettered", "prod"]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def ingest(lake: Lakehouse, tmp_path: Path, dataset: str, text: str) -> str:
    source = tmp_path / f"{dataset}.csv"
    source.write_text(text)
    return lake.ingest(dataset, file=source).manifest.version


@pytest.fixture
def prod(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    return numbers_and_letters(lake, project_dir, tmp_path)


def numbers_and_letters(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """A product of two inputs: a view (stg_numbers), two tables (bumped, using a shared
    helper, and lettered) and the output prod, described by a dictionary; locked, not built."""
    ingest(lake, tmp_path, "numbers", "n\n1\n2\n")
    ingest(lake, tmp_path, "letters", "letter\na\nb\n")
    write(
        project_dir,
        {
            "transforms/__init__.py": "",
            "transforms/common/__init__.py": "",
            "transforms/common/helpers.py": HELPERS,
            "transforms/prod/__init__.py": "",
            "transforms/prod/models.py": MODELS,
            "contracts/prod/dictionary.yml": DICTIONARY,
            "recipes/prod.yml": (
                "name: prod\nowner: me\ninputs: {numbers: latest, letters: latest}\n"
                "outputs: [prod]\n"
            ),
        },
    )
    lake.lock("prod")
    return lake


def plan_then_build(lake: Lakehouse, *, full_refresh: bool = False) -> Plan:
    """The plan, then the build: it rebuilds exactly the models the plan listed."""
    found = lake.plan("prod", full_refresh=full_refresh)
    result = lake.build("prod", full_refresh=full_refresh)
    assert sorted(run.name for run in result.models if run.status == "built") == sorted(
        found.rebuild
    )
    assert sorted(run.name for run in result.models if run.status == "cached") == sorted(
        found.reuse
    )
    assert {run.name: run.fingerprint for run in result.models} == {
        model.name: model.fingerprint for model in found.models
    }
    return found


def reasons(found: Plan) -> dict[str, list[str]]:
    """Each model rebuilt, with the kinds of its reasons."""
    return {
        model.name: [reason.kind for reason in model.reasons]
        for model in found.models
        if model.action == "rebuild"
    }


def details(found: Plan, name: str) -> str:
    (model,) = [model for model in found.models if model.name == name]
    return "; ".join(reason.detail for reason in model.reasons)


def keyed_numbers_and_letters(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """`numbers_and_letters` with a primary key on the output (so it can be published)."""
    numbers_and_letters(lake, project_dir, tmp_path)
    edit(
        project_dir / "contracts" / "prod" / "dictionary.yml",
        "    description: every number with every letter\n",
        "    description: every number with every letter\n    primary_key: [n, letter]\n",
    )
    return lake


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_first_plan_rebuilds_every_table_as_never_built_and_a_second_reuses_them(
    prod: Lakehouse,
) -> None:
    first = plan_then_build(prod)
    assert reasons(first) == {name: ["never_built"] for name in TABLES}
    assert [(m.name, m.action) for m in first.models if m.action == "view"] == [
        ("stg_numbers", "view")
    ]
    assert first.summary() == "3 models to rebuild (lettered, bumped, prod), 0 reused"
    assert first.stale == [] and first.fix is None and first.compared_with is None

    again = plan_then_build(prod)
    assert again.rebuild == [] and sorted(again.reuse) == TABLES
    assert again.summary() == "0 models to rebuild, 3 reused"
    assert again.compared_with == prod.builds("prod")[0].build_id


def test_a_lock_behind_the_archive_is_flagged_stale_with_lake_lock_as_the_fix(
    prod: Lakehouse, tmp_path: Path
) -> None:
    plan_then_build(prod)
    pinned = prod.plan("prod").inputs[0].pinned
    newer = ingest(prod, tmp_path, "numbers", "n\n1\n2\n3\n")

    found = prod.plan("prod")
    assert [(i.alias, i.pinned, i.latest, i.stale) for i in found.inputs] == [
        ("numbers", pinned, newer, True),
        ("letters", found.inputs[1].pinned, found.inputs[1].pinned, False),
    ]
    assert [i.alias for i in found.stale] == ["numbers"] and found.fix == "lake lock prod"
    assert found.stale_lines() == [
        f"numbers: the lock pins numbers {pinned}, but the archive's latest version is "
        f"{newer}; run `lake lock prod` to build from it."
    ]
    assert found.rebuild == []  # the build reads the lock: nothing changed for it
    assert plan_then_build(prod).rebuild == []

    # built from the latest versions (`--latest`), nothing is stale
    assert prod.plan("prod", latest=True).stale == []


def test_a_new_input_version_rebuilds_the_models_that_read_it(
    prod: Lakehouse, tmp_path: Path
) -> None:
    plan_then_build(prod)
    pinned = prod.plan("prod").inputs[0].pinned
    newer = ingest(prod, tmp_path, "numbers", "n\n1\n2\n3\n")
    prod.lock("prod")

    found = plan_then_build(prod)
    assert found.stale == []
    assert reasons(found) == {"bumped": ["input"], "prod": ["input"]}
    assert details(found, "stg_numbers") == f"an input changed (numbers {pinned} -> {newer})"
    assert details(found, "bumped") == "an input changed (stg_numbers)"
    assert details(found, "prod") == "an input changed (bumped)"
    assert found.reuse == ["lettered"]


def test_an_edited_transform_rebuilds_the_model_and_what_reads_it(
    prod: Lakehouse, project_dir: Path
) -> None:
    plan_then_build(prod)
    models = project_dir / "transforms" / "prod" / "models.py"
    edit(models, "select(letter=letters.letter)", "select(letter=letters.letter.upper())")
    found = plan_then_build(prod)
    assert reasons(found) == {"lettered": ["code"], "prod": ["input"]}
    assert details(found, "lettered") == "its code changed (prod.models.lettered)"
    assert details(found, "prod") == "an input changed (lettered)"

    # an edited view: the tables computed from it
    edit(models, 'numbers.n.cast("int64")', 'numbers.n.cast("int64") * 1')
    found = plan_then_build(prod)
    assert reasons(found) == {"bumped": ["input"], "prod": ["input"]}
    assert details(found, "stg_numbers") == "its code changed (prod.models.stg_numbers)"


def test_a_changed_shared_helper_rebuilds_exactly_the_models_that_use_it(
    prod: Lakehouse, project_dir: Path
) -> None:
    plan_then_build(prod)
    edit(project_dir / "transforms" / "common" / "helpers.py", "column + 1", "column + 2")
    found = plan_then_build(prod)
    assert reasons(found) == {"bumped": ["shared_code"], "prod": ["input"]}
    assert details(found, "bumped") == "a shared helper changed (common.helpers.plus_one)"
    assert found.reuse == ["lettered"]


def test_a_changed_dictionary_rebuilds_nothing_and_checks_the_contract_again(
    prod: Lakehouse, project_dir: Path
) -> None:
    plan_then_build(prod)
    (model,) = [m for m in prod.plan("prod").models if m.name == "prod"]
    assert [c.action for c in model.contracts] == ["reuse"]

    edit(project_dir / "contracts" / "prod" / "dictionary.yml", "a letter", "one letter")
    found = plan_then_build(prod)
    assert found.rebuild == []
    (model,) = [m for m in found.models if m.name == "prod"]
    assert [(c.defined_in, c.action) for c in model.contracts] == [("the data dictionary", "check")]
    (model,) = [m for m in prod.plan("prod").models if m.name == "prod"]
    assert [c.action for c in model.contracts] == ["reuse"]  # checked by that build


def test_a_full_refresh_rebuilds_every_table(prod: Lakehouse) -> None:
    plan_then_build(prod)
    found = plan_then_build(prod, full_refresh=True)
    assert reasons(found) == {name: ["full_refresh"] for name in TABLES}


def test_a_model_whose_cached_result_is_gone_is_rebuilt_for_that_reason(
    prod: Lakehouse,
) -> None:
    plan_then_build(prod)
    cache = Path(prod.store.root) / "cache" / "prod" / "lettered"
    for entry in cache.glob("*.json"):
        entry.unlink()
    found = plan_then_build(prod)
    assert reasons(found) == {"lettered": ["cache"]}


def test_a_build_recorded_before_fingerprint_parts_says_changed_since_that_build(
    prod: Lakehouse, project_dir: Path
) -> None:
    plan_then_build(prod)
    (build,) = prod.builds("prod")
    path = Path(prod.store.root) / "builds" / "prod" / build.build_id / "build.json"
    data = json.loads(path.read_text())
    assert data["schema_version"] == BuildRecord.SCHEMA_VERSION
    assert data["models"]["prod"]["parts"] is not None
    del data["schema_version"]  # as a lakehouse before the parts wrote it
    for run in data["models"].values():
        del run["parts"]
    path.write_text(json.dumps(data, indent=2))
    old = BuildRecord.from_json(path.read_bytes(), str(path))
    assert old.schema_version == BuildRecord.SCHEMA_VERSION and old.models["prod"].parts is None

    edit(project_dir / "transforms" / "common" / "helpers.py", "column + 1", "column + 2")
    found = plan_then_build(prod)
    assert reasons(found) == {"bumped": ["changed"], "prod": ["changed"]}
    assert details(found, "bumped") == f"changed since build {build.build_id}"


def test_the_plan_as_json_has_its_documented_shape(prod: Lakehouse, tmp_path: Path) -> None:
    plan_then_build(prod)
    ingest(prod, tmp_path, "numbers", "n\n5\n")
    data = json.loads(prod.plan("prod").to_json())
    assert list(data) == [
        "plan_format",
        "product",
        "engine",
        "full_refresh",
        "lock",
        "compared_with",
        "inputs",
        "stale",
        "fix",
        "models",
        "rebuild",
        "reuse",
    ]
    assert (data["plan_format"], data["product"], data["engine"]) == (1, "prod", "duckdb")
    assert data["lock"].endswith("prod.lock") and data["stale"] == ["numbers"]
    assert data["fix"] == "lake lock prod"
    assert set(data["inputs"][0]) == {"alias", "kind", "name", "pinned", "latest", "fixed", "stale"}
    assert set(data["models"][0]) == {
        "name",
        "layer",
        "action",
        "fingerprint",
        "reasons",
        "contracts",
    }
    assert data["rebuild"] == [] and sorted(data["reuse"]) == TABLES


def test_a_product_input_behind_the_newest_passed_build_is_flagged_stale(
    prod: Lakehouse, project_dir: Path
) -> None:
    plan_then_build(prod)
    write(
        project_dir,
        {
            "transforms/consumer/__init__.py": "",
            "transforms/consumer/models.py": (
                "from lakehouse.transform import model\n\n\n"
                '@model(layer="product")\ndef consumer(made):\n    return made\n'
            ),
            "recipes/consumer.yml": (
                "name: consumer\nowner: me\ninputs: {made: {product: prod, output: prod}}\n"
                "outputs: [consumer]\n"
            ),
        },
    )
    prod.lock("consumer")
    (first,) = prod.builds("prod")
    assert [(i.kind, i.name, i.stale) for i in prod.plan("consumer").inputs] == [
        ("product", "prod.prod", False)
    ]
    edit(project_dir / "transforms" / "common" / "helpers.py", "column + 1", "column + 2")
    newer = prod.build("prod").build_id
    (made,) = prod.plan("consumer").inputs
    assert (made.pinned, made.latest, made.stale) == (first.build_id, newer, True)
    assert prod.plan("consumer").stale_lines() == [
        f"made: the lock pins prod.prod {first.build_id}, but the newest passed build of "
        f"'prod' is {newer}; run `lake lock consumer` to build from it."
    ]
