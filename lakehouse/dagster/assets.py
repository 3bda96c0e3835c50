"""The assets: one per source (its ingest) and one per product (lock, then build with its
contracts), each opening the project when it runs.

A source's asset is `raw/<dataset>`, in the group "sources": materializing it is
`lake ingest <dataset>`; finding the same bytes as the latest version is a success too
(metadata `status: unchanged`). A product's asset is `<product>`, in the group "products",
depending on the assets of the datasets and products its recipe reads: materializing it is
`lake lock <product>` (every input re-pinned to its latest version) and `lake build <product>`.
A lakehouse error (a source that cannot be fetched, a contract that fails) fails the asset
with the error's sentence as the failure's description.
"""

# No `from __future__ import annotations` here: Dagster reads the type of a decorated
# function's `context` parameter when the definition is made.

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    asset,
)

from lakehouse.dagster.outline import ProductOutline, ProjectOutline, SourceOutline
from lakehouse.errors import LakehouseError
from lakehouse.project import Lakehouse
from lakehouse.transform.builder import BuildResult

SOURCES_GROUP = "sources"
PRODUCTS_GROUP = "products"
RAW_PREFIX = "raw"

T = TypeVar("T")


def source_key(dataset: str) -> AssetKey:
    return AssetKey([RAW_PREFIX, dataset])


def product_key(product: str) -> AssetKey:
    return AssetKey([product])


def lakehouse_assets(outline: ProjectOutline) -> list[AssetsDefinition]:
    """Every source's asset, then every product's."""
    sources = [source_asset(outline, source) for source in outline.sources.values()]
    products = [product_asset(outline, product) for product in outline.products.values()]
    return sources + products


def source_asset(outline: ProjectOutline, source: SourceOutline) -> AssetsDefinition:
    """The asset whose materialization is the ingest of `source`'s dataset."""
    definition: dict[str, Any] = {"source type": source.source_type, "storage": source.storage}
    if source.cadence:
        definition["cadence"] = source.cadence

    @asset(
        key=source_key(source.dataset),
        group_name=SOURCES_GROUP,
        description=source.description or f"The archived versions of {source.dataset}.",
        metadata=definition,
        kinds={source.source_type, source.storage},
    )
    def ingest(context: AssetExecutionContext) -> MaterializeResult:
        lake = _opened(outline)
        context.log.info(f"fetching {source.dataset}")
        result = _or_failure(lambda: lake.ingest(source.dataset))
        return MaterializeResult(
            metadata={
                "version": result.version,
                "status": result.status,
                "rows": result.manifest.row_count,
                "archived at": result.manifest.archived_at.isoformat(),
            }
        )

    return ingest


def product_asset(outline: ProjectOutline, product: ProductOutline) -> AssetsDefinition:
    """The asset whose materialization locks `product` to the latest versions and builds it."""
    deps = [source_key(d) for d in product.datasets if d in outline.sources]
    deps += [product_key(p) for p in product.products]
    email = product.owner_email

    @asset(
        key=product_key(product.product),
        group_name=PRODUCTS_GROUP,
        deps=deps,
        description=product.description or f"The builds of {product.product}.",
        metadata={"owner": product.owner},
        owners=[email] if email else None,
        kinds={"duckdb"},
    )
    def build(context: AssetExecutionContext) -> MaterializeResult:
        lake = _opened(outline)
        context.log.info(f"locking {product.product} to the latest versions of its inputs")
        lock, lock_path = _or_failure(lambda: lake.lock(product.product))
        context.log.info(f"building {product.product}")
        result = _or_failure(lambda: lake.build(product.product))
        pinned = {alias: found.version for alias, found in lock.inputs.items()}
        lock_file = _shown(lock_path, lake.config.project_dir)
        metadata = {"lock": lock_file, "inputs": pinned, **build_metadata(result)}
        return MaterializeResult(metadata=metadata)

    return build


def build_metadata(result: BuildResult) -> dict[str, Any]:
    """What a build's materialization shows: its id, how many models ran or were reused, and
    its contracts' summary."""
    statuses = [run.status for run in result.models]
    return {
        "build id": result.build_id,
        "models built": statuses.count("built"),
        "models reused": statuses.count("cached"),
        "views": statuses.count("view"),
        "contracts": result.contracts.summary(),
    }


def _shown(path: Path, project_dir: Path) -> str:
    """`path` from the project folder when it is inside it (a lock file: `recipes/p.lock`)."""
    return str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else str(path)


def _opened(outline: ProjectOutline) -> Lakehouse:
    return _or_failure(outline.open)


def _or_failure(work: Callable[[], T]) -> T:
    """`work()`, with a lakehouse error turned into a Dagster failure whose description is the
    error's sentence."""
    try:
        return work()
    except LakehouseError as exc:
        raise Failure(description=str(exc)) from exc
