"""Handoff packages: a published version as one zip for the teams that receive the data.

The zip holds the data in the chosen format, the data dictionary as a readable file
(DICTIONARY.md), a README (version, build, code commit, sources and their versions, contract
and QA summaries, format notes) and SHA256SUMS. Only published files that still match the
checksums their publish.json records are packaged. Text that a spreadsheet would run as a
formula is neutralised as OWASP advises: a leading apostrophe in csv, a text cell with Excel's
quote prefix in xlsx. The same published version and format always give the same bytes:
entries in a fixed order with the publish date as their time, and every file written
deterministically (the xlsx and shapefile writers' own timestamps are set to the publish
date, a File Geodatabase's identifiers are GDAL's reproducible ones).

Products with a geometry column also package for GIS tools: `geoparquet`, `shapefile` (with
its .prj and a UTF-8 .cpg; long column names shortened, the README saying which became which),
`filegdb` (a zipped `<output>.gdb` File Geodatabase, one layer per output, written with GDAL's
OpenFileGDB driver) and `geojson` (RFC 7946: always reprojected to EPSG:4326, longitude first,
the README saying from which CRS). Each keeps the CRS of the data dictionary (or the one the
published GeoParquet declares).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.dictionary import Dictionary, TableEntry, load_dictionary
from lakehouse.errors import PackageError
from lakehouse.publish.publish import find_published, published_output_files
from lakehouse.publish.records import PublishRecord
from lakehouse.spatial import ensure_spatial, is_geometry_type
from lakehouse.sql import sql_identifier, sql_string
from lakehouse.store.storage import Store
from lakehouse.transform.recipe import load_recipe, recipe_path

PACKAGES_FOLDER = "packages"  # in the workspace, where packages go by default
FORMATS = ("parquet", "csv", "geoparquet", "shapefile", "filegdb", "geojson", "xlsx")
EXCEL_MAX_ROWS = 1_048_575  # a sheet's rows, less the header
EXCEL_MAX_CELL = 32_767  # characters in one cell
SHAPEFILE_NAME_LENGTH = 10
INT32 = (-(2**31), 2**31 - 1)  # the integers every File Geodatabase reader takes
# the first characters that make a spreadsheet read a text as a formula (OWASP: CSV injection)
FORMULA_START = re.compile(r"[=+@\t\r-]")
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?")
SPREADSHEET_SAFETY = {  # the README's word on text that a spreadsheet would run as a formula
    "csv": "A text value that a spreadsheet would run as a formula (one starting with =, +, -, "
    "@, a tab or a carriage return, unless it is just a number such as -5) is written with a "
    "leading apostrophe ('), as OWASP advises against CSV injection, so that Excel, "
    "LibreOffice and Google Sheets show it as text; remove the apostrophe when you read the "
    "file as data. Numbers are written as they are.",
    "xlsx": "Every text value is a text cell, never a formula: one that a spreadsheet would "
    "otherwise run (starting with =, +, -, @, a tab or a carriage return) is written unchanged "
    "as text, marked with Excel's quote prefix so that editing the cell keeps it text. Numbers "
    "are number cells.",
}


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
    """Write the handoff zip of a published version (`latest` allowed) to `target` (a zip path,
    or a folder to put it in), by default `<workspace>/packages/<product>-<version>-<format>.zip`,
    with the product's description
    (from its recipe, if it has one) and its data dictionary (if any) from the project."""
    import duckdb

    recipe = recipe_path(config.recipes_dir, product)
    description = load_recipe(config.recipes_dir, product).description if recipe.is_file() else ""
    dictionary = load_dictionary(config.contracts_dir, product)
    entry = find_published(store, product, version)
    folder = config.workspace_dir / PACKAGES_FOLDER
    if target is not None and target.is_dir():
        folder, target = target, None
    out = target or folder / f"{product}-{entry.version}-{fmt}.zip"
    outputs = published_output_files(entry)
    check_published_files(store, entry, outputs)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        return build_package(con, store, entry, outputs, dictionary, fmt, out, description)


def check_published_files(store: Store, entry: PublishRecord, outputs: dict[str, str]) -> None:
    """Refuse, naming the file, a published output that is missing or whose sha256 is not the
    one publish.json records (changed after publishing): nothing damaged is handed over."""
    for name, rel in outputs.items():
        recorded = entry.outputs[f"outputs/{name}"].sha256
        if not store.exists(rel):
            raise PackageError(
                f"{store.url(rel)} is missing, so {entry.product} {entry.version} cannot be "
                "packaged; run `lake verify` to see what else is damaged, then restore the "
                "file or publish the build again under a new version."
            )
        if store.sha256(rel)[0] != recorded:
            raise PackageError(
                f"{store.url(rel)} no longer matches the sha256 its publish.json records (it "
                f"changed after publishing), so {entry.product} {entry.version} is not "
                "packaged; run `lake verify` to see what else is damaged, then restore the "
                "file or publish the build again under a new version."
            )


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
            folder = scratch / name  # each output's files apart: a .gdb is a folder
            folder.mkdir()
            written, note = _write_data(con, store, name, rel, table, fmt, folder, stamp)
            notes += note
            for path in written:
                files[f"{top}/data/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
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
        select, count = _csv_neutralised(con, source)
        con.execute(f"COPY ({select}) TO {sql_string(str(target))} (HEADER)")
        return [target], _formula_note(name, count, "prefixed with an apostrophe (')")
    if fmt == "xlsx":
        target, count = _write_xlsx(con, name, source, scratch, stamp)
        return [target], _formula_note(name, count, "written as text with Excel's quote prefix")
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
    declared = table.column(geometry).geometry_type
    if fmt == "geojson":
        return _write_geojson(frame, name, scratch)
    if fmt == "filegdb":
        written, more = _write_filegdb(frame, name, declared, scratch)
        return written, notes + more
    written, renamed = _write_shapefile(frame, name, declared, scratch, stamp)
    return written, notes + renamed


def _text_columns(con: Any, source: str) -> list[str]:
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    return [column for column, type_name, *_ in described if type_name == "VARCHAR"]


def _formula_like(value: str) -> bool:
    """Whether a spreadsheet would take this text for a formula: it starts with = + - @, a tab
    or a carriage return (OWASP's list), and is not just a number like -5 or +1.5."""
    return bool(FORMULA_START.match(value)) and not PLAIN_NUMBER.fullmatch(value)


def _csv_neutralised(con: Any, source: str) -> tuple[str, int]:
    """The SELECT that writes the CSV, each formula-like text (`_formula_like`) with a leading
    apostrophe, as OWASP advises for CSV exports (a spreadsheet then shows it as text); and how
    many values it changes. Numbers are numbers, never touched."""
    columns = _text_columns(con, source)
    if not columns:
        return f"SELECT * FROM {source}", 0
    starts = sql_string("^" + FORMULA_START.pattern)  # RE2 reads \t and \r as Python does
    number = sql_string(f"^(?:{PLAIN_NUMBER.pattern})$")
    conditions = {
        column: f"(regexp_matches({sql_identifier(column)}, {starts}) AND NOT "
        f"regexp_matches({sql_identifier(column)}, {number}))"
        for column in columns
    }
    apostrophe = sql_string("'")
    replaced = ", ".join(
        f"CASE WHEN {condition} THEN {apostrophe} || {sql_identifier(column)} "
        f"ELSE {sql_identifier(column)} END AS {sql_identifier(column)}"
        for column, condition in conditions.items()
    )
    counted = " + ".join(f"count(*) FILTER ({c})" for c in conditions.values())
    count = int(con.execute(f"SELECT {counted} FROM {source}").fetchone()[0])
    return f"SELECT * REPLACE ({replaced}) FROM {source}", count


def _formula_note(name: str, count: int, how: str) -> list[str]:
    if not count:
        return []
    return [
        f"{name}: {count:,} text value{'s' if count != 1 else ''} that a spreadsheet would "
        f"take for formulas {'were' if count != 1 else 'was'} {how}."
    ]


def _write_xlsx(
    con: Any, name: str, source: str, scratch: Path, stamp: datetime
) -> tuple[Path, int]:
    """The output as one sheet (geometry as WKT) and how many formula-like texts it holds:
    every text is written as a text cell, never a formula (openpyxl would make a string
    starting with = one), the formula-like ones also with Excel's quote prefix, so that editing
    the cell keeps it text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    rows = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
    if rows > EXCEL_MAX_ROWS:
        raise PackageError(
            f"The output {name!r} has {rows:,} rows and an Excel sheet holds at most "
            f"{EXCEL_MAX_ROWS:,}; package it as csv or parquet."
        )
    workbook = Workbook(write_only=True)
    source = _geometry_as_text(con, name, source)
    workbook.properties.created = workbook.properties.modified = stamp.replace(tzinfo=None)
    workbook.properties.creator = "lakehouse"
    sheet = workbook.create_sheet(name[:31])
    text_columns = _text_columns(con, source)  # before the SELECT: one query at a time
    result = con.execute(f"SELECT * FROM {source}")
    header = [d[0] for d in result.description]
    sheet.append(header)
    texts = [header.index(column) for column in text_columns]
    count = 0
    while batch := result.fetchmany(10_000):
        for row in batch:
            values = list(row)
            for index in texts:
                value = values[index]
                if isinstance(value, str) and FORMULA_START.match(value):
                    cell = WriteOnlyCell(sheet, value)
                    cell.data_type = "s"  # text, even when it starts with =
                    cell.quotePrefix = True
                    values[index] = cell
                    count += _formula_like(value)
            sheet.append(values)
    target = scratch / f"{name}.xlsx"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _rezip(buffer.getvalue(), target, stamp)
    return target, count


def _geometry_as_text(con: Any, name: str, source: str) -> str:
    """The source with its geometry columns as WKT (a spreadsheet has no geometry); refused
    when a shape's WKT is longer than a cell holds."""
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    geometry = [column for column, type_name, *_ in described if is_geometry_type(type_name)]
    if not geometry:
        return source
    ensure_spatial(con)
    texts = ", ".join(f"ST_AsText({sql_identifier(c)}) AS {sql_identifier(c)}" for c in geometry)
    as_text = f"(SELECT * REPLACE ({texts}) FROM {source})"
    longest = con.execute(
        "SELECT max(greatest(" + ", ".join(f"length({sql_identifier(c)})" for c in geometry)
        + f", 0)) FROM {as_text}"
    ).fetchone()[0]  # fmt: skip
    if longest is not None and longest > EXCEL_MAX_CELL:
        raise PackageError(
            f"The output {name!r} has a shape whose WKT takes {longest:,} characters and an "
            f"Excel cell holds at most {EXCEL_MAX_CELL:,}; package it as geoparquet, filegdb, "
            "shapefile, geojson or csv."
        )
    return as_text


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
    values = shapely.from_wkb(
        [
            bytes(v) if isinstance(v, bytes | bytearray | memoryview) else None
            for v in frame[geometry]
        ]
    )  # a lot without a shape is NULL (pandas.NA), kept as a feature without geometry
    frame[geometry] = geopandas.GeoSeries(values, index=frame.index, crs=crs)
    return geopandas.GeoDataFrame(frame, geometry=geometry, crs=crs)  # its name and place kept


def _layer_geometry(frame: Any, name: str, fmt: str, declared: str | None) -> dict[str, Any]:
    """How pyogrio writes the geometry of a one-type layer (shapefile, File Geodatabase): the
    data's one kind of geometry, promoted to multi where single and multi parts mix (a point
    and a multipoint make a MultiPoint layer), or the dictionary's geometry_type for no rows."""
    kinds = sorted(set(frame.geometry.dropna().geom_type))
    families = {kind.removeprefix("Multi") for kind in kinds}
    if len(families) > 1 or "GeometryCollection" in families:
        raise PackageError(
            f"The output {name!r} mixes geometry types ({', '.join(kinds)}) and a {fmt} layer "
            f"holds one; package it as geoparquet or geojson, or split it by type."
        )
    if kinds:
        return {"promote_to_multi": len(kinds) > 1}
    return {"geometry_type": declared} if declared else {}


def _write_shapefile(
    frame: Any, name: str, declared: str | None, scratch: Path, stamp: datetime
) -> tuple[list[Path], list[str]]:
    names = shapefile_names([c for c in frame.columns if c != frame.geometry.name])
    renamed = {long: short for long, short in names.items() if long != short}
    frame = frame.rename(columns=renamed)
    target = scratch / f"{name}.shp"
    geometry = _layer_geometry(frame, name, "shapefile", declared)
    frame.to_file(target, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8", **geometry)
    dbf = target.with_suffix(".dbf")
    header = bytearray(dbf.read_bytes())
    header[1:4] = bytes([stamp.year - 1900, stamp.month, stamp.day])  # the last-update date
    dbf.write_bytes(bytes(header))
    cpg = target.with_suffix(".cpg")  # the .dbf's encoding, which GIS tools otherwise guess
    if not cpg.is_file():
        cpg.write_text("UTF-8")
    notes = [
        f"{name}: shapefile column names are at most 10 characters; renamed: "
        + ", ".join(f"{long} -> {short}" for long, short in renamed.items())
    ] if renamed else []  # fmt: skip
    return sorted(scratch.iterdir()), notes


@contextmanager
def _gdal_config(**options: str) -> Iterator[None]:
    """GDAL configuration options set for the block, and put back as they were after it."""
    import pyogrio

    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _write_filegdb(
    frame: Any, name: str, declared: str | None, scratch: Path
) -> tuple[list[Path], list[str]]:
    """`<name>.gdb` with one layer `<name>`. Integer columns become 32-bit integers where their
    values fit (the 64-bit kind needs ArcGIS Pro 3.2), else 64-bit floats, noted."""
    import pandas as pd
    import pyogrio

    notes: list[str] = []
    if frame.geometry.dropna().empty and declared is None:
        raise PackageError(
            f"The output {name!r} has no geometries to tell its geometry type, and a File "
            f"Geodatabase layer needs one; give the column a geometry_type in the dictionary."
        )
    geometry = _layer_geometry(frame, name, "filegdb", declared)
    frame = frame.copy()
    wide = []
    for column in frame.columns:
        values = frame[column]
        if column == frame.geometry.name or not pd.api.types.is_integer_dtype(values.dtype):
            continue
        present = values.dropna()
        if present.empty or (present.min() >= INT32[0] and present.max() <= INT32[1]):
            frame[column] = values.astype("Int32" if values.isna().any() else "int32")
        else:
            wide.append(column)
    if wide:
        notes.append(
            f"{name}: {', '.join(wide)} hold integers beyond 32 bits, written as 64-bit floats "
            f"in the File Geodatabase (exact up to 2^53)."
        )
    flags = [c for c in frame.columns if pd.api.types.is_bool_dtype(frame[c].dtype)]
    if flags:
        notes.append(
            f"{name}: {', '.join(flags)} are true/false, written as 1/0 integers (a File "
            f"Geodatabase has no boolean field)."
        )
    target = scratch / f"{name}.gdb"
    with warnings.catch_warnings(), _gdal_config(OPENFILEGDB_REPRODUCIBLE_UUID="YES"):
        warnings.filterwarnings("ignore", "Field .* will be written as a Float64")
        warnings.filterwarnings("ignore", "Normalized/laundered field name")
        frame.to_file(target, driver="OpenFileGDB", engine="pyogrio", layer=name, **geometry)
    ((layer, _),) = pyogrio.list_layers(target)
    if layer != name:
        notes.append(f"{name}: the File Geodatabase names its layer {layer}.")
    fields = pyogrio.read_info(target, layer=layer)["fields"]
    columns = [c for c in frame.columns if c != frame.geometry.name]
    renamed = [f"{c} -> {f}" for c, f in zip(columns, fields, strict=True) if c != f]
    if renamed:
        notes.append(
            f"{name}: renamed for the File Geodatabase's field name rules: {', '.join(renamed)}"
        )
    return sorted(p for p in target.rglob("*") if p.is_file()), notes


def _crs_name(crs: Any) -> str:
    code = crs.to_authority()
    return f"{code[0]}:{code[1]}" if code else str(crs.name)


def _write_geojson(frame: Any, name: str, scratch: Path) -> tuple[list[Path], list[str]]:
    """RFC 7946 GeoJSON: in EPSG:4326, longitude first (geopandas reprojects with always_xy),
    coordinates to 7 decimals, polygons' outer rings counterclockwise."""
    if frame.crs is None:
        raise PackageError(
            f"The output {name!r} declares no coordinate reference system, and GeoJSON must be "
            f"reprojected to EPSG:4326 from one; give its geometry column a crs in the dictionary."
        )
    source = _crs_name(frame.crs)
    target = scratch / f"{name}.geojson"
    frame.to_crs("EPSG:4326").to_file(
        target, driver="GeoJSON", engine="pyogrio", layer=name, RFC7946="YES"
    )
    how = (
        "already in EPSG:4326"
        if frame.crs.equals("EPSG:4326")
        else f"reprojected from the product's {source} to EPSG:4326"
    )
    return [target], [
        f"{name}: GeoJSON (RFC 7946) is {how} (WGS 84 longitude/latitude, longitude first), "
        "coordinates rounded to 7 decimals."
    ]


def dictionary_markdown(dictionary: Dictionary, entry: PublishRecord) -> str:
    lines = [f"# Data dictionary: {entry.product} {entry.version}", ""]
    for name, table in dictionary.tables.items():
        lines += [f"## {name}", "", table.description, ""]
        if table.primary_key:
            lines += [f"Primary key: {', '.join(table.primary_key)}", ""]
        lines += ["| column | type | empty allowed | description | source |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for column in table.columns:
            kind = column.storage_type
            if column.type == "geometry":
                kind = ", ".join(filter(None, [column.geometry_type or kind, column.crs]))
            lines.append(
                f"| {column.name} | {kind} | {'yes' if column.nullable else 'no'} "
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
    if fmt in SPREADSHEET_SAFETY:
        lines += ["", "## Formulas", "", SPREADSHEET_SAFETY[fmt]]
    lines += [
        "",
        "DICTIONARY.md describes every column; SHA256SUMS lists the files' checksums.",
        "",
    ]
    return "\n".join(lines)
