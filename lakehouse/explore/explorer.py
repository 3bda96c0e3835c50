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

A damaged thing is left out, named in a `DamagedRecordWarning`, and everything else keeps its
view: a version whose manifest is damaged (and the dataset's latest view, as which version is
the latest cannot then be told), a build or published version whose record is damaged, the
latest published view while latest.json is damaged or names a version that is not published,
and every view of a file that is missing or unreadable.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.errors import IntegrityError, NotFoundError
from lakehouse.names import LATEST, is_dataset_name
from lakehouse.publish.reading import PUBLISH_AREA, find_published, scan_published
from lakehouse.publish.records import PublishRecord
from lakehouse.publish.sides import entry_output_file_lists
from lakehouse.records import DamagedRecordWarning
from lakehouse.spatial import crs_label, is_geometry_type
from lakehouse.sql import sql_string
from lakehouse.transform.engines.duckdb import parquet_table
from lakehouse.transform.index import BUILDS_AREA, find_build, list_builds
from lakehouse.transform.records import BuildRecord

if TYPE_CHECKING:
    from lakehouse.archive.manifest import Manifest
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

    def _parquet(self, paths: list[str], what: str) -> Any:
        """A view over Parquet files (relative to the store root), read through the store's
        filesystem; a file that is missing or unreadable is an IntegrityError naming it and
        `what` it holds."""
        import duckdb

        self._views += 1
        urls = [self.lake.store.url(path) for path in paths]
        try:
            return parquet_table(
                self.con, f"_lake_{self._views}", urls, self.lake.config.workspace_dir
            )
        except duckdb.Error as exc:
            raise IntegrityError(
                f"{self._file_problem(paths, exc)}, so {what} cannot be read; run `lake verify`, "
                "then restore the file from a backup."
            ) from exc

    def _file_problem(self, paths: list[str], exc: Exception) -> str:
        """What is wrong with the files a view could not read: the first that is missing, or
        DuckDB's first line."""
        store = self.lake.store
        for path in paths:
            if not store.exists(path):
                return f"{store.url(path)} is missing"
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        return f"{', '.join(store.url(path) for path in paths)} cannot be read ({first})"

    def source(self, dataset: str, version: str = LATEST) -> Any:
        """An archived version of a dataset (default: the latest) as an ibis table."""
        manifest = self.lake.archive.manifest(dataset, version)
        return self._parquet(_parquet_files(manifest), f"version {manifest.version} of {dataset!r}")

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
        if isinstance(entry, PublishRecord):
            of = f"published version {entry.version} of {entry.product!r}"
        else:
            of = f"build {entry.build_id} of {entry.product!r}"
        return {
            name: self._parquet(paths, f"output {name} of {of}")
            for name, paths in entry_output_file_lists(entry).items()
        }

    def _output_crs(self, entry: BuildRecord | PublishRecord) -> dict[str, dict[str, str]]:
        """Each output's geometry columns and their CRS, as the GeoParquet files declare."""
        found: dict[str, dict[str, str]] = {}
        for name, paths in entry_output_file_lists(entry).items():
            first = self.lake.store.url(paths[0])  # (parts all have the same columns)
            described = self.con.con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({sql_string(first)})"
            ).fetchall()
            found[name] = {
                column: crs
                for column, type_name, *_ in described
                if is_geometry_type(type_name) and (crs := crs_label(type_name)) is not None
            }
        return found

    def versions(self, dataset: str) -> list[str]:
        """The archived versions of a dataset, oldest first (one whose manifest is damaged is
        left out, named in a `DamagedRecordWarning`)."""
        return [m.version for m in self.lake.archive.readable_versions(dataset)]

    def register_views(self) -> list[str]:
        """Create a view for every dataset version, build output and published version (see
        the module's docstring for the names); returns the views' qualified names. What is
        damaged is left out and named in a `DamagedRecordWarning`; the rest is registered."""
        import duckdb

        raw = self.con.con
        for schema in SCHEMAS:
            raw.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        wanted = self._source_views()
        for product in self._products():
            wanted += self._product_views(product)
        names = distinct_view_names([(schema, parts) for schema, parts, _ in wanted])
        made: list[str] = []
        left_out: dict[tuple[str, ...], tuple[Exception, list[str]]] = {}  # files -> views
        for (schema, _, paths), name in zip(wanted, names, strict=True):
            if tuple(paths) in left_out:  # (the latest view of a version left out)
                left_out[tuple(paths)][1].append(f"{schema}.{name}")
                continue
            files = ", ".join(sql_string(self.lake.store.url(path)) for path in paths)
            try:
                raw.execute(
                    f'CREATE OR REPLACE VIEW {schema}."{name}" AS '
                    f"SELECT * FROM read_parquet([{files}])"
                )
            except duckdb.Error as exc:  # a file that is missing or unreadable
                left_out[tuple(paths)] = (exc, [f"{schema}.{name}"])
                continue
            made.append(f"{schema}.{name}")
        for files_left_out, (problem, views) in left_out.items():
            warnings.warn(
                f"{self._file_problem(list(files_left_out), problem)}, so {', '.join(views)} is "
                "left out; run `lake verify`, then restore the file from a backup.",
                DamagedRecordWarning,
                stacklevel=2,
            )
        return made

    def _source_views(self) -> list[tuple[str, tuple[str, ...], list[str]]]:
        """(schema, name parts, files relative to the store root) of every dataset version
        whose manifest reads, and of each dataset's latest version, unless a damaged version
        could be the latest."""
        wanted: list[tuple[str, tuple[str, ...], list[str]]] = []
        archive = self.lake.archive
        for dataset in archive.datasets():
            scan = archive.scan_versions(dataset)
            scan.warn(stacklevel=4)
            for manifest in scan.manifests:
                paths = _parquet_files(manifest)
                wanted.append(("source", (dataset, "v" + manifest.version), paths))
                if manifest is scan.manifests[-1] and not scan.damaged:
                    wanted.append(("source", (dataset,), paths))
            if scan.manifests and scan.damaged:
                warnings.warn(
                    f"There is no view source.{view_name(dataset)} of the latest version of "
                    f"{dataset!r}: while version {scan.damaged[0].version}'s manifest is damaged "
                    "the latest cannot be told (each version that reads has its view).",
                    DamagedRecordWarning,
                    stacklevel=4,
                )
        return wanted

    def _product_views(self, product: str) -> list[tuple[str, tuple[str, ...], list[str]]]:
        """(schema, name parts, files) of every output of the product's builds and published
        versions whose record reads, and of its latest build and latest published version."""
        store = self.lake.store
        builds = list_builds(store, product)
        entries: list[tuple[str, BuildRecord | PublishRecord, str, bool]] = [
            ("build", entry, entry.build_id, entry is builds[-1]) for entry in builds
        ]
        scan = scan_published(store, product)
        scan.warn(stacklevel=4)
        latest = scan.latest
        if scan.latest_named in {damaged.version for damaged in scan.damaged}:
            warnings.warn(
                f"There is no view of the latest published version of {product!r}: latest.json "
                f"names {scan.latest_named}, whose publish.json is damaged (each version that "
                "reads has its views).",
                DamagedRecordWarning,
                stacklevel=4,
            )
        entries += [
            ("published", entry, entry.version, entry is latest) for entry in scan.published
        ]
        wanted: list[tuple[str, tuple[str, ...], list[str]]] = []
        for schema, entry, entry_label, is_latest in entries:
            for name, paths in entry_output_file_lists(entry).items():
                label = output_label(product, name)
                wanted.append((schema, (label, entry_label), paths))
                if is_latest:
                    wanted.append((schema, (label,), paths))
        return wanted

    def _products(self) -> list[str]:
        store = self.lake.store
        found = set(store.list_folders(BUILDS_AREA)) | set(store.list_folders(PUBLISH_AREA))
        return sorted(name for name in found if is_dataset_name(name))

    def sql(self, query: str) -> Any:
        """Run SQL over the registered views (call `register_views()` first); an ibis table."""
        return self.con.sql(query)


def _parquet_files(manifest: Manifest) -> list[str]:
    """A version's Parquet data files, relative to the store root."""
    return [f.path for f in manifest.data_files if f.path.endswith(".parquet")]
