"""`Lakehouse`: the one object that the CLI, notebooks and tests drive.

import lakehouse
lake = lakehouse.open()            # finds lakehouse.toml from the current folder
lake.ingest("dof_pts")
lake.versions("dof_pts")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.archive import Archive, IngestResult
from lakehouse.archive.manifest import Manifest
from lakehouse.archive.source_qa import qa_settings, write_source_report
from lakehouse.archive.template import (
    IngestTemplate,
    list_templates,
    load_template_for,
    template_for_file,
    template_path,
)
from lakehouse.catalog.catalog import DatasetEntry, ProductEntry, catalog, lookup, products
from lakehouse.catalog.verify import VerifyReport, verify_archive
from lakehouse.config import LakehouseConfig, load_config
from lakehouse.contracts.contract import ContractReport, load_source_contract
from lakehouse.contracts.dictionary import load_dictionary, require_dictionary
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.progress import Progress, no_progress
from lakehouse.qa.drift import QaSettings, SourceDrift
from lakehouse.store.storage import Store
from lakehouse.transform.builder import BuildResult
from lakehouse.transform.index import (
    check_build,
    list_builds,
    query_build,
)
from lakehouse.transform.lineage import Lineage
from lakehouse.transform.products import build_product, lineage_of
from lakehouse.transform.recipe import (
    Lock,
    Recipe,
    load_recipe,
    resolve_lock,
    write_lock,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from lakehouse.catalog.docs import DocsSite
    from lakehouse.publish.package import Packaged
    from lakehouse.publish.records import PublishRecord
    from lakehouse.qa.diff import BuildDiff, Side
    from lakehouse.transform.records import BuildRecord


class Lakehouse:
    """A project: its configuration, its store and its archive."""

    def __init__(self, config: LakehouseConfig) -> None:
        self.config = config
        self.store = Store(config.store_root, config.store.s3)
        self.archive = Archive(self.store)

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
    ) -> IngestResult:
        """Archive the dataset's source (or `file`, a local copy of it) as a new version."""
        check_dataset_name(dataset)
        if file is not None:
            template = template_for_file(self.config.templates_dir, dataset, Path(file))
        else:
            template = self.template(dataset)
        return self.archive.ingest(
            template,
            version=version,
            project_dir=self.config.project_dir,
            progress=progress,
            source_contract=load_source_contract(self.config.contracts_dir, dataset),
        )

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
        return self.archive.compare_versions(dataset, version, against, self._qa_settings(dataset))

    def _qa_settings(self, dataset: str) -> QaSettings | None:
        """The dataset's template's QA settings (None without a template)."""
        if template_path(self.config.templates_dir, dataset) is None:
            return None
        return qa_settings(self.template(dataset))

    def read(self, dataset: str, version: str = LATEST, limit: int | None = None) -> pa.Table:
        return self.archive.read(dataset, version, limit)

    # -- recipes, locks and builds ---------------------------------------------------------

    def recipe(self, product: str) -> Recipe:
        return load_recipe(self.config.recipes_dir, product)

    def lock(self, product: str) -> tuple[Lock, Path]:
        """Resolve every input of the recipe to an exact version and write the lock file."""
        lock = resolve_lock(self.recipe(product), self.archive, self.config.recipes_dir)
        return lock, write_lock(self.config.recipes_dir, lock)

    def build(
        self,
        product: str,
        *,
        latest: bool = False,
        full_refresh: bool = False,
        progress: Progress = no_progress,
        engine: str = "duckdb",
    ) -> BuildResult:
        """Build the product from its lock (or from the latest versions, if no lock or `latest`),
        on DuckDB or on another engine of `lakehouse.transform.engines.ENGINES` (e.g.
        `engine="spark"`: the same transforms on Spark)."""
        return build_product(
            self.config, self.store, self.archive, product,
            latest=latest, full_refresh=full_refresh, progress=progress, engine=engine,
        )  # fmt: skip

    def lineage(self, product: str) -> Lineage:
        """Table and column lineage of a product, from its lock (or the latest versions)."""
        return lineage_of(self.config, self.store, self.archive, product)

    def docs(self, folder: Path | None = None) -> DocsSite:
        """Write the static documentation site (default: <workspace>/docs)."""
        from lakehouse.catalog.docs import SiteContent, write_docs

        products, datasets = self.catalog()
        site = SiteContent(
            products,
            datasets,
            {dataset.name: self.versions(dataset.name) for dataset in datasets},
            {product.name: self._lineage_or_problem(product.name) for product in products},
            self.store,
        )
        return write_docs(site, folder or self.config.workspace_dir / "docs")

    def _lineage_or_problem(self, product: str) -> tuple[Lineage | None, str]:
        try:
            return self.lineage(product), ""
        except LakehouseError as exc:
            return None, str(exc)
        except Exception as exc:  # one product's lineage must not stop the whole site
            return None, f"{exc.__class__.__name__}: {exc}"

    def diff(self, product: str, old: str | None = None, new: str | None = None) -> BuildDiff:
        """What changed between two builds or published versions, by the dictionary's primary
        key. `new` defaults to the latest build; `old` to the latest published version (if it
        is another build), else the build before. See `build_side` for the names."""
        return self._diff(product, old, new)[0]

    def _diff(self, product: str, old: str | None, new: str | None) -> tuple[BuildDiff, Side, Side]:
        from lakehouse.publish.diffs import compare

        return compare(self.store, self.config.contracts_dir, product, old, new)

    def source_report(
        self,
        dataset: str,
        version: str = LATEST,
        against: str | None = None,
        out: Path | None = None,
    ) -> Path:
        """Write the source QA of a version as an HTML report (default: into the workspace,
        `qa/<dataset>/<version>-against-<other>.html`; archived versions are never touched)."""
        old, new = self.archive.version_pair(dataset, version, against)
        name = f"{new.version}-against-{old.version}.html"
        path = out or self.config.workspace_dir / "qa" / dataset / name
        settings = self._qa_settings(dataset) or QaSettings()
        return write_source_report(self.store, old, new, settings, path)

    def diff_report(
        self, product: str, old: str | None = None, new: str | None = None
    ) -> tuple[str, BuildDiff]:
        """Write a build diff as an HTML report into the newer build's folder
        (`qa/diff-<older build>.html`, with the diff as JSON beside it); returns its URL and
        the diff."""
        from lakehouse.publish.diffs import write_diff_report

        found, old_side, new_side = self._diff(product, old, new)
        return write_diff_report(self.store, found, old_side, new_side), found

    # -- publishing --------------------------------------------------------------------------

    def publish(
        self, product: str, version: str | None = None, build_id: str | None = None
    ) -> PublishRecord:
        """Publish a build (default: the latest) as `version` (default: the next free number of
        the year, e.g. 26v3); refused unless its contracts passed and it has a QA report, and
        never over an existing version."""
        from lakehouse.publish.publish import next_version, publish_build

        return publish_build(
            self.store,
            product,
            build_id,
            version if version is not None else next_version(self.store, product),
        )

    def published(self, product: str) -> list[PublishRecord]:
        """Every published version of a product, oldest first."""
        from lakehouse.publish.publish import list_published

        return list_published(self.store, product)

    def promote(self, product: str, version: str, to_env: str) -> PublishRecord:
        """Copy a published version from this environment to `to_env`, unchanged."""
        from lakehouse.publish.publish import promote

        if to_env == (self.config.env or None):
            raise ConfigError(f"{product} {version} is already in {to_env!r}; promote to another.")
        target = Lakehouse(self.config.for_env(to_env))
        return promote(self.store, target.store, product, version, self.config.env or "default")

    def package(
        self, product: str, version: str, fmt: str = "parquet", out: Path | None = None
    ) -> Packaged:
        """Write a handoff zip of a published version (default: into the workspace,
        `packages/<product>-<version>-<format>.zip`); the same version and format always give
        the same bytes."""
        from lakehouse.publish.package import package_published

        description = self.recipe(product).description if self._has_recipe(product) else ""
        dictionary = load_dictionary(self.config.contracts_dir, product)
        folder = self.config.workspace_dir / "packages"
        return package_published(
            self.store, product, version, fmt, out, folder, dictionary, description
        )

    def _has_recipe(self, product: str) -> bool:
        return (self.config.recipes_dir / f"{product}.yml").is_file()

    def builds(self, product: str) -> list[BuildRecord]:
        return list_builds(self.store, product)

    def check(
        self, product: str, *, build_id: str | None = None
    ) -> tuple[BuildRecord, ContractReport]:
        """Re-run a product's contracts on a build (default: the latest)."""
        dictionary = require_dictionary(self.config.contracts_dir, product)
        return check_build(self.store, product, dictionary, build_id)

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
        self, datasets: list[str] | None = None, progress: Progress = no_progress
    ) -> VerifyReport:
        return verify_archive(self.archive, datasets, progress)


def open_lakehouse(path: Path | None = None, env: str | None = None) -> Lakehouse:
    """Open the project of `path` (a lakehouse.toml), or of the nearest one above here, in
    the environment `env` (default: the config's, or LAKEHOUSE_ENV, or none)."""
    config = load_config(path)
    lake = Lakehouse(config.for_env(env) if env else config)
    lake.store.check_reachable()
    return lake
