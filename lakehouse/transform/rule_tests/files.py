"""Rule test files: the YAML format (`transforms/<product>/tests/*.yml`) as pydantic models,
loading a product's tests from them and choosing the tests a `--select` names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from lakehouse.errors import ConfigError, describe_validation_error
from lakehouse.records import Strict, load_yaml_model

TESTS_FOLDER = "tests"  # transforms/<product>/tests/*.yml
DOCS = "docs/new-product.md"


# -- the file format ------------------------------------------------------------------------


class GivenTable(Strict):
    """A given table: rows written in the test, or a CSV file; types for some columns."""

    rows: list[dict[str, Any]] | None = None
    csv: str | None = None  # relative to the test file
    # column -> ibis type: the column's values, written as text, cast to it
    types: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _rows_alone(cls, data: Any) -> Any:
        """`name: [rows]` (or `name:` with nothing) is `name: {rows: [rows]}`."""
        if data is None:
            return {"rows": []}
        return {"rows": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _rows_or_csv(self) -> GivenTable:
        if self.rows is not None and self.csv is not None:
            raise ValueError("give rows or csv, not both")
        return self

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: dict[str, str]) -> dict[str, str]:
        import ibis

        for column, name in types.items():
            try:
                ibis.dtype(name)
            except Exception:
                raise ValueError(
                    f"{column}: {name!r} is not an ibis type (e.g. string, int64, float64, "
                    "decimal(7, 2), boolean, date, timestamp, geometry)"
                ) from None
        return types


class Expectation(Strict):
    """The rows the model under test must return (only the columns they list)."""

    rows: list[dict[str, Any]]
    order: Literal["any", "as_given"] = "any"

    @model_validator(mode="before")
    @classmethod
    def _rows_alone(cls, data: Any) -> Any:
        return {"rows": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _same_columns(self) -> Expectation:
        for number, row in enumerate(self.rows[1:], start=2):
            if set(row) != set(self.rows[0]):
                raise ValueError(
                    f"row {number} lists {', '.join(row) or 'no columns'} but row 1 lists "
                    f"{', '.join(self.rows[0]) or 'no columns'}; list the same columns in "
                    "every row"
                )
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.rows[0]) if self.rows else ()


class RuleTestSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
    description: str | None = None
    model: str
    given: dict[str, GivenTable]
    expect: Expectation


class RuleTestFile(Strict):
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tests: list[dict[str, Any]]  # each validated as a RuleTestSpec, its errors naming it


# -- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleTest:
    """One rule test, as read from its file."""

    product: str
    file: Path
    where: str  # "<file>: test '<name>'", how messages name it
    spec: RuleTestSpec
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def model(self) -> str:
        return self.spec.model


def rule_test_files(transforms_dir: Path, product: str) -> list[Path]:
    """The product's test files, in name order (none when it has no tests/ folder)."""
    folder = transforms_dir / product / TESTS_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def has_rule_tests(transforms_dir: Path, product: str) -> bool:
    return bool(rule_test_files(transforms_dir, product))


def no_tests_message(product: str) -> str:
    return f"no rule tests for {product}: write transforms/{product}/tests/*.yml (see {DOCS})"


def load_rule_tests(transforms_dir: Path, product: str) -> list[RuleTest]:
    """Every rule test of the product, validated; a misspelt field, a missing CSV file or a
    name used twice is a ConfigError naming the file (and the test)."""
    found: dict[str, RuleTest] = {}
    for path in rule_test_files(transforms_dir, product):
        shown = _shown_path(path, transforms_dir)
        document = load_yaml_model(path, RuleTestFile, "tests: (a list of tests)")
        for number, raw in enumerate(document.tests, start=1):
            test = _read_test(path, shown, number, raw, product, document.defaults)
            if test.name in found:
                raise ConfigError(
                    f"{shown}: the test name {test.name!r} is used before, in "
                    f"{_shown_path(found[test.name].file, transforms_dir)}; rename one."
                )
            found[test.name] = test
    return list(found.values())


def _read_test(
    path: Path,
    shown: str,
    number: int,
    raw: Mapping[str, Any],
    product: str,
    defaults: Mapping[str, Mapping[str, Any]],
) -> RuleTest:
    name = raw.get("name")
    label = f"test {name!r}" if isinstance(name, str) and name else f"test {number}"
    try:
        spec = RuleTestSpec(**raw)
    except ValidationError as exc:
        raise ConfigError(f"{shown}: {label}: {describe_validation_error(exc)}.") from exc
    _check_csv_files(path, f"{shown}: {label}", spec)
    return RuleTest(product, path, f"{shown}: {label}", spec, defaults)


def _check_csv_files(path: Path, where: str, spec: RuleTestSpec) -> None:
    """Every CSV file a given table names exists, next to the test file."""
    for given_name, table in spec.given.items():
        if table.csv is not None and not (path.parent / table.csv).is_file():
            raise ConfigError(
                f"{where}: field 'given.{given_name}.csv': there is no file "
                f"{path.parent / table.csv}; write it or fix the path (relative to the test file)."
            )


def _shown_path(path: Path, transforms_dir: Path) -> str:
    """A test file's path from the project folder (transforms/<product>/tests/x.yml)."""
    try:
        return str(path.relative_to(transforms_dir.parent))
    except ValueError:
        return str(path)


def select_rule_tests(tests: Iterable[RuleTest], select: str | None) -> list[RuleTest]:
    """The tests named `select`, or those of the model `select` (all when None)."""
    return [t for t in tests if select is None or select in (t.name, t.model)]
