"""Handoff packages: a published version as one zip for the teams that receive the data.

The zip holds the data in the chosen format, the data dictionary as a readable file
(DICTIONARY.md), a README (version, build, code commit, sources and their versions, contract
and QA summaries, format notes) and SHA256SUMS. The same published version and format always
give the same bytes: entries in a fixed order with the publish date as their time, and
every file written deterministically (the xlsx and shapefile writers' own timestamps are set
to the publish date).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.dictionary import Dictionary, TableEntry, load_dictionary
from lakehouse.errors import PackageError
from lakehouse.publish.publish import find_published, published_output_files
from lakehouse.publish.records import PublishRecord
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store
from lakehouse.transform.recipe import load_recipe, recipe_path

PACKAGES_FOLDER = "packages"  # in the workspace, where packages go by default
FORMATS = ("parquet", "csv", "geoparquet", "shapefile", "xlsx")
EXCEL_MAX_ROWS = 1_048_575  # a sheet's rows, less the header
SHAPEFILE_NAME_LENGTH = 10


@dataclass
class Packaged:
    path: Path
    version: str
    files: list[str]
    notes: list[str] = field(default_factory=list)


def shapefile_names(columns: list[str]) -> dict[str, str]:
    """Column names shortened to the 10 characters a shapefile allows, unique, in order: the
    first 10 characters, or the first 8 and a number when those are taken."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        short = column[:SHAPEFILE_NAME_LENGTH]
        number = 1
        while short.lower() in taken:
            short = f"{column[: SHAPEFILE_NAME_LENGTH - 1 - len(str(number))]}_{number}"
            number += 1
        taken.add(short.lower())
        found[column] = short
    return found


def package_published(
    config: LakehouseConfig,
    store: Store,
    product: str,
    version: str,
    fmt: str = "parquet",
    target: Path | None = None,
) -> Packaged:
    """Write the handoff zip of a published version (`latest` allowed) to `target`, by default
    `<workspace>/packages/<product>-<version>-<format>.zip`, with the product's description
    (from its recipe, if it has one) and its data dictionary (if any) from the project."""
    import duckdb

    recipe = recipe_path(config.recipes_dir, product)
    description = load_recipe(config.recipes_dir, product).description if recipe.is_file() else ""
    dictionary = load_dictionary(config.contracts_dir, product)
    entry = find_published(store, product, version)
    folder = config.workspace_dir / PACKAGES_FOLDER
    out = target or folder / f"{product}-{entry.version}-{fmt}.zip"
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        outputs = published_output_files(entry)
        return build_package(con, store, entry, outputs, dictionary, fmt, out, description)


def build_package(
    con: Any,
    store: Store,
    entry: PublishRecord,
    outputs: dict[str, str],
    dictionary: Dictionary | None,
    fmt: str,
    out: Path,
    description: str = "",
) -> Packaged:
    """Write the package of the published version `entry` (outputs: name -> its Parquet file
    in the store; `con` has the store registered)."""
    if fmt not in FORMATS:
        raise PackageError(f"Unknown package format {fmt!r}; use one of {', '.join(FORMATS)}.")
    # a promoted copy packages like the original: the first publication's time
    stamp = entry.first_published_at
    top = f"{entry.product}-{entry.version}"
    files: dict[str, bytes] = {}
    notes: list[str] = []
    with store.scratch_dir() as scratch:
        for name, rel in outputs.items():
            table = dictionary.tables.get(name) if dictionary else None
            written, note = _write_data(con, store, name, rel, table, fmt, scratch, stamp)
            notes += note
            for path in written:
                files[f"{top}/data/{path.name}"] = path.read_bytes()
    if dictionary is not None:
        files[f"{top}/DICTIONARY.md"] = dictionary_markdown(dictionary, entry).encode()
    files[f"{top}/README.md"] = readme(entry, fmt, description, notes).encode()
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name.removeprefix(top + '/')}\n"
                   for name, data in sorted(files.items()))  # fmt: skip
    files[f"{top}/SHA256SUMS"] = sums.encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    try:
        _write_zip(temporary, files, stamp)
        temporary.replace(out)  # a zip is there whole, or not at all
    finally:
        temporary.unlink(missing_ok=True)
    return Packaged(out, entry.version, sorted(files), notes)


