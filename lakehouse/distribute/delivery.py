"""What a destination is given: a published version, ready to send. Its package (the files
`lake package` makes for the destination's format, unpacked: `data/`, `DICTIONARY.md`,
`README.md`, `SHA256SUMS`), a checked local copy of each output's Parquet file, each output's
columns with the names the destination gets (its `renames`) and their descriptions from the
data dictionary, and the product's metadata from its recipe: one source of truth for every
destination."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.dictionary import Dictionary, load_dictionary
from lakehouse.errors import DistributeError
from lakehouse.publish.package import build_package, check_published_files
from lakehouse.publish.reading import (
    find_published,
    published_output_file_lists,
    published_output_files,
)
from lakehouse.spatial import is_geometry_type
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store
from lakehouse.transform.recipe import Recipe, load_recipe

if TYPE_CHECKING:
    import pyarrow as pa

    from lakehouse.distribute.spec import DestinationSpec
    from lakehouse.publish.records import PublishRecord


@dataclass(frozen=True)
class DeliveredColumn:
    name: str  # as the destination gets it (after the destination's renames)
    source: str  # the output's own column name
    type: str  # the dictionary's type (text, integer, ...), else the Parquet column's
    description: str
    display_name: str  # a label for people: the dictionary's, else the name in words


@dataclass(frozen=True)
class DeliveredTable:
    name: str
    rows: int
    parquet: Path  # the published output, checked (a local copy when the store is S3)
    columns: list[DeliveredColumn]
    geometry: str | None = None  # the geometry column, as the destination names it
    crs: str | None = None

    def read(self) -> pa.Table:
        """The rows, with the destination's column names (geometry as WKB)."""
        import pyarrow.parquet as pq

        table = pq.read_table(self.parquet, columns=[c.source for c in self.columns])
        return table.rename_columns([c.name for c in self.columns])


@dataclass(frozen=True)
class ProductMetadata:
    """What the recipe says of the product, for every destination's own description."""

    title: str
    description: str
    owner: str
    tags: list[str] = field(default_factory=list)
    cadence: str | None = None
    attribution: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class Delivery:
    product: str
    version: str
    build_id: str
    published_at: datetime
    package: Path  # a folder holding the package's files
    files: dict[str, str]  # path under `package` -> sha256
    tables: dict[str, DeliveredTable]
    metadata: ProductMetadata

    def only_table(self, destination: str) -> DeliveredTable:
        """The one output a destination that takes one table sends."""
        if len(self.tables) != 1:
            raise DistributeError(
                f"Destination {destination!r} takes one table, and {self.product} has "
                f"{len(self.tables)} outputs ({', '.join(self.tables)}); give each its own "
                "product or destination."
            )
        return next(iter(self.tables.values()))

    @property
    def checksum(self) -> str:
        """One digest of every file sent: equal for equal deliveries."""
        text = "".join(f"{name}\0{sha}\n" for name, sha in sorted(self.files.items()))
        return hashlib.sha256(text.encode()).hexdigest()


def prepare_delivery(
    config: LakehouseConfig,
    store: Store,
    entry: PublishRecord,
    spec: DestinationSpec,
    scratch: Path,
) -> Delivery:
    """Everything `spec` is sent of the published version `entry`, in `scratch`."""
    import duckdb

    recipe = load_recipe(config.recipes_dir, entry.product)
    dictionary = load_dictionary(config.contracts_dir, entry.product)
    outputs = published_output_files(entry)
    check_published_files(store, entry, outputs)
    zipped = scratch / f"{entry.product}-{entry.version}-{spec.format}.zip"
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        build_package(
            con, store, entry, outputs, dictionary, spec.format, zipped, recipe.description
        )
    package = _unpack(zipped, scratch / "package")
    files = published_output_file_lists(entry)
    tables = {
        name: _delivered_table(store, name, files[name], entry, dictionary, spec, scratch)
        for name in outputs
    }
    return Delivery(
        product=entry.product,
        version=entry.version,
        build_id=entry.build_id,
        published_at=entry.first_published_at,
        package=package,
        files={
            path.relative_to(package).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(package.rglob("*"))
            if path.is_file()
        },
        tables=tables,
        metadata=product_metadata(recipe),
    )


def published_entry(store: Store, product: str, version: str) -> PublishRecord:
    """The published version to send (`latest` allowed); a build id or an unknown version is
    refused: only published versions are distributed."""
    return find_published(store, product, version)


def product_metadata(recipe: Recipe) -> ProductMetadata:
    return ProductMetadata(
        title=recipe.title or recipe.name.replace("_", " ").title(),
        description=recipe.description,
        owner=recipe.owner,
        tags=list(recipe.tags or []),
        cadence=recipe.cadence,
        attribution=recipe.attribution,
        license=recipe.license,
    )


def _unpack(zipped: Path, folder: Path) -> Path:
    """The package's files under `folder` (its one top folder, `<product>-<version>/`, dropped)."""
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(folder)
    (top,) = list(folder.iterdir())
    return top


def _delivered_table(
    store: Store,
    name: str,
    files: list[str],
    entry: PublishRecord,
    dictionary: Dictionary | None,
    spec: DestinationSpec,
    scratch: Path,
) -> DeliveredTable:
    """One output as the destinations get it: one local Parquet file (an output published in
    parts is joined into one, in order)."""
    import pyarrow.parquet as pq

    if store.is_local and len(files) == 1:  # published files are never rewritten: in place
        local = store.local_path(files[0])
    else:
        local = scratch / "outputs" / f"{name}.parquet"
        local.parent.mkdir(parents=True, exist_ok=True)
        if len(files) == 1:
            store.fs.get(store.path(files[0]), str(local))
        else:
            _join_parts(store, files, local)
    schema = pq.read_schema(local)
    described = dictionary.tables.get(name) if dictionary else None
    unknown = sorted(set(spec.renames) - set(schema.names))
    if unknown:
        raise DistributeError(
            f"Destination {spec.name!r} renames {', '.join(unknown)}, which {entry.product}'s "
            f"output {name!r} does not have; its columns are {', '.join(schema.names)}."
        )
    columns = [_column(column, schema, described, spec.renames) for column in schema.names]
    geometry = next((c for c in columns if is_geometry_type(c.type)), None)
    crs = None
    if geometry is not None and described is not None:
        crs = described.geometry_crs().get(geometry.source)
    rows = entry.outputs[f"outputs/{name}"].rows
    return DeliveredTable(name, rows, local, columns, geometry.name if geometry else None, crs)


def _join_parts(store: Store, files: list[str], local: Path) -> None:
    """The parts of a published output (in order) as one local Parquet file."""
    import duckdb

    urls = ", ".join(sql_string(store.url(rel)) for rel in files)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        con.execute(
            f"COPY (SELECT * FROM read_parquet([{urls}])) TO {sql_string(str(local))} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )


def _column(name: str, schema: Any, described: Any, renames: dict[str, str]) -> DeliveredColumn:
    entry = next((c for c in described.columns if c.name == name), None) if described else None
    kind = entry.type if entry is not None else _parquet_type(schema, name)
    description = entry.description if entry is not None else ""
    label = (getattr(entry, "label", None) if entry is not None else None) or _words(name)
    return DeliveredColumn(renames.get(name, name), name, kind, description, label)


def _parquet_type(schema: Any, name: str) -> str:
    field_ = schema.field(name)
    metadata = field_.metadata or {}
    if b"ARROW:extension:name" in metadata and b"geoarrow" in metadata[b"ARROW:extension:name"]:
        return "geometry"
    return str(field_.type)


def _words(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()
