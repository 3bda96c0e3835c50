"""Recipes (`recipes/<product>.yml`) and their lock files (`recipes/<product>.lock`).

A recipe names a product's owner, the inputs its transforms read (archived datasets, pinned to a
version or `latest`; another product's build output, `{product: p, output: o}`; or a seed, a
small CSV kept in the repo, `{seed: name}`, see transform/seeds.py) and the models it
publishes. A lock pins every input to an exact version and its sha256, so a build from a lock
is reproducible.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from lakehouse.archive.archive import Archive
from lakehouse.errors import ConfigError, IntegrityError, LockError, NewerRecordError, NotFoundError
from lakehouse.names import LATEST, DatasetName, VersionOrLatest, check_dataset_name
from lakehouse.records import Strict, load_yaml_model
from lakehouse.store.storage import replace_whole
from lakehouse.transform.index import find_build
from lakehouse.transform.seeds import (
    SEED_VERSION_DIGITS,
    check_seed_types,
    hash_seed,
    seed_display_name,
)

LOCK_SUFFIX = ".lock"


class DatasetInput(Strict):
    """An archived raw dataset, at a version (`latest` resolves when locking)."""

    dataset: DatasetName
    version: VersionOrLatest = LATEST


class ProductInput(Strict):
    """Another product's built output (`build: latest` resolves when locking)."""

    product: DatasetName
    output: str
    build: str = LATEST


class SeedInput(Strict):
    """A CSV kept in the repo (`seeds/<seed>.csv`), with the ibis types of columns DuckDB
    should not guess."""

    seed: DatasetName
    types: dict[str, str] = Field(default_factory=dict)

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: dict[str, str]) -> dict[str, str]:
        check_seed_types(types)
        return types


RecipeInput = DatasetInput | ProductInput | SeedInput


class Recipe(Strict):
    name: DatasetName
    description: str = ""
    owner: str = Field(min_length=1, description="the product's primary data engineer")
    inputs: dict[str, RecipeInput] = Field(min_length=1)
    outputs: list[str] = Field(min_length=1)
    keep: list[str] = Field(default_factory=list, description="intermediate models to write out")
    # what destinations and packages say of the product (one source of truth; all optional)
    title: str | None = Field(default=None, description="a title for people, e.g. on a portal")
    tags: list[str] | None = None
    cadence: str | None = Field(default=None, description="how often it is updated, e.g. monthly")
    attribution: str | None = Field(default=None, description="who to credit, e.g. the agency")
    license: str | None = None
    # how updates treat the product, not what it is: left out of the recipe a build records
    publish_on_update: bool = Field(
        default=False,
        exclude=True,
        description="`lake update` publishes a build of it that passed (default: a person does)",
    )

    @field_validator("inputs", mode="before")
    @classmethod
    def _short_form(cls, inputs: Any) -> Any:
        """`dof_pts: latest` is short for `dof_pts: {dataset: dof_pts, version: latest}`."""
        if not isinstance(inputs, dict):
            return inputs
        return {
            alias: {"dataset": alias, "version": str(spec)} if isinstance(spec, str | int) else spec
            for alias, spec in inputs.items()
        }


class LockedInput(Strict):
    """An exact input: a dataset version (sha256 of its source bytes), a product's build
    output (`version` is the build id, sha256 the output's content hash), or a seed (sha256
    of its file's bytes, `version` their first 12 hex digits, and the column types)."""

    dataset: str | None = None
    product: str | None = None
    output: str | None = None
    seed: str | None = None
    types: dict[str, str] | None = None
    version: str
    sha256: str

    @model_validator(mode="after")
    def _one_kind(self) -> LockedInput:
        kinds = [self.dataset is not None, self.product is not None, self.seed is not None]
        if sum(kinds) != 1:
            raise ValueError("an input has exactly one of dataset, product or seed")
        if self.product is not None and self.output is None:
            raise ValueError(f"input of product {self.product!r} needs its output")
        return self

    @property
    def name(self) -> str:
        if self.seed is not None:
            return seed_display_name(self.seed)
        return self.dataset or f"{self.product}.{self.output}"


