"""Explore any version from a notebook or a SQL shell.

`Explorer` holds one DuckDB connection (through ibis) on the project's store. `source()`,
`build()` and `published()` return ibis tables (`.to_polars()`, `.to_pandas()`, `.execute()`
at hand); `register_views()` makes every dataset version, build output and published version
a view with a predictable name, for `lake sql`:

    source.<dataset>                the latest version   source.dof_pts
    source.<dataset>_v<version>     one version          source.dof_pts_v20261124
    build.<output>                  the latest build     build.pluto_lite
                                    (an output named otherwise: <product>_<output>)
    build.<output>_<build id>       one build            build.pluto_lite_20261124T090701Z_e56b48
    published.<output>              the latest version   published.pluto_lite
    published.<output>_<version>    one version          published.pluto_lite_25v1

(characters other than letters, digits and _ become _).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.errors import NotFoundError
from lakehouse.names import LATEST
from lakehouse.publish.publish import find_published, latest_version, list_published
from lakehouse.publish.records import PublishRecord
from lakehouse.publish.sides import entry_output_files
from lakehouse.spatial import crs_label, is_geometry_type
from lakehouse.sql import sql_string
from lakehouse.transform.engines.duckdb import parquet_table
from lakehouse.transform.index import find_build, list_builds
from lakehouse.transform.records import BuildRecord

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse

SCHEMAS = ("source", "build", "published")


def output_label(product: str, output: str) -> str:
    """An output's name in views: the output's own when it is named for its product, else
    `<product>_<output>` (two products may have outputs of the same name)."""
    return output if output == product else f"{product}_{output}"


def view_name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def distinct_view_names(wanted: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """A view name for each (schema, name parts), never one for two things: where two
    different things make the same name (versions 25v1.1 and 25v1_1 both give ..._v25v1_1),
    the one whose name needed no change keeps it (a latest view first) and each other gets a
    suffix from its own parts' hash, the same in every run."""
    groups: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for schema, parts in wanted:
        found = groups.setdefault((schema, view_name(*parts)), [])
        if parts not in found:
            found.append(parts)
    keeper: dict[tuple[str, str], tuple[str, ...]] = {}
    for (schema, name), claims in groups.items():
        clean = [p for p in claims if "_".join(p) == name]
        keeper[(schema, name)] = min(clean or claims, key=lambda p: (len(p), p))
    names = []
    for schema, parts in wanted:
        name = view_name(*parts)
        if keeper[(schema, name)] != parts:
            name += "_" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:6]
        names.append(name)
    return names


@dataclass
class OutputSet:
    """The outputs of one build or published version, as ibis tables by name."""

    product: str
    label: str  # the build id or the published version
    tables: dict[str, Any]
    metadata: BuildRecord | PublishRecord  # its build.json or publish.json
    crs: dict[str, dict[str, str]] = field(default_factory=dict)  # output -> geometry -> CRS

    def table(self, name: str | None = None) -> Any:
        """One output (default: the product's own, or the only one)."""
        if name is None:
            name = self.product if self.product in self.tables else next(iter(self.tables))
        if name not in self.tables:
            raise NotFoundError(
                f"{self.product} {self.label} has no output {name!r}; its outputs: "
                f"{', '.join(self.tables)}."
            )
        return self.tables[name]

    def to_pandas(self, name: str | None = None) -> Any:
        """One output as a pandas DataFrame; an output with geometry as a GeoDataFrame with
        its CRS set (ibis's own `.to_pandas()` leaves the CRS unset)."""
        table = self.table(name)
        frame = table.to_pandas()
        known = self.crs.get(name or self._default_name(), {})
        geometry = getattr(frame, "_geometry_column_name", None)
        if geometry in known:
            frame = frame.set_crs(known[geometry], allow_override=True)
        return frame

    def _default_name(self) -> str:
        return self.product if self.product in self.tables else next(iter(self.tables))


