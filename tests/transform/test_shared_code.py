"""Code shared between products in transforms/common/: imports, fresh reloads, clear errors, and
fingerprints that rebuild exactly the models that use a changed shared helper."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.errors import TransformError
from lakehouse.project import Lakehouse
from lakehouse.transform.builder import evaluate
from lakehouse.transform.models import load_models

NUMBERS = """
from transforms.common import scale


def helper1(column):
    return column + 1


def helper2(column):
    return scale.times(column)
"""

SCALE = """
FACTOR = 10


def times(column):
    return column * FACTOR
"""

ALPHA = """
from lakehouse.transform import model
from transforms.common.numbers import helper1


@model(layer="product")
def alpha(numbers):
    return numbers.select(n=helper1(numbers.n.cast("int64")))
"""

BETA = """
from lakehouse.transform import model
from transforms.common import numbers as shared


@model(layer="product")
def beta(numbers):
    return numbers.select(n=shared.helper2(numbers.n.cast("int64")))
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def two_products(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    """alpha uses common.numbers.helper1; beta uses helper2, which reads common.scale.FACTOR
    through common.scale.times."""
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("n\n1\n2\n3\n")
    lake.ingest("numbers", file=numbers)
    write(
        project_dir / "transforms",
        {
            "__init__.py": "",
            "common/__init__.py": "",
            "common/numbers.py": NUMBERS,
            "common/scale.py": SCALE,
            "alpha/__init__.py": "",
            "alpha/models.py": ALPHA,
            "beta/__init__.py": "",
            "beta/models.py": BETA,
        },
    )
    for product in ("alpha", "beta"):
        (project_dir / "recipes" / f"{product}.yml").write_text(
            f"name: {product}\nowner: me\ninputs: {{numbers: latest}}\noutputs: [{product}]\n"
        )


def build(lake: Lakehouse, product: str) -> tuple[str, list[int]]:
    (run,) = lake.build(product).models
    (row,) = lake.sql(product, f"SELECT list(n ORDER BY n) FROM {product}")[1]
    return run.status, row[0]


def test_a_changed_shared_helper_rebuilds_exactly_the_models_that_use_it(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    two_products(lake, project_dir, tmp_path)
    common = project_dir / "transforms" / "common"
    assert build(lake, "alpha") == ("built", [2, 3, 4])
    assert build(lake, "beta") == ("built", [10, 20, 30])

    (common / "numbers.py").write_text(NUMBERS.replace("column + 1", "column + 100"))
    assert build(lake, "alpha") == ("built", [101, 102, 103])
    assert build(lake, "beta") == ("cached", [10, 20, 30])

    (common / "scale.py").write_text(SCALE.replace("FACTOR = 10", "FACTOR = 1000"))
    assert build(lake, "alpha") == ("cached", [101, 102, 103])
    assert build(lake, "beta") == ("built", [1000, 2000, 3000])

    (common / "numbers.py").write_text(  # a new helper that nobody uses yet
        NUMBERS.replace("column + 1", "column + 100") + "\n\ndef helper3(column):\n    return 0\n"
    )
    assert build(lake, "alpha") == ("cached", [101, 102, 103])
    assert build(lake, "beta") == ("cached", [1000, 2000, 3000])


def test_a_product_imports_common_code_and_its_own_modules(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("n\n1\n2\n")
    lake.ingest("numbers", file=numbers)
    write(
        project_dir / "transforms",
        {
            "__init__.py": "",
            "common/__init__.py": "",
            "common/text.py": "def labelled(column, prefix):\n    return prefix + column\n",
            "toy/__init__.py": "",
            "toy/names.py": 'PREFIX = "lot-"\n',
            "toy/models.py": (
                "from lakehouse.transform import model\n"
                "from transforms.common.text import labelled\n\n"
                "from .names import PREFIX\n\n\n"
                '@model(layer="product")\ndef toy(numbers):\n'
                "    return numbers.select(label=labelled(numbers.n, PREFIX))\n"
            ),
        },
    )
    (project_dir / "recipes" / "toy.yml").write_text(
        "name: toy\nowner: me\ninputs: {numbers: latest}\noutputs: [toy]\n"
    )
    lake.build("toy")
    assert lake.sql("toy", "SELECT label FROM toy ORDER BY label")[1] == [("lot-1",), ("lot-2",)]


SHARED_VALUE = "VALUE = 1\n"
USES_VALUE = """
from lakehouse.transform import model
from transforms.common.values import VALUE


@model()
def m(raw):
    return raw.select(v=raw.x * VALUE)
"""


def values_project(root: Path, value: str = SHARED_VALUE) -> Path:
    write(
        root / "transforms",
        {
            "common/__init__.py": "",
            "common/values.py": value,
            "prod/__init__.py": "",
            "prod/models.py": USES_VALUE,
        },
    )
    return root / "transforms"


def run_m(transforms: Path) -> list[int]:
    table = evaluate(load_models(transforms, "prod"), {"raw": pa.table({"x": [1, 2]})}, "m")
    return list(table.column("v").to_pylist())


def test_each_load_reads_its_own_projects_shared_code_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as by default: .pyc files allowed
    one = values_project(tmp_path / "one")  # no transforms/__init__.py: optional
    two = values_project(tmp_path / "two", "VALUE = 7\n")
    assert run_m(one) == [1, 2]
    assert run_m(two) == [7, 14]
    shared = one / "common" / "values.py"
    written = shared.stat()
    shared.write_text("VALUE = 3\n")  # the same size, and (as within the same second)
    os.utime(shared, ns=(written.st_atime_ns, written.st_mtime_ns))  # the same time
    assert run_m(one) == [3, 6]
    assert not list(tmp_path.rglob("__pycache__"))  # compiled from source, never from a .pyc


def test_the_transforms_folder_is_the_package_transforms_whatever_its_name(
    tmp_path: Path,
) -> None:
    values_project(tmp_path)
    renamed = (tmp_path / "transforms").rename(tmp_path / "code")
    assert run_m(renamed) == [1, 2]


def test_a_broken_import_in_a_shared_module_names_it(tmp_path: Path) -> None:
    transforms = values_project(tmp_path, "import not_a_module\n")
    with pytest.raises(
        TransformError,
        match=(
            r"^Importing transforms/common/values\.py failed: ModuleNotFoundError: No module "
            r"named 'not_a_module' \(line 1; imported by transforms/prod/models\.py\); fix it"
        ),
    ):
        load_models(transforms, "prod")
    (transforms / "common" / "values.py").write_text("VALUE = (\n")
    syntax = r"^Importing transforms/common/values\.py failed: SyntaxError: .*line 1"
    with pytest.raises(TransformError, match=syntax):
        load_models(transforms, "prod")


def test_a_missing_shared_module_says_where_shared_code_goes(tmp_path: Path) -> None:
    transforms = values_project(tmp_path)
    (transforms / "common" / "values.py").unlink()
    with pytest.raises(TransformError) as raised:
        load_models(transforms, "prod")
    assert str(raised.value) == (
        "Importing transforms/prod/models.py failed: ModuleNotFoundError: No module named "
        "'transforms.common.values' (line 3); fix it (--debug shows the traceback). There is "
        "no transforms/common/values.py nor package; code that products share goes in "
        "transforms/common/ (with an __init__.py), imported as "
        "`from transforms.common.<module> import <name>`."
    )


def test_common_is_not_a_product(tmp_path: Path) -> None:
    transforms = values_project(tmp_path)
    with pytest.raises(TransformError, match="holds the code products share, not a product"):
        load_models(transforms, "common")


def fingerprints(transforms: Path) -> dict[str, str]:
    return {name: found.code_hash for name, found in load_models(transforms, "prod").items()}


UDF_HELPERS = '''
import ibis


@ibis.udf.scalar.builtin
def trim(value: str) -> str:
    """The engine's trim."""


def clean(value):
    return trim(value).nullif("")


def shout(value):
    return clean(value).upper()


def whisper(value):
    return clean(value).lower()
'''
UDF_MODELS = """
from lakehouse.transform import model
from transforms.common.text import shout, whisper


@model()
def loud(raw):
    return raw.select(s=shout(raw.s))


@model()
def quiet(raw):
    return raw.select(s=whisper(raw.s))
"""


def test_a_shared_library_udf_ties_no_model_to_the_whole_module(tmp_path: Path) -> None:
    transforms = tmp_path / "transforms"
    write(
        transforms,
        {
            "common/__init__.py": "",
            "common/text.py": UDF_HELPERS,
            "prod/__init__.py": "",
            "prod/models.py": UDF_MODELS,
        },
    )
    before = fingerprints(transforms)
    (transforms / "common" / "text.py").write_text(UDF_HELPERS.replace(".upper()", ".title()"))
    after = fingerprints(transforms)
    assert after["loud"] != before["loud"]
    assert after["quiet"] == before["quiet"]  # ibis's UDF wrapper does not bring in text.py
    (transforms / "common" / "text.py").write_text(
        UDF_HELPERS.replace('"""The engine', '"""The database')
    )
    assert all(fingerprints(transforms)[name] != after[name] for name in after)  # both use trim


CYCLE_A = """
from transforms.common import b


def down(column, n=2):
    return column if n == 0 else b.up(column, n - 1)
"""
CYCLE_B = """
from transforms.common import a

STEP = 1


def up(column, n):
    return a.down(column + STEP, n)
"""
DECORATED = """
import functools


def doubled(func):
    @functools.wraps(func)
    def wrapper(column):
        return func(column) * 2

    return wrapper


@doubled
def plus_one(column):
    return column + 1


class Scaler:
    factor = 3

    def apply(self, column):
        return column * self.factor
"""
CYCLE_MODELS = """
from lakehouse.transform import model
from transforms.common import a
from transforms.common.decorated import Scaler, plus_one


@model()
def cycled(raw):
    return raw.select(x=a.down(raw.x))


@model()
def decorated(raw):
    return raw.select(x=plus_one(raw.x))


@model()
def scaled(raw):
    return raw.select(x=Scaler().apply(raw.x))
"""


def test_shared_code_is_followed_through_cycles_decorators_and_classes(tmp_path: Path) -> None:
    transforms = tmp_path / "transforms"
    files = {
        "common/__init__.py": "",
        "common/a.py": CYCLE_A,
        "common/b.py": CYCLE_B,
        "common/decorated.py": DECORATED,
        "prod/__init__.py": "",
        "prod/models.py": CYCLE_MODELS,
    }
    write(transforms, files)
    models = load_models(transforms, "prod")
    assert evaluate(models, {"raw": pa.table({"x": [1]})}, "cycled").to_pylist() == [{"x": 3}]
    assert evaluate(models, {"raw": pa.table({"x": [1]})}, "decorated").to_pylist() == [{"x": 4}]
    assert evaluate(models, {"raw": pa.table({"x": [1]})}, "scaled").to_pylist() == [{"x": 3}]
    first = fingerprints(transforms)
    changes = {
        "cycled": ("common/b.py", "STEP = 1", "STEP = 2"),
        "decorated": ("common/decorated.py", "* 2", "* 5"),  # the wrapper's body
        "scaled": ("common/decorated.py", "* self.factor", "* self.factor + 0"),
    }
    for changed, (name, old, new) in changes.items():
        write(transforms, {**files, name: files[name].replace(old, new)})
        now = fingerprints(transforms)
        assert {model for model in now if now[model] != first[model]} == {changed}


CUTOFFS = """
import datetime

CUTOFF = datetime.date(2020, 1, 1)
"""

DATED = """
from lakehouse.transform import model
from transforms.common.cutoffs import CUTOFF


@model(layer="product")
def dated(numbers):
    return numbers.select(n=numbers.n.cast("int64"), cutoff=CUTOFF)
"""


def test_a_shared_constant_without_a_plain_text_form_is_followed_to_its_module(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    # a date has no stable text form: the fingerprint takes the whole module that holds it,
    # which must include common/cutoffs.py where it is defined, not only the reader's module
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("n\n1\n")
    lake.ingest("numbers", file=numbers)
    write(
        project_dir / "transforms",
        {"common/__init__.py": "", "common/cutoffs.py": CUTOFFS, "dated/__init__.py": ""},
    )
    write(project_dir / "transforms", {"dated/models.py": DATED})
    (project_dir / "recipes" / "dated.yml").write_text(
        "name: dated\nowner: me\ninputs: {numbers: latest}\noutputs: [dated]\n"
    )
    assert build_cutoff(lake) == ("built", "2020-01-01")
    assert build_cutoff(lake) == ("cached", "2020-01-01")
    cutoffs = project_dir / "transforms" / "common" / "cutoffs.py"
    cutoffs.write_text(CUTOFFS.replace("2020, 1, 1", "2021, 6, 30"))
    assert build_cutoff(lake) == ("built", "2021-06-30")


def build_cutoff(lake: Lakehouse) -> tuple[str, str]:
    (run,) = lake.build("dated").models
    (row,) = lake.sql("dated", "SELECT CAST(cutoff AS VARCHAR) FROM dated")[1]
    return run.status, row[0]
