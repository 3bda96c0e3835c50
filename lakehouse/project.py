"""`Lakehouse`: the one object that the CLI, notebooks and tests drive.

import lakehouse
lake = lakehouse.open()            # finds lakehouse.toml from the current folder
lake.ingest("dof_pts")
lake.versions("dof_pts")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.archive import Archive, IngestResult
from lakehouse.archive.manifest import Manifest
from lakehouse.archive.project_datasets import (
    compare_dataset_versions,
    ingest_dataset,
    write_dataset_report,
)
from lakehouse.archive.template import IngestTemplate, list_templates, load_template_for
from lakehouse.catalog.catalog import DatasetEntry, ProductEntry, catalog, lookup, products
from lakehouse.catalog.verify import VerifyReport, verify_archive
from lakehouse.config import LakehouseConfig, init_project, load_config
from lakehouse.contracts.contract import ContractReport
from lakehouse.names import LATEST
from lakehouse.openlineage import RunObserver
from lakehouse.progress import Progress, no_progress
from lakehouse.qa.drift import SourceDrift
from lakehouse.store.storage import Store
from lakehouse.transform.builder import BuildResult
from lakehouse.transform.index import (
    check_build,
    list_builds,
    query_build,
)
from lakehouse.transform.lineage import Lineage
from lakehouse.transform.plan import Plan, plan_product
from lakehouse.transform.products import (
    ProductOutcome,
    build_all,
    build_product,
    lineage_of,
    lock_product,
)
from lakehouse.transform.recipe import Lock, Recipe, load_recipe

if TYPE_CHECKING:
    import pyarrow as pa

    from lakehouse.catalog.docs import DocsSite
    from lakehouse.catalog.gc import GcPlan, GcResult
    from lakehouse.distribute.distribute import Outcome
    from lakehouse.distribute.records import DistributionRecord
    from lakehouse.publish.package import Packaged
    from lakehouse.publish.records import PublishRecord
    from lakehouse.qa.diff import BuildDiff
    from lakehouse.transform.records import BuildRecord
    from lakehouse.transform.rule_tests import RuleTestResult


class Lakehouse:
    """A project: its configuration, its store and its archive."""

    def __init__(self, config: LakehouseConfig) -> None:
        self.config = config
        self.store = Store(config.store_root, config.store.s3)
        self.archive = Archive(self.store)
        self.observer = RunObserver(config, self.archive)  # OpenLineage run events, if on

    def __repr__(self) -> str:
        return f"Lakehouse(project={str(self.config.project_dir)!r}, store={self.store.root!r})"

    def template(self, dataset: str) -> IngestTemplate:
        return load_template_for(self.config.templates_dir, dataset)

    def templates(self) -> list[str]:
        return list_templates(self.config.templates_dir)

    def ingest(
        self,
        dataset: str,
        *,
        file: Path | None = None,
        version: str | None = None,
        progress: Progress = no_progress,
        dry_run: bool = False,
    ) -> IngestResult:
        """Archive the dataset's source (or `file`, a local copy of it) as a new version (with
        `dry_run`: fetch and check it, archive nothing, and say what would be archived).
        With `[openlineage]` on, it sends its run events (not for a dry run)."""

        def ingest() -> IngestResult:
            return ingest_dataset(
                self.config, self.archive, dataset,
                file=file, version=version, progress=progress, dry_run=dry_run,
            )  # fmt: skip

        return self.observer.ingest(dataset, ingest, dry_run=dry_run)

    def datasets(self) -> list[str]:
        return self.archive.datasets()

    def versions(self, dataset: str) -> list[Manifest]:
        return self.archive.versions(dataset)

    def manifest(self, dataset: str, version: str = LATEST) -> Manifest:
        return self.archive.manifest(dataset, version)

    def source_qa(
        self, dataset: str, version: str = LATEST, against: str | None = None
    ) -> SourceDrift:
        """What changed in a dataset version against another (default: the version before):
        schema, rows, per-column statistics and top values, keys added and removed."""
        return compare_dataset_versions(self.config, self.archive, dataset, version, against)

    def read(self, dataset: str, version: str = LATEST, limit: int | None = None) -> pa.Table:
        return self.archive.read(dataset, version, limit)

    # -- recipes, locks and builds ---------------------------------------------------------

    def recipe(self, product: str) -> Recipe:
        return load_recipe(self.config.recipes_dir, product)

    def lock(self, product: str) -> tuple[Lock, Path]:
        """Resolve every input of the recipe to an exact version and write the lock file."""
        return lock_product(self.config, self.archive, product)

    def build(
        self,
        product: str,
        *,
        latest: bool = False,
        full_refresh: bool = False,
        progress: Progress = no_progress,
        engine: str = "duckdb",
        select: Sequence[str] = (),
    ) -> BuildResult:
        """Build the product from its lock (or from the latest versions, if no lock or `latest`),
        on DuckDB or on another engine of `lakehouse.transform.engines.ENGINES` (e.g.
        `engine="spark"`: the same transforms on Spark). With `select` (`["m+"]`, see
        `lakehouse.transform.selection`), only those models run, into the cache: no build is
        recorded. With `[openlineage]` on, it sends its run events (not for a selection)."""

        def build() -> BuildResult:
            return build_product(
                self.config, self.store, self.archive, product,
                latest=latest, full_refresh=full_refresh, progress=progress, engine=engine,
                select=select,
            )  # fmt: skip

        return self.observer.build(product, build, latest=latest, selection=bool(select))

    def build_all(
        self,
        *,
        latest: bool = False,
        full_refresh: bool = False,
        progress: Progress = no_progress,
        engine: str = "duckdb",
    ) -> Iterator[ProductOutcome]:
        """Build every product, each after the products it reads; yields each outcome (a
        failed product's readers are skipped, the others go on). With `[openlineage]` on,
        each product built sends START as its build begins and COMPLETE or FAIL as it ends."""

        def observed(product: str, build: Callable[[], BuildResult]) -> BuildResult:
            return self.observer.build(product, build, latest=latest)

        return build_all(
            self.config, self.store, self.archive,
            latest=latest, full_refresh=full_refresh, progress=progress, engine=engine,
            run_build=observed,
        )  # fmt: skip

    def plan(
        self,
        product: str,
        *,
        latest: bool = False,
        full_refresh: bool = False,
        engine: str = "duckdb",
        select: Sequence[str] = (),
    ) -> Plan:
        """What `build` (with the same options) would do, without running a model: the lock's
        stale inputs, and each model rebuilt, reused or a view, with why it is rebuilt."""
        return plan_product(
            self.config, self.store, self.archive, product,
            latest=latest, full_refresh=full_refresh, engine=engine, select=select,
        )  # fmt: skip

    def test(self, product: str, select: str | None = None) -> list[RuleTestResult]:
        """Run the product's rule tests (`transforms/<product>/tests/*.yml`, see
        `lakehouse.transform.rule_tests`): hand-written rows through its models."""
        from lakehouse.transform.rule_tests import run_rule_tests

        return run_rule_tests(self.config.transforms_dir, product, select)

    def lineage(self, product: str) -> Lineage:
        """Table and column lineage of a product, from its lock (or the latest versions)."""
        return lineage_of(self.config, self.store, self.archive, product)

    def docs(self, folder: Path | None = None) -> DocsSite:
        """Write the static documentation site (default: <workspace>/docs)."""
        from lakehouse.catalog.docs import write_project_docs

        return write_project_docs(self.config, self.store, self.archive, folder)

    def diff(
        self,
        product: str,
        old: str | None = None,
        new: str | None = None,
        *,
        detail: bool = True,
    ) -> BuildDiff:
        """What changed between two builds or published versions, by the dictionary's primary
        key. `new` defaults to the latest build; `old` to the latest published version (if it
        is another build), else the build before. See `build_side` for the names. Without
        `detail`, the counts only (no samples, numeric or geometry shifts): quicker."""
        from lakehouse.publish.diffs import compare

        return compare(
            self.store, self.config.contracts_dir, product, old, new,
            self.config.workspace_dir, detail=detail,
        )[0]  # fmt: skip

    def source_report(
        self,
        dataset: str,
        version: str = LATEST,
        against: str | None = None,
        out: Path | None = None,
    ) -> Path:
        """Write the source QA of a version as an HTML report (default: into the workspace,
        `qa/<dataset>/<version>-against-<other>.html`; archived versions are never touched)."""
        return write_dataset_report(self.config, self.archive, dataset, version, against, out)

    def diff_report(
        self, product: str, old: str | None = None, new: str | None = None
    ) -> tuple[str, BuildDiff]:
        """Write a build diff as an HTML report into the newer build's folder
        (`qa/diff-<older build>.html`, with the diff as JSON beside it); returns its URL and
        the diff."""
        from lakehouse.publish.diffs import report_diff

        return report_diff(
            self.store, self.config.contracts_dir, product, old, new, self.config.workspace_dir
        )

    # -- publishing --------------------------------------------------------------------------

    def publish(
        self, product: str, version: str | None = None, build_id: str | None = None
    ) -> PublishRecord:
        """Publish a build (default: the latest) as `version` (default: the next free number of
        the year, e.g. 26v3); refused unless its contracts passed and it has a QA report, and
        never over an existing version. With `[openlineage]` on, it sends its run events."""
        from lakehouse.publish.publish import publish_build

        def publish() -> PublishRecord:
            return publish_build(self.store, product, build_id, version)

        return self.observer.publish(product, build_id, publish)

    def published(self, product: str) -> list[PublishRecord]:
        """Every published version of a product, oldest first."""
        from lakehouse.publish.publish import list_published

        return list_published(self.store, product)

    def promote(self, product: str, version: str, to_env: str) -> PublishRecord:
        """Copy a published version from this environment to `to_env`, unchanged."""
        from lakehouse.publish.publish import promote_to_env

        return promote_to_env(self.config, self.store, product, version, to_env)

    def package(
        self, product: str, version: str, fmt: str = "parquet", out: Path | None = None
    ) -> Packaged:
        """Write a handoff zip of a published version (default: into the workspace,
        `packages/<product>-<version>-<format>.zip`); the same version and format always give
        the same bytes."""
        from lakehouse.publish.package import package_published

        return package_published(self.config, self.store, product, version, fmt, out)

    def distribute(
        self,
        product: str,
        *,
        version: str = LATEST,
        to: Sequence[str] = (),
        dry_run: bool = False,
        force: bool = False,
        progress: Progress = no_progress,
    ) -> Iterator[Outcome]:
        """Send a published version to the product's destinations (all, or those `to` names),
        yielding each destination's outcome; a dry run only says what would change."""
        from lakehouse.distribute.distribute import distribute

        return distribute(
            self.config, self.store, product,
            version=version, to=to, dry_run=dry_run, force=force, progress=progress,
        )  # fmt: skip

    def distributions(self, product: str) -> list[DistributionRecord]:
        """Every distribution of the product, oldest first."""
        from lakehouse.distribute.records import distributions

        return distributions(self.store, product)

    def metadata(self, product: str, fmt: str = "md", target: Path | None = None) -> Path:
        """Write the product's metadata and data dictionary for people (md or xlsx)."""
        from lakehouse.distribute.metadata import write_metadata

        return write_metadata(self.config, product, fmt, target)  # type: ignore[arg-type]

    def gc_plan(self, keep: int | None = None) -> GcPlan:
        """What `lake gc` would remove (old builds beyond the last `keep` per product, by
        default `[gc] keep_builds`; cache entries nothing needs; what dead runs left), and
        why; nothing is removed."""
        from lakehouse.catalog.gc import plan_gc

        return plan_gc(self.config, self.store, self.archive, keep)

    def gc(self, plan: GcPlan) -> GcResult:
        """Remove what `plan` lists (never an archived or published version); anything a live
        writer took since the plan was made is skipped."""
        from lakehouse.catalog.gc import apply_gc

        return apply_gc(plan, self.store)

    def builds(self, product: str) -> list[BuildRecord]:
        return list_builds(self.store, product)

    def check(
        self, product: str, *, build_id: str | None = None
    ) -> tuple[BuildRecord, ContractReport]:
        """Re-run a product's contracts on a build (default: the latest)."""
        return check_build(self.store, self.config.contracts_dir, product, build_id)

    def catalog(self) -> tuple[list[ProductEntry], list[DatasetEntry]]:
        """Every product (recipes) and dataset (archive), with their latest state."""
        return catalog(self.archive, self.config.recipes_dir, self.config.contracts_dir)

    def products(self) -> list[ProductEntry]:
        """Every product with a recipe, with its latest build."""
        return products(self.archive, self.config.recipes_dir, self.config.contracts_dir)

    def catalog_entry(self, name: str) -> ProductEntry | DatasetEntry:
        return lookup(name, self.archive, self.config.recipes_dir, self.config.contracts_dir)

    def sql(
        self, product: str, query: str, *, build_id: str | None = None, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query on a build's DuckDB database (read-only); returns column names and rows."""
        return query_build(self.store, product, query, build_id=build_id, limit=limit)

    def verify(
        self,
        datasets: list[str] | None = None,
        progress: Progress = no_progress,
        *,
        repair: bool = False,
    ) -> VerifyReport:
        """Check every stored checksum and list what unfinished runs left; `repair` removes
        those whose writer is gone (never a live run's, never a committed version)."""
        return verify_archive(
            self.archive,
            datasets,
            progress,
            workspace=self.config.workspace_dir,
            repair=repair,
        )


def open_lakehouse(path: Path | None = None, env: str | None = None) -> Lakehouse:
    """Open the project of `path` (a lakehouse.toml), or of the nearest one above here, in
    the environment `env` (default: the config's, or LAKEHOUSE_ENV, or none)."""
    config = load_config(path)
    lake = Lakehouse(config.for_env(env) if env else config)
    lake.store.check_reachable()
    return lake


@dataclass(frozen=True)
class NewProject:
    """What `init_lakehouse` made, or found already there."""

    config_path: Path
    created: bool  # False: the folder had a lakehouse.toml already (it is left as it is)
    store_root: str
    templates_dir: Path


def init_lakehouse(project_dir: Path, root: str | None = None) -> NewProject:
    """Write a default lakehouse.toml in `project_dir` unless one exists (with `root`, a folder
    or s3://bucket/prefix, as the store root), and make the store root (if local) and the
    templates folder."""
    config_path, created = init_project(project_dir, root)
    config = load_config(config_path)
    store = Lakehouse(config).store
    if store.is_local:
        Path(store.root).mkdir(parents=True, exist_ok=True)
    templates_dir = config.templates_dir
    templates_dir.mkdir(parents=True, exist_ok=True)
    return NewProject(config_path, created, store.root, templates_dir)
