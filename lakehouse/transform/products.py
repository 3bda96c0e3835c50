"""A product as the project defines it: its recipe and lock (`recipes/`), its models
(`transforms/<product>/`), its data dictionary and contracts (`contracts/<product>/`), read
from the project's folders; building it, and tracing its lineage."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from lakehouse.archive.archive import Archive
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.contract import load_contracts
from lakehouse.contracts.dictionary import dictionary_path, load_dictionary
from lakehouse.errors import LakehouseError
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
from lakehouse.transform.seeds import keep_seed, seed_copy_path, seed_file, seed_schema
from lakehouse.transform.selection import product_order, products_read, select_models


def product_lock(
    config: LakehouseConfig, archive: Archive, recipe: Recipe, *, latest: bool = False
) -> Lock:
    """The recipe's lock file, checked against the recipe and the archive; without one (or
    with `latest`), the recipe resolved to the latest versions."""
    lock = None if latest else read_lock(config.recipes_dir, recipe.name)
    if lock is None:
        return resolve_lock(recipe, archive, config.recipes_dir, config.seeds_dir)
    check_lock(lock, recipe, archive, config.recipes_dir)
    return lock


def lock_product(config: LakehouseConfig, archive: Archive, product: str) -> tuple[Lock, Path]:
    """Resolve every input of the product's recipe to an exact version and write its lock
    file (a seed's pinned bytes are copied into the store first); returns the lock and the
    file."""
    recipe = load_recipe(config.recipes_dir, product)
    lock = resolve_lock(recipe, archive, config.recipes_dir, config.seeds_dir)
    keep_seeds(config, archive.store, lock)
    return lock, write_lock(config.recipes_dir, lock)


def keep_seeds(config: LakehouseConfig, store: Store, lock: Lock) -> None:
    """The store's copy of each seed the lock pins, made from the repo's file if missing."""
    for pinned in lock.inputs.values():
        if pinned.seed is not None:
            keep_seed(store, config.seeds_dir, pinned.seed, pinned.sha256, lock.product)


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
    select: Sequence[str] = (),
) -> BuildResult:
    """Build `product` from its lock (or from the latest versions) on `engine`; with `select`
    (`m`, `m+`, `+m`: see transform/selection.py) only those models, into the cache."""
    spec = build_spec(config, archive, product, latest=latest)
    selected = select_models(spec.models, select, product) if select else []
    keep_seeds(config, store, spec.lock)
    site = BuildSite(store, archive, config.workspace_dir, git_state(config.project_dir), progress)
    options = EngineOptions(engine, config.memory_limit, config.engine.threads)
    return Builder(spec, site, options).run(full_refresh=full_refresh, select=selected)


@dataclass
class ProductOutcome:
    """One product of `build_all`: its build, or the error that stopped it, or the upstream
    product whose failure meant it was not tried."""

    product: str
    result: BuildResult | None = None
    error: LakehouseError | None = None
    skipped_for: str | None = None

    @property
    def passed(self) -> bool:
        return self.result is not None


def build_all(
    config: LakehouseConfig,
    store: Store,
    archive: Archive,
    *,
    latest: bool = False,
    full_refresh: bool = False,
    progress: Progress = no_progress,
    engine: str = "duckdb",
    run_build: Callable[[str, Callable[[], BuildResult]], BuildResult] = lambda _, build: build(),
) -> Iterator[ProductOutcome]:
    """Build every product of the project, each after the products it reads, yielding each
    outcome as it comes; a product whose build fails does not stop the others, but the
    products that read it are skipped (they would read its last passed build otherwise).
    Each build runs as `run_build(product, build)` (an observer's, which reports its start
    before it runs and its end after)."""
    failed: set[str] = set()
    for product in product_order(config.recipes_dir):
        recipe = load_recipe(config.recipes_dir, product)
        upstream = next((p for p in products_read(recipe) if p in failed), None)
        if upstream is not None:
            failed.add(product)
            yield ProductOutcome(product, skipped_for=upstream)
            continue
        build = partial(
            build_product, config, store, archive, product,
            latest=latest, full_refresh=full_refresh, progress=progress, engine=engine,
        )  # fmt: skip
        try:
            result = run_build(product, build)
        except LakehouseError as exc:
            failed.add(product)
            yield ProductOutcome(product, error=exc)
            continue
        yield ProductOutcome(product, result=result)


def lineage_of(config: LakehouseConfig, store: Store, archive: Archive, product: str) -> Lineage:
    """Table and column lineage of `product`, from its lock (or the latest versions)."""
    recipe = load_recipe(config.recipes_dir, product)
    lock = read_lock(config.recipes_dir, product) or resolve_lock(
        recipe, archive, config.recipes_dir, config.seeds_dir
    )
    models = load_models(config.transforms_dir, product)
    archived = {alias: pinned for alias, pinned in lock.inputs.items() if pinned.seed is None}
    schemas = input_schemas(archive, store, lock.model_copy(update={"inputs": archived}))
    schemas.update(seed_schemas(config, store, lock))
    return product_lineage(product, models, lock, recipe.outputs, schemas)


def seed_schemas(config: LakehouseConfig, store: Store, lock: Lock) -> dict[str, dict[str, str]]:
    """The columns (name -> ibis type) of each seed the lock pins, from the store's copy of the
    pinned bytes, or the repo's file while no build or lock has copied it yet."""
    from lakehouse.transform.engines.duckdb import ibis_type

    schemas = {}
    for alias, pinned in lock.inputs.items():
        if pinned.seed is None:
            continue
        types = pinned.types or {}
        path = seed_copy_path(pinned.seed, pinned.sha256)
        if store.exists(path):
            columns = seed_schema(store, store.url(path), types)
        else:
            columns = seed_schema(None, str(seed_file(config.seeds_dir, pinned.seed)), types)
        schemas[alias] = {name: ibis_type(kind) for name, kind in columns.items()}
    return schemas
