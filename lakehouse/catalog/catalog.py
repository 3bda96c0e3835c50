"""The catalog: every product and dataset the project knows, read from the recipes, the
archive's manifests and the builds' metadata (nothing to rebuild: it is always current).

A damaged record (a version's manifest, a build's build.json, a published version's
publish.json, a product's latest.json) is left out of its entry, listed there by name and named
in a `DamagedRecordWarning`; every other entry is whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lakehouse.archive.archive import Archive
from lakehouse.contracts.dictionary import Dictionary, load_dictionary
from lakehouse.errors import NotFoundError
from lakehouse.publish.reading import scan_published
from lakehouse.publish.records import PublishRecord
from lakehouse.transform.index import list_builds
from lakehouse.transform.recipe import Recipe, list_recipes, load_recipe
from lakehouse.transform.seeds import seed_display_name


@dataclass
class ProductEntry:
    name: str
    description: str
    owner: str
    inputs: dict[str, str]  # alias -> what it reads
    outputs: list[str]
    builds: int
    latest_build: str | None
    latest_status: str | None
    dictionary: Dictionary | None = None
    published: list[PublishRecord] = field(default_factory=list)  # oldest first
    damaged_published: list[str] = field(default_factory=list)  # versions: publish.json damaged
    latest_published: str | None = None  # None also while latest.json is damaged


@dataclass
class DatasetEntry:
    name: str
    versions: list[str] = field(default_factory=list)  # those whose manifest reads, oldest first
    latest: str | None = None  # None also while a version is damaged (it could be the latest)
    rows: int | None = None  # of the latest
    extracted_at: datetime | None = None  # of the latest
    source: str | None = None  # of the newest version that reads
    damaged: list[str] = field(default_factory=list)  # versions whose manifest is damaged


def _describe_input(spec: Any) -> str:
    if hasattr(spec, "seed"):
        return f"{seed_display_name(spec.seed)} (seed)"
    if hasattr(spec, "dataset"):
        return f"{spec.dataset} {spec.version}"
    return f"{spec.product}.{spec.output} (build {spec.build})"


def product_entry(recipe: Recipe, archive: Archive, contracts_dir: Path) -> ProductEntry:
    builds = list_builds(archive.store, recipe.name)
    latest = builds[-1] if builds else None
    published = scan_published(archive.store, recipe.name)
    published.warn()
    return ProductEntry(
        name=recipe.name,
        description=recipe.description,
        owner=recipe.owner,
        inputs={alias: _describe_input(spec) for alias, spec in recipe.inputs.items()},
        outputs=list(recipe.outputs),
        builds=len(builds),
        latest_build=latest.build_id if latest else None,
        latest_status=latest.status if latest else None,
        dictionary=load_dictionary(contracts_dir, recipe.name),
        published=published.published,
        damaged_published=[damaged.version for damaged in published.damaged],
        latest_published=published.latest.version if published.latest else None,
    )


def dataset_entry(name: str, archive: Archive) -> DatasetEntry:
    scan = archive.scan_versions(name)
    scan.warn(stacklevel=3)
    entry = DatasetEntry(name, damaged=[damaged.version for damaged in scan.damaged])
    if not scan.manifests:
        return entry
    newest = scan.manifests[-1]
    entry.versions = [m.version for m in scan.manifests]
    entry.source = f"{newest.source.type} {newest.source.location}"
    if not scan.damaged:
        entry.latest, entry.rows = newest.version, newest.row_count
        entry.extracted_at = newest.extracted_at
    return entry


def products(archive: Archive, recipes_dir: Path, contracts_dir: Path) -> list[ProductEntry]:
    return [
        product_entry(load_recipe(recipes_dir, name), archive, contracts_dir)
        for name in list_recipes(recipes_dir)
    ]


def catalog(
    archive: Archive, recipes_dir: Path, contracts_dir: Path
) -> tuple[list[ProductEntry], list[DatasetEntry]]:
    datasets = [dataset_entry(name, archive) for name in archive.datasets()]
    return products(archive, recipes_dir, contracts_dir), datasets


def lookup(
    name: str, archive: Archive, recipes_dir: Path, contracts_dir: Path
) -> ProductEntry | DatasetEntry:
    """One product (by recipe) or dataset (by archive) by name."""
    if name in list_recipes(recipes_dir):
        return product_entry(load_recipe(recipes_dir, name), archive, contracts_dir)
    if name in archive.datasets():
        return dataset_entry(name, archive)
    raise NotFoundError(
        f"Nothing called {name!r} in the catalog; `lake catalog` lists products and datasets."
    )