class Explorer:
    """Every archived, built and published version of a project, one call away."""

    def __init__(self, lake: Lakehouse) -> None:
        import ibis

        self.lake = lake
        self._views = 0
        self.con = ibis.duckdb.connect()
        lake.store.register_in_duckdb(self.con.con)

    def __repr__(self) -> str:
        return f"Explorer({self.lake!r})"

    def _parquet(self, urls: list[str]) -> Any:
        """A view over Parquet files, read through the store's filesystem."""
        self._views += 1
        return parquet_table(self.con, f"_lake_{self._views}", urls, self.lake.config.workspace_dir)

    def source(self, dataset: str, version: str = LATEST) -> Any:
        """An archived version of a dataset (default: the latest) as an ibis table."""
        manifest = self.lake.archive.manifest(dataset, version)
        store = self.lake.store
        return self._parquet(
            [store.url(f.path) for f in manifest.data_files if f.path.endswith(".parquet")]
        )

    def build(self, product: str, build_id: str = LATEST) -> OutputSet:
        """A build's outputs (default: the latest build)."""
        entry = find_build(self.lake.store, product, None if build_id == LATEST else build_id)
        return OutputSet(
            product, entry.build_id, self._outputs(entry), entry, self._output_crs(entry)
        )

    def published(self, product: str, version: str = LATEST) -> OutputSet:
        """A published version's outputs (default: the latest)."""
        entry = find_published(self.lake.store, product, version)
        return OutputSet(
            product, entry.version, self._outputs(entry), entry, self._output_crs(entry)
        )

    def _outputs(self, entry: BuildRecord | PublishRecord) -> dict[str, Any]:
        return {
            name: self._parquet([self.lake.store.url(path)])
            for name, path in entry_output_files(entry).items()
        }

    def _output_crs(self, entry: BuildRecord | PublishRecord) -> dict[str, dict[str, str]]:
        """Each output's geometry columns and their CRS, as the GeoParquet files declare."""
        found: dict[str, dict[str, str]] = {}
        for name, path in entry_output_files(entry).items():
            described = self.con.con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({sql_string(self.lake.store.url(path))})"
            ).fetchall()
            found[name] = {
                column: crs
                for column, type_name, *_ in described
                if is_geometry_type(type_name) and (crs := crs_label(type_name)) is not None
            }
        return found

    def versions(self, dataset: str) -> list[str]:
        """The archived versions of a dataset, oldest first."""
        return [m.version for m in self.lake.versions(dataset)]

    def register_views(self) -> list[str]:
        """Create a view for every dataset version, build output and published version (see
        the module's docstring for the names); returns the views' qualified names."""
        raw = self.con.con
        for schema in SCHEMAS:
            raw.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        wanted: list[tuple[str, tuple[str, ...], list[str]]] = []  # schema, name parts, files
        store = self.lake.store
        for dataset in self.lake.datasets():
            manifests = self.lake.versions(dataset)
            for manifest in manifests:
                urls = [store.url(f.path) for f in manifest.data_files
                        if f.path.endswith(".parquet")]  # fmt: skip
                wanted.append(("source", (dataset, "v" + manifest.version), urls))
                if manifest is manifests[-1]:
                    wanted.append(("source", (dataset,), urls))
        for product in self._products():
            builds = list_builds(store, product)
            entries: list[tuple[str, BuildRecord | PublishRecord, str, bool]] = [
                ("build", entry, entry.build_id, entry is builds[-1]) for entry in builds
            ]
            latest = latest_version(store, product)
            entries += [
                ("published", entry, entry.version, entry.version == latest)
                for entry in list_published(store, product)
            ]
            for schema, entry, entry_label, is_latest in entries:
                for name, path in entry_output_files(entry).items():
                    url, label = store.url(path), output_label(product, name)
                    wanted.append((schema, (label, entry_label), [url]))
                    if is_latest:
                        wanted.append((schema, (label,), [url]))
        names = distinct_view_names([(schema, parts) for schema, parts, _ in wanted])
        made: list[str] = []
        for (schema, _, urls), name in zip(wanted, names, strict=True):
            files = ", ".join(sql_string(url) for url in urls)
            raw.execute(
                f'CREATE OR REPLACE VIEW {schema}."{name}" AS SELECT * FROM read_parquet([{files}])'
            )
            made.append(f"{schema}.{name}")
        return made

    def _products(self) -> list[str]:
        from lakehouse.publish.publish import PUBLISH_AREA
        from lakehouse.transform.index import BUILDS_AREA

        store = self.lake.store
        return sorted(set(store.list_folders(BUILDS_AREA)) | set(store.list_folders(PUBLISH_AREA)))

    def sql(self, query: str) -> Any:
        """Run SQL over the registered views (call `register_views()` first); an ibis table."""
        return self.con.sql(query)