class Lock(Strict):
    product: str
    locked_at: datetime
    inputs: dict[str, LockedInput]

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        header = f"# Written by `lake lock {self.product}`: exact input versions for builds.\n"
        return header + yaml.safe_dump(data, sort_keys=False)


def recipe_path(recipes_dir: Path, product: str) -> Path:
    return recipes_dir / f"{check_dataset_name(product)}.yml"


def load_recipe(recipes_dir: Path, product: str) -> Recipe:
    """Read and validate `recipes/<product>.yml`; errors name the file and the field."""
    path = recipe_path(recipes_dir, product)
    if not path.is_file():
        products = list_recipes(recipes_dir)
        close = difflib.get_close_matches(product, products, n=1)
        if close:
            raise NotFoundError(
                f"No recipe {path}; did you mean {close[0]!r}? (A new product needs a recipe: "
                "see recipes/pluto_lite.yml.)"
            )
        raise NotFoundError(f"No recipe {path}; write one (see recipes/pluto_lite.yml).")
    recipe = load_yaml_model(path, Recipe, "name, owner, inputs and outputs")
    if recipe.name != product:
        raise ConfigError(f"{path}: field 'name' is {recipe.name!r}; make it {product!r}.")
    return recipe


def list_recipes(recipes_dir: Path) -> list[str]:
    """The products with a recipe (`<product>.yml`; `<product>.destinations.yml` is no recipe)."""
    if not recipes_dir.is_dir():
        return []
    return sorted(p.stem for p in recipes_dir.glob("*.yml") if "." not in p.stem)


def resolve_lock(
    recipe: Recipe, archive: Archive, recipes_dir: Path, seeds_dir: Path | None = None
) -> Lock:
    """Pin every input of `recipe` to an exact archived version (resolving `latest`) or, for a
    seed, to the bytes of its file in `seeds_dir` now; an input whose record is damaged is
    refused in a sentence naming the input and the file (the damage of a dataset the recipe
    does not read is no matter)."""
    inputs = {}
    for alias, wanted in recipe.inputs.items():
        try:
            if isinstance(wanted, SeedInput):
                inputs[alias] = _resolve_seed(wanted, seeds_dir)
                continue
            inputs[alias] = _resolve_input(wanted, archive)
        except NotFoundError as exc:
            raise NotFoundError(
                f"{recipe_path(recipes_dir, recipe.name)}: input {alias!r}: {exc}"
            ) from exc
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            raise IntegrityError(f"{recipe.name} input {alias!r}: {exc}") from exc
    return Lock(product=recipe.name, locked_at=datetime.now(UTC), inputs=inputs)


def _resolve_seed(wanted: SeedInput, seeds_dir: Path | None) -> LockedInput:
    if seeds_dir is None:
        raise ConfigError(f"The seed {wanted.seed!r} needs the project's seeds folder.")
    sha256 = hash_seed(seeds_dir, wanted.seed)
    return LockedInput(
        seed=wanted.seed,
        types=dict(wanted.types),
        version=sha256[:SEED_VERSION_DIGITS],
        sha256=sha256,
    )


def _resolve_input(wanted: DatasetInput | ProductInput, archive: Archive) -> LockedInput:
    if isinstance(wanted, DatasetInput):
        manifest = archive.manifest(wanted.dataset, wanted.version)
        return LockedInput(
            dataset=wanted.dataset, version=manifest.version, sha256=manifest.source_sha256
        )
    build = find_build(archive.store, wanted.product, wanted.build, passed_only=True)
    output = build.outputs.get(f"outputs/{wanted.output}")
    if output is None:
        raise NotFoundError(
            f"build {build.build_id} of {wanted.product!r} has no output {wanted.output!r}"
        )
    return LockedInput(
        product=wanted.product,
        output=wanted.output,
        version=build.build_id,
        sha256=output.content_sha256,
    )


