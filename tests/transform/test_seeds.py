"""Seeds: a CSV kept in the repo is an input without an ingest, pinned in the lock by its bytes'
sha256; a build of the lock reads the pinned bytes (kept in the store) even after the file is
edited, and `lake plan` flags the lock as stale until `lake lock` pins the new bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse.errors import ConfigError, IntegrityError, NotFoundError
from lakehouse.project import Lakehouse
from lakehouse.transform.seeds import seed_copy_path

MODELS = """
from lakehouse.transform import model


@model(layer="product")
def offices(sites, borough_names):
    named = sites.left_join(borough_names, sites.boro.cast("int64") == borough_names.code)
    return named.select(site=named.site, borough=named.name, zip=named.zip)
"""

BOROUGHS = "code,name,zip\n1,Manhattan,00501\n2,Bronx,10451\n"
RECIPE = """name: offices
owner: me
inputs:
  sites: latest
  borough_names: {seed: borough_names, types: {zip: string}}
outputs: [offices]
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def offices(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    source = tmp_path / "sites.csv"
    source.write_text("site,boro\nA,1\nB,2\nC,3\n")
    lake.ingest("sites", file=source)
    write(
        project_dir,
        {
            "transforms/__init__.py": "",
            "transforms/offices/__init__.py": "",
            "transforms/offices/models.py": MODELS,
            "seeds/borough_names.csv": BOROUGHS,
            "recipes/offices.yml": RECIPE,
        },
    )
    return lake


def rows(lake: Lakehouse) -> list[dict[str, object]]:
    result = lake.build("offices")
    path = Path(lake.store.root) / result.folder / "outputs" / "offices.parquet"
    return sorted(pq.read_table(path).to_pylist(), key=lambda row: str(row["site"]))


def test_a_seed_is_pinned_by_its_bytes_and_read_with_its_types(
    offices: Lakehouse, project_dir: Path
) -> None:
    lock, lock_file = offices.lock("offices")
    pinned = lock.inputs["borough_names"]
    sha256 = hashlib.sha256(BOROUGHS.encode()).hexdigest()
    assert (pinned.seed, pinned.sha256, pinned.version) == ("borough_names", sha256, sha256[:12])
    assert pinned.types == {"zip": "string"}
    assert "seed: borough_names" in lock_file.read_text()
    assert offices.store.exists(seed_copy_path("borough_names", sha256))
    assert rows(offices) == [
        {"site": "A", "borough": "Manhattan", "zip": "00501"},  # text: the leading zeros kept
        {"site": "B", "borough": "Bronx", "zip": "10451"},
        {"site": "C", "borough": None, "zip": None},
    ]


def test_an_edited_seed_makes_the_lock_stale_and_the_old_lock_still_builds_the_old_bytes(
    offices: Lakehouse, project_dir: Path
) -> None:
    offices.lock("offices")
    first = rows(offices)
    seed = project_dir / "seeds" / "borough_names.csv"
    seed.write_text(BOROUGHS.replace("Bronx", "The Bronx"))

    plan = offices.plan("offices")
    (stale,) = plan.stale
    assert (stale.alias, stale.kind) == ("borough_names", "seed")
    assert stale.latest == hashlib.sha256(seed.read_bytes()).hexdigest()[:12]
    assert plan.fix == "lake lock offices"
    assert rows(offices) == first  # the lock's bytes, from the store's copy

    offices.lock("offices")
    plan = offices.plan("offices")
    assert plan.stale == [] and plan.rebuild == ["offices"]
    (model,) = plan.models
    assert [reason.kind for reason in model.reasons] == ["input"]
    assert rows(offices)[1]["borough"] == "The Bronx"


def test_a_missing_seed_file_is_named_with_the_closest_one(
    offices: Lakehouse, project_dir: Path
) -> None:
    (project_dir / "seeds" / "borough_names.csv").rename(project_dir / "seeds" / "boro_names.csv")
    with pytest.raises(
        NotFoundError, match=r"No seed file .*borough_names\.csv; did you mean 'boro_names'"
    ):
        offices.lock("offices")


def test_a_type_that_is_not_one_is_refused_naming_the_recipe_field(
    offices: Lakehouse, project_dir: Path
) -> None:
    write(project_dir, {"recipes/offices.yml": RECIPE.replace("zip: string", "zip: text5")})
    with pytest.raises(ConfigError, match=r"offices\.yml.*borough_names.*'text5' is not a type"):
        offices.lock("offices")


def test_a_changed_copy_in_the_store_stops_the_build(offices: Lakehouse) -> None:
    lock, _ = offices.lock("offices")
    copy = Path(offices.store.root) / seed_copy_path(
        "borough_names", lock.inputs["borough_names"].sha256
    )
    copy.write_text(BOROUGHS.replace("Manhattan", "Mannahatta"))
    with pytest.raises(IntegrityError, match="does not hash as its name says"):
        offices.build("offices")


def test_lineage_traces_a_column_to_the_seed(offices: Lakehouse) -> None:
    offices.lock("offices")
    found = offices.lineage("offices")
    assert found.columns["offices"]["borough"] == ["borough_names.name"]
    sources = {node.name: node.detail for node in found.nodes if node.layer == "source"}
    assert sources["borough_names"].startswith("seeds/borough_names.csv ")


def test_verify_checks_the_seed_copies(offices: Lakehouse) -> None:
    lock, _ = offices.lock("offices")
    assert offices.verify().ok
    sha256 = lock.inputs["borough_names"].sha256
    (Path(offices.store.root) / seed_copy_path("borough_names", sha256)).write_text("code\n9\n")
    report = offices.verify()
    (problem,) = report.corrupt
    assert problem.path == seed_copy_path("borough_names", sha256)
    assert "does not hash as its name says" in problem.reason