def _zip_time(stamp: datetime) -> tuple[int, int, int, int, int, int]:
    return (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
            stamp.second // 2 * 2)  # fmt: skip


def _write_zip(path: Path, files: dict[str, bytes], stamp: datetime) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_zip_time(stamp))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compresslevel=6)


def _geometry_column(table: TableEntry | None) -> str | None:
    if table is None:
        return None
    return next((c.name for c in table.columns if c.type == "geometry"), None)


def _write_data(
    con: Any,
    store: Store,
    name: str,
    rel: str,
    table: TableEntry | None,
    fmt: str,
    scratch: Path,
    stamp: datetime,
) -> tuple[list[Path], list[str]]:
    source = f"read_parquet({sql_string(store.url(rel))})"
    if fmt == "parquet":
        target = scratch / f"{name}.parquet"
        target.write_bytes(store.read_bytes(rel))  # the published bytes, unchanged
        return [target], []
    if fmt == "csv":
        target = scratch / f"{name}.csv"
        con.execute(f"COPY (SELECT * FROM {source}) TO {sql_string(str(target))} (HEADER)")
        return [target], []
    if fmt == "xlsx":
        return [_write_xlsx(con, name, source, scratch, stamp)], []
    geometry = _geometry_column(table)
    if geometry is None:
        raise PackageError(
            f"The output {name!r} has no geometry column (its dictionary lists none), and "
            f"{fmt} needs one; package it as parquet, csv or xlsx."
        )
    assert table is not None
    crs = _declared_crs(store, rel, geometry) or table.column(geometry).crs
    frame = _geodataframe(con, source, geometry, crs)
    notes = [] if frame.crs else [f"{name}: the data declares no coordinate reference system."]
    if fmt == "geoparquet":
        target = scratch / f"{name}.parquet"
        frame.to_parquet(target, index=False)
        return [target], notes
    written, renamed = _write_shapefile(frame, name, scratch, stamp)
    return written, notes + renamed


def _write_xlsx(con: Any, name: str, source: str, scratch: Path, stamp: datetime) -> Path:
    from openpyxl import Workbook

    rows = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
    if rows > EXCEL_MAX_ROWS:
        raise PackageError(
            f"The output {name!r} has {rows:,} rows and an Excel sheet holds at most "
            f"{EXCEL_MAX_ROWS:,}; package it as csv or parquet."
        )
    workbook = Workbook(write_only=True)
    workbook.properties.created = workbook.properties.modified = stamp.replace(tzinfo=None)
    workbook.properties.creator = "lakehouse"
    sheet = workbook.create_sheet(name[:31])
    result = con.execute(f"SELECT * FROM {source}")
    sheet.append([d[0] for d in result.description])
    while batch := result.fetchmany(10_000):
        for row in batch:
            sheet.append(list(row))
    target = scratch / f"{name}.xlsx"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _rezip(buffer.getvalue(), target, stamp)
    return target


def _rezip(data: bytes, target: Path, stamp: datetime) -> None:
    """Rewrite a zip-based file (xlsx) with fixed entry times, so its bytes are repeatable."""
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        files = {info.filename: original.read(info) for info in original.infolist()}
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    if "docProps/core.xml" in files:  # openpyxl stamps the save time as "modified"
        files["docProps/core.xml"] = re.sub(
            rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
            rb"\g<1>" + when + rb"\g<2>",
            files["docProps/core.xml"],
        )
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in files.items():  # the writer's order: [Content_Types].xml first
            info = zipfile.ZipInfo(name, date_time=_zip_time(stamp))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)


