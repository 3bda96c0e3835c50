"""Models, their DAG, and code fingerprints that change exactly when the code that matters does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.errors import TransformError
from lakehouse.transform.models import load_models, plan

HELPERS = """
WIDTH = 5
KINDS = {"NB", "A1", "A2", "DM"}


def pad(column, width=WIDTH):
    return column.lpad(width, "0")
"""

MODELS = """
from lakehouse.transform.models import model

from . import helpers
from .helpers import KINDS


@model(layer="staging")
def stg(raw):
    return raw.select(z=helpers.pad(raw.z), kind=raw.kind.isin(sorted(KINDS)))


@model()
def other(raw):
    return raw
"""


def write_package(root: Path, helpers: str = HELPERS, models: str = MODELS) -> Path:
    package = root / "transforms" / "prod"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(helpers)
    (package / "models.py").write_text(models)
    return root / "transforms"


def hashes(transforms: Path) -> dict[str, str]:
    return {name: found.code_hash for name, found in load_models(transforms, "prod").items()}


def test_editing_a_helper_reached_through_its_module_changes_the_fingerprint(
    tmp_path: Path,
) -> None:
    transforms = write_package(tmp_path)
    before = hashes(transforms)
    write_package(tmp_path, helpers=HELPERS.replace('"0"', '"x"'))
    after = hashes(transforms)
    assert after["stg"] != before["stg"]
    assert after["other"] == before["other"]


def test_a_default_argument_constant_is_part_of_the_fingerprint(tmp_path: Path) -> None:
    transforms = write_package(tmp_path)
    before = hashes(transforms)
    write_package(tmp_path, helpers=HELPERS.replace("WIDTH = 5", "WIDTH = 6"))
    assert hashes(transforms)["stg"] != before["stg"]


def test_fingerprints_are_the_same_in_every_process(tmp_path: Path) -> None:
    transforms = write_package(tmp_path)
    code = (
        "import sys; from pathlib import Path; from lakehouse.transform.models import load_models;"
        f"print(load_models(Path({str(transforms)!r}), 'prod')['stg'].code_hash)"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout.strip()
        for seed in (1, 2, 3)
    }  # fmt: skip
    assert len(seen) == 1  # a set constant must not make the fingerprint vary


def test_the_plan_puts_inputs_first_and_names_problems(tmp_path: Path) -> None:
    transforms = write_package(tmp_path)
    models = load_models(transforms, "prod")
    assert plan(models, ["raw"], ["stg"]) == ["stg"]
    with pytest.raises(TransformError, match="asks for 'nope'"):
        plan(models, ["raw"], ["nope"])
    with pytest.raises(TransformError, match="reads 'raw', which is neither"):
        plan(models, [], ["stg"])
    with pytest.raises(TransformError, match="both a recipe input and a model"):
        plan(models, ["raw", "stg"], ["stg"])


def test_a_model_defined_twice_is_refused(tmp_path: Path) -> None:
    transforms = write_package(tmp_path)
    (transforms / "prod" / "more.py").write_text(MODELS)
    with pytest.raises(TransformError, match="defined twice"):
        load_models(transforms, "prod")


def test_an_import_error_names_the_file(tmp_path: Path) -> None:
    transforms = write_package(tmp_path, models="import not_a_module\n")
    with pytest.raises(TransformError, match=r"transforms/prod/models\.py failed"):
        load_models(transforms, "prod")
