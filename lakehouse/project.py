"""`Lakehouse`: the one object that the CLI, notebooks and tests drive.

import lakehouse
lake = lakehouse.open()            # finds lakehouse.toml from the current folder
lake.ingest("dof_pts")
lake.versions("dof_pts")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.archive import Archive, IngestResult, qa_settings
from lakehouse.archive.manifest import Manifest
from lakehouse.archive.template import (
    IngestTemplate,
    list_templates,
    load_template_for,
    template_for_local_file,
    template_path,
)
from lakehouse.catalog.catalog import DatasetEntry, ProductEntry, catalog, lookup, products
from lakehouse.catalog.verify import VerifyReport, verify_archive
from lakehouse.config import LakehouseConfig, load_config
from lakehouse.contracts.contract import ContractReport, load_contracts, load_source_contract
from lakehouse.contracts.dictionary import dictionary_path, load_dictionary, require_dictionary
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.progress import Progress, no_progress
from lakehouse.provenance import git_state
from lakehouse.sources.file import FileSource
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store
from lakehouse.transform.builder import Builder, BuildResult, BuildSite, BuildSpec, EngineOptions
from lakehouse.transform.index import (
    build_folder,
    check_build,
    list_builds,
    query_build,
)
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

if TYPE_CHECKING:
    import pyarrow as pa

    from lakehouse.catalog.docs import DocsSite
    from lakehouse.publish.package import Packaged
    from lakehouse.publish.records import PublishRecord
    from lakehouse.qa.diff import BuildDiff, Side
    from lakehouse.qa.drift import SourceDrift
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
            template = self._template_for_file(dataset, Path(file))
        else:
            template = self.template(dataset)
        return self.archive.ingest(
            template,
            version=version,
            project_dir=self.config.project_dir,
            progress=progress,
            source_contract=load_source_contract(self.config.contracts_dir, dataset),
        )

    def _template_for_file(self, dataset: str, file: Path) -> IngestTemplate:
        """The dataset's template with its source replaced by a local file (format kept)."""
        if template_path(self.config.templates_dir, dataset) is None:
            return template_for_local_file(dataset, file.resolve())
        template = self.template(dataset)
        source = FileSource(type="file", path=str(file.resolve()))
        return template.model_copy(update={"source": source})

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
        settings = None
        if template_path(self.config.templates_dir, dataset) is not None:
            settings = qa_settings(self.template(dataset))
        return self.archive.compare_versions(dataset, version, against, settings)

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
        recipe = self.recipe(product)
        lock = None if latest else read_lock(self.config.recipes_dir, product)
        if lock is None:
            lock = resolve_lock(recipe, self.archive, self.config.recipes_dir)
        else:
            check_lock(lock, recipe, self.archive, self.config.recipes_dir)
        models = load_models(self.config.transforms_dir, product)
        spec = BuildSpec(
            recipe,
            lock,
            models,
            dictionary=load_dictionary(self.config.contracts_dir, product),
            dictionary_file=dictionary_path(self.config.contracts_dir, product),
            contracts=load_contracts(self.config.contracts_dir, product, set(models)),
        )
        site = BuildSite(
            self.store,
            self.archive,
            self.config.workspace_dir,
            git_state(self.config.project_dir),
            progress,
        )
        options = EngineOptions(engine, self.config.memory_limit, self.config.engine.threads)
        return Builder(spec, site, options).run(full_refresh=full_refresh)

    def lineage(self, product: str) -> Lineage:
        """Table and column lineage of a product, from its lock (or the latest versions)."""
        recipe = self.recipe(product)
        lock = read_lock(self.config.recipes_dir, product) or resolve_lock(
            recipe, self.archive, self.config.recipes_dir
        )
        models = load_models(self.config.transforms_dir, product)
        schemas = input_schemas(self.archive, self.store, lock)
        return product_lineage(product, models, lock, recipe.outputs, schemas)

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
        import duckdb

        from lakehouse.publish.sides import build_side
        from lakehouse.qa.diff import diff_builds

        new_side = build_side(self.store, new, product)
        old_side = build_side(self.store, old, new_side.product, before=new_side.build_id)
        dictionary = load_dictionary(self.config.contracts_dir, new_side.product)
        with duckdb.connect() as con:
            self.store.register_in_duckdb(con)
            return diff_builds(dictionary, old_side, new_side, con), old_side, new_side

    def source_report(
        self,
        dataset: str,
        version: str = LATEST,
        against: str | None = None,
        out: Path | None = None,
    ) -> Path:
        """Write the source QA of a version as an HTML report (default: into the workspace,
        `qa/<dataset>/<version>-against-<other>.html`; archived versions are never touched)."""
        import duckdb

        from lakehouse.render.qa_reports import drift_bounds, paired_histograms, source_report

        drift = self.source_qa(dataset, version, against)
        with duckdb.connect() as con:
            self.store.register_in_duckdb(con)
            found = paired_histograms(
                con,
                self.archive.parquet_source(self.manifest(dataset, drift.old_version)),
                self.archive.parquet_source(self.manifest(dataset, drift.new_version)),
                drift_bounds(drift),
            )
        name = f"{drift.new_version}-against-{drift.old_version}.html"
        path = out or self.config.workspace_dir / "qa" / dataset / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source_report(drift, found), encoding="utf-8")
        return path

    def diff_report(
        self, product: str, old: str | None = None, new: str | None = None
    ) -> tuple[str, BuildDiff]:
        """Write a build diff as an HTML report into the newer build's folder
        (`qa/diff-<older build>.html`, with the diff as JSON beside it); returns its URL and
        the diff."""
        import duckdb

        from lakehouse.render.qa_reports import diff_bounds, diff_report, paired_histograms

        found, old_side, new_side = self._diff(product, old, new)
        charts = {}
        with duckdb.connect() as con:
            self.store.register_in_duckdb(con)
            for table in found.tables:
                if not table.identical and table.table in old_side.outputs:
                    charts[table.table] = paired_histograms(
                        con,
                        f"read_parquet({sql_string(old_side.outputs[table.table]['url'])})",
                        f"read_parquet({sql_string(new_side.outputs[table.table]['url'])})",
                        diff_bounds(table),
                    )
        assert new_side.build_id is not None
        folder = f"{build_folder(new_side.product, new_side.build_id)}/qa"
        data = json.dumps(found.to_dict(), default=str).encode()
        self.store.write_bytes(f"{folder}/diff-{old_side.key}.json", data)
        report = f"{folder}/diff-{old_side.key}.html"
        self.store.write_bytes(report, diff_report(found, charts).encode())
        return self.store.url(report), found

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
        import duckdb

        from lakehouse.publish.package import build_package
        from lakehouse.publish.publish import find_published
        from lakehouse.publish.sides import entry_output_files

        entry = find_published(self.store, product, version)
        outputs = entry_output_files(entry)
        name = f"{product}-{entry.version}-{fmt}.zip"
        target = out or self.config.workspace_dir / "packages" / name
        description = self.recipe(product).description if self._has_recipe(product) else ""
        with duckdb.connect() as con:
            self.store.register_in_duckdb(con)
            return build_package(
                con, self.store, entry, outputs,
                load_dictionary(self.config.contracts_dir, product), fmt, target, description,
            )  # fmt: skip

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
