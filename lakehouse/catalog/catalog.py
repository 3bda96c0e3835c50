"""The catalog: every product and dataset the project knows, read from the recipes, the
archive's manifests and the builds' metadata (nothing to rebuild: it is always current)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.archive.archive import Archive
from lakehouse.contracts.dictionary import Dictionary, load_dictionary
from lakehouse.errors import NotFoundError
from lakehouse.publish.publish import list_published
from lakehouse.publish.records import PublishRecord
from lakehouse.transform.index import list_builds
from lakehouse.transform.recipe import Recipe, list_recipes, load_recipe


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


@dataclass
class DatasetEntry:
    name: str
    versions: list[str] = field(default_factory=list)
    latest: str | None = None
    rows: int | None = None
    source: str | None = None


def _describe_input(spec: Any) -> str:
    if hasattr(spec, "dataset"):
        return f"{spec.dataset} {spec.version}"
    return f"{spec.product}.{spec.output} (build {spec.build})"


def product_entry(recipe: Recipe, archive: Archive, contracts_dir: Path) -> ProductEntry:
    builds = list_builds(archive.store, recipe.name)
    latest = builds[-1] if builds else None
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
        published=list_published(archive.store, recipe.name),
    )


def dataset_entry(name: str, archive: Archive) -> DatasetEntry:
    manifests = archive.versions(name)
    if not manifests:
        return DatasetEntry(name)
    latest = manifests[-1]
    return DatasetEntry(
        name=name,
        versions=[m.version for m in manifests],
        latest=latest.version,
        rows=latest.row_count,
        source=f"{latest.source.type} {latest.source.location}",
    )


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
