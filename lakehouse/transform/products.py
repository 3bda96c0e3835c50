"""A product as the project defines it: its recipe and lock (`recipes/`), its models
(`transforms/<product>/`), its data dictionary and contracts (`contracts/<product>/`), read
from the project's folders; building it, and tracing its lineage."""

from __future__ import annotations

from pathlib import Path

from lakehouse.archive.archive import Archive
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.contract import load_contracts
from lakehouse.contracts.dictionary import dictionary_path, load_dictionary
from lakehouse.progress import Progress, no_progress
from lakehouse.provenance import git_state
from lakehouse.store.storage import Store
from lakehouse.transform.builder import Builder, BuildResult, BuildSite, BuildSpec, EngineOptions
from lakehouse.transform.lineage import Lineage, input_schemas, product_lineage
from lakehouse.transform.models import load_models
from lakehouse.transform.recipe import (
    Lock,
    Recipe,
    check_lock,
    load_recipe,
    read_lock,
    resolve_lock,
    write_lock,
)


def product_lock(
    config: LakehouseConfig, archive: Archive, recipe: Recipe, *, latest: bool = False
) -> Lock:
    """The recipe's lock file, checked against the recipe and the archive; without one (or
    with `latest`), the recipe resolved to the latest versions."""
    lock = None if latest else read_lock(config.recipes_dir, recipe.name)
    if lock is None:
        return resolve_lock(recipe, archive, config.recipes_dir)
    check_lock(lock, recipe, archive, config.recipes_dir)
    return lock


def lock_product(config: LakehouseConfig, archive: Archive, product: str) -> tuple[Lock, Path]:
    """Resolve every input of the product's recipe to an exact version and write its lock
    file; returns the lock and the file."""
    lock = resolve_lock(load_recipe(config.recipes_dir, product), archive, config.recipes_dir)
    return lock, write_lock(config.recipes_dir, lock)


def build_spec(
    config: LakehouseConfig, archive: Archive, product: str, *, latest: bool = False
) -> BuildSpec:
    """Everything a build of `product` makes and checks, from the project's folders."""
    recipe = load_recipe(config.recipes_dir, product)
    lock = product_lock(config, archive, recipe, latest=latest)
    models = load_models(config.transforms_dir, product)
    return BuildSpec(
        recipe,
        lock,
        models,
        dictionary=load_dictionary(config.contracts_dir, product),
        dictionary_file=dictionary_path(config.contracts_dir, product),
        contracts=load_contracts(config.contracts_dir, product, set(models)),
    )


def build_product(
    config: LakehouseConfig,
    store: Store,
    archive: Archive,
    product: str,
    *,
    latest: bool = False,
    full_refresh: bool = False,
    progress: Progress = no_progress,
    engine: str = "duckdb",
) -> BuildResult:
    """Build `product` from its lock (or from the latest versions) on `engine`."""
    spec = build_spec(config, archive, product, latest=latest)
    site = BuildSite(store, archive, config.workspace_dir, git_state(config.project_dir), progress)
    options = EngineOptions(engine, config.memory_limit, config.engine.threads)
    return Builder(spec, site, options).run(full_refresh=full_refresh)


def lineage_of(config: LakehouseConfig, store: Store, archive: Archive, product: str) -> Lineage:
    """Table and column lineage of `product`, from its lock (or the latest versions)."""
    recipe = load_recipe(config.recipes_dir, product)
    lock = read_lock(config.recipes_dir, product) or resolve_lock(
        recipe, archive, config.recipes_dir
    )
    models = load_models(config.transforms_dir, product)
    schemas = input_schemas(archive, store, lock)
    return product_lineage(product, models, lock, recipe.outputs, schemas)