def _declared_crs(store: Store, rel: str, geometry: str) -> Any:
    """The CRS the GeoParquet metadata of the file declares for `geometry`, if any. A column
    described there without a `crs` is in OGC:CRS84 by the GeoParquet specification: named
    EPSG:4326 here (the same datum; shapefiles and GeoParquet store x as longitude either way),
    which every GIS tool recognises in a .prj."""
    import json

    import pyarrow.parquet as pq

    with store.fs.open(store.path(rel), "rb") as handle:
        metadata = pq.read_schema(handle).metadata or {}
    described = json.loads(metadata.get(b"geo", b"{}")).get("columns", {}).get(geometry)
    if described is None:
        return None
    return described.get("crs", "EPSG:4326")


def _geodataframe(con: Any, source: str, geometry: str, crs: Any) -> Any:
    import geopandas
    import shapely

    frame = con.execute(f"SELECT * FROM {source}").fetch_df()
    values = shapely.from_wkb([None if v is None else bytes(v) for v in frame[geometry]])
    return geopandas.GeoDataFrame(frame.drop(columns=[geometry]), geometry=values, crs=crs)


def _write_shapefile(
    frame: Any, name: str, scratch: Path, stamp: datetime
) -> tuple[list[Path], list[str]]:
    names = shapefile_names([c for c in frame.columns if c != "geometry"])
    renamed = {long: short for long, short in names.items() if long != short}
    frame = frame.rename(columns=renamed)
    target = scratch / f"{name}.shp"
    frame.to_file(target, driver="ESRI Shapefile", engine="pyogrio")
    dbf = target.with_suffix(".dbf")
    header = bytearray(dbf.read_bytes())
    header[1:4] = bytes([stamp.year - 1900, stamp.month, stamp.day])  # the last-update date
    dbf.write_bytes(bytes(header))
    notes = [
        f"{name}: shapefile column names are at most 10 characters; renamed: "
        + ", ".join(f"{long} -> {short}" for long, short in renamed.items())
    ] if renamed else []  # fmt: skip
    written = sorted(p for p in scratch.iterdir() if p.stem == name and p.suffix != ".parquet")
    return written, notes


def dictionary_markdown(dictionary: Dictionary, entry: PublishRecord) -> str:
    lines = [f"# Data dictionary: {entry.product} {entry.version}", ""]
    for name, table in dictionary.tables.items():
        lines += [f"## {name}", "", table.description, ""]
        if table.primary_key:
            lines += [f"Primary key: {', '.join(table.primary_key)}", ""]
        lines += ["| column | type | empty allowed | description | source |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for column in table.columns:
            lines.append(
                f"| {column.name} | {column.storage_type} | {'yes' if column.nullable else 'no'} "
                f"| {column.description.replace('|', '/')} | {column.source or ''} |"
            )
        lines.append("")
    return "\n".join(lines)


def readme(entry: PublishRecord, fmt: str, description: str, notes: list[str]) -> str:
    git = entry.git
    lines = [
        f"# {entry.product} {entry.version}",
        "",
        description,
        "",
        f"- Published: {entry.published_at.isoformat()}",
        f"- Build: {entry.build_id}",
        f"- Code commit: {git.commit or 'unknown'}"
        + (" (with uncommitted changes)" if git.dirty else ""),
        f"- Format: {fmt}",
        f"- Contracts: {entry.contracts.summary}",
        "",
        "## Sources",
        "",
        *[f"- {alias}: {pinned}" for alias, pinned in entry.inputs.items()],
        "",
        "## Data",
        "",
        *[
            f"- {key.split('/', 1)[1]}: {o.rows:,} rows (published file sha256 {o.sha256})"
            for key, o in entry.outputs.items()
            if key.startswith("outputs/")
        ],
        "",
    ]
    for qa in entry.qa:
        tables = qa.tables or {}
        changes = "; ".join(
            f"{t}: identical" if c.identical else
            f"{t}: {c.added:,} added, {c.removed:,} removed, {c.changed:,} changed"
            for t, c in tables.items()
        )  # fmt: skip
        lines.append(f"QA against {qa.against or 'the version before'}: {changes or qa.report}")
    if notes:
        lines += ["", "## Notes on the format", "", *[f"- {note}" for note in notes]]
    lines += [
        "",
        "DICTIONARY.md describes every column; SHA256SUMS lists the files' checksums.",
        "",
    ]
    return "\n".join(lines)