def lock_path(recipes_dir: Path, product: str) -> Path:
    return recipes_dir / f"{check_dataset_name(product)}{LOCK_SUFFIX}"


def write_lock(recipes_dir: Path, lock: Lock) -> Path:
    path = lock_path(recipes_dir, lock.product)
    text = lock.to_yaml()
    replace_whole(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return path


def read_lock(recipes_dir: Path, product: str) -> Lock | None:
    path = lock_path(recipes_dir, product)
    if not path.is_file():
        return None
    return load_yaml_model(path, Lock, "product, locked_at and inputs")


def check_lock(lock: Lock, recipe: Recipe, archive: Archive, recipes_dir: Path) -> None:
    """The lock must cover the recipe's inputs, and each pinned version must still hash the same."""
    path = lock_path(recipes_dir, lock.product)
    if lock.product != recipe.name:
        raise LockError(f"{path} is the lock of {lock.product!r}; run `lake lock {recipe.name}`.")
    if set(lock.inputs) != set(recipe.inputs):
        raise LockError(
            f"{path} pins {sorted(lock.inputs)} but the recipe reads {sorted(recipe.inputs)}; "
            f"run `lake lock {recipe.name}` again."
        )
    for alias, pinned in lock.inputs.items():
        wanted = recipe.inputs[alias]
        if not _lock_satisfies(wanted, pinned):
            raise LockError(
                f"{path}: input {alias!r} pins {pinned.name} {pinned.version}, but the recipe now "
                f"asks for {_describe(wanted)}; run `lake lock {recipe.name}` again."
            )
        if isinstance(wanted, SeedInput):
            continue  # its stored copy is checked by the build (`seeds.check_seed_copy`)
        try:
            exact = _resolve_input(_pinned_request(wanted, pinned), archive)
        except NotFoundError as exc:
            raise LockError(f"{path}: input {alias!r}: {exc}") from exc
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            raise IntegrityError(f"{path}: input {alias!r}: {exc}") from exc
        if exact.sha256 != pinned.sha256 or exact.name != pinned.name:
            raise LockError(
                f"{path}: input {alias!r} pins {pinned.name} {pinned.version} with sha256 "
                f"{pinned.sha256[:12]}, but the store holds {exact.name} {exact.version} with "
                f"{exact.sha256[:12]}; the store or the lock was altered: run `lake verify`, "
                f"then `lake lock {recipe.name}`."
            )


def _lock_satisfies(wanted: RecipeInput, pinned: LockedInput) -> bool:
    """Whether a pinned input is what the recipe asks for (same source; same version if fixed;
    a seed with the same column types)."""
    if isinstance(wanted, SeedInput):
        return pinned.seed == wanted.seed and (pinned.types or {}) == wanted.types
    if isinstance(wanted, DatasetInput):
        return pinned.dataset == wanted.dataset and wanted.version in (LATEST, pinned.version)
    return (pinned.product, pinned.output) == (wanted.product, wanted.output) and wanted.build in (
        LATEST,
        pinned.version,
    )


def _describe(wanted: RecipeInput) -> str:
    if isinstance(wanted, SeedInput):
        types = f" with types {wanted.types}" if wanted.types else ""
        return f"{seed_display_name(wanted.seed)}{types}"
    if isinstance(wanted, DatasetInput):
        return f"{wanted.dataset} {wanted.version}"
    return f"{wanted.product}.{wanted.output} build {wanted.build}"


def _pinned_request(
    wanted: DatasetInput | ProductInput, pinned: LockedInput
) -> DatasetInput | ProductInput:
    """The recipe's input, at the version the lock pinned."""
    if isinstance(wanted, DatasetInput):
        return DatasetInput(dataset=pinned.dataset or wanted.dataset, version=pinned.version)
    return ProductInput(
        product=pinned.product or wanted.product,
        output=pinned.output or wanted.output,
        build=pinned.version,
    )
