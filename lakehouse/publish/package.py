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

Products with a geometry column also package for GIS tools: `geoparquet`, `shapefile`,
`filegdb` and `geojson`, written by gis_formats.py.
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
from lakehouse.contracts.dictionary import ColumnEntry, Dictionary, TableEntry, load_dictionary
from lakehouse.errors import PackageError
from lakehouse.publish.gis_formats import write_gis_data
from lakehouse.publish.publish import (
    find_published,
    published_output_file_lists,
    published_output_files,
)
from lakehouse.publish.records import PublishRecord
from lakehouse.spatial import ensure_spatial, is_geometry_type
from lakehouse.sql import sql_identifier, sql_string
from lakehouse.store.storage import Store, replace_whole
from lakehouse.transform.recipe import load_recipe, recipe_path
from lakehouse.transform.records import OutputRecord

PACKAGES_FOLDER = "packages"  # in the workspace, where packages go by default
FORMATS = ("parquet", "csv", "geoparquet", "shapefile", "filegdb", "geojson", "xlsx")
EXCEL_MAX_ROWS = 1_048_575  # a sheet's rows, less the header
EXCEL_MAX_CELL = 32_767  # characters in one cell
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
    """Refuse, naming the file, a published output (of `outputs`, by name) whose file, or any
    of its parts, is missing or has not the sha256 publish.json records (changed after
    publishing): nothing damaged is handed over."""
    files = published_output_file_lists(entry)
    for name in outputs:
        recorded = entry.outputs[f"outputs/{name}"].files()
        for rel, file in zip(files[name], recorded, strict=True):
            if not store.exists(rel):
                raise PackageError(
                    f"{store.url(rel)} is missing, so {entry.product} {entry.version} cannot be "
                    "packaged; run `lake verify` to see what else is damaged, then restore the "
                    "file or publish the build again under a new version."
                )
            if store.sha256(rel)[0] != file.sha256:
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
    """Write the package of the published version `entry` (`outputs`: the outputs to package,
    by name, as `published_output_files` gives them; their files are those `entry` records,
    one or its parts; `con` has the store registered)."""
    if fmt not in FORMATS:
        raise PackageError(f"Unknown package format {fmt!r}; use one of {', '.join(FORMATS)}.")
    # a promoted copy packages like the original: the first publication's time
    stamp = entry.first_published_at
    top = f"{entry.product}-{entry.version}"
    files: dict[str, bytes] = {}
    notes: list[str] = []
    stored = published_output_file_lists(entry)
    with store.scratch_dir() as scratch:
        for name in outputs:
            table = dictionary.tables.get(name) if dictionary else None
            folder = scratch / name  # each output's files apart: a .gdb is a folder
            folder.mkdir()
            written, note = _write_data(con, store, name, stored[name], table, fmt, folder, stamp)
            notes += note
            for path in written:
                files[f"{top}/data/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    if dictionary is not None:
        title = f"{entry.product} {entry.version}"
        files[f"{top}/DICTIONARY.md"] = dictionary_markdown(dictionary, title).encode()
    files[f"{top}/README.md"] = readme(entry, fmt, description, notes).encode()
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name.removeprefix(top + '/')}\n"
                   for name, data in sorted(files.items()))  # fmt: skip
    files[f"{top}/SHA256SUMS"] = sums.encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_whole(out, lambda temporary: _write_zip(temporary, files, stamp))  # whole or none
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


def _write_data(
    con: Any,
    store: Store,
    name: str,
    files: list[str],
    table: TableEntry | None,
    fmt: str,
    scratch: Path,
    stamp: datetime,
) -> tuple[list[Path], list[str]]:
    """Write one output (its published `files`: one, or its parts in order) in `fmt`."""
    source = "read_parquet([" + ", ".join(sql_string(store.url(rel)) for rel in files) + "])"
    if fmt == "parquet":  # the published bytes, unchanged (parts: in a folder of the name)
        if len(files) == 1 and files[0].endswith(f"/{name}.parquet"):
            targets = [scratch / f"{name}.parquet"]
        else:
            targets = [scratch / name / rel.rsplit("/", 1)[1] for rel in files]
            targets[0].parent.mkdir()
        for rel, target in zip(files, targets, strict=True):
            target.write_bytes(store.read_bytes(rel))
        return targets, []
    if fmt == "csv":
        target = scratch / f"{name}.csv"
        select, count = _csv_neutralised(con, source)
        con.execute(f"COPY ({select}) TO {sql_string(str(target))} (HEADER)")
        return [target], _formula_note(name, count, "prefixed with an apostrophe (')")
    if fmt == "xlsx":
        target, count = _write_xlsx(con, name, source, scratch, stamp)
        return [target], _formula_note(name, count, "written as text with Excel's quote prefix")
    return write_gis_data(con, store, files[0], source, name, table, fmt, scratch, stamp)


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


def dictionary_markdown(dictionary: Dictionary, title: str) -> str:
    """The data dictionary in Markdown, headed `# Data dictionary: <title>`."""
    lines = [f"# Data dictionary: {title}", ""]
    for name, table in dictionary.tables.items():
        lines += [f"## {name}", "", table.description, ""]
        if table.primary_key:
            lines += [f"Primary key: {', '.join(table.primary_key)}", ""]
        lines += ["| column | type | empty allowed | description | source | values |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for column in table.columns:
            kind = column.storage_type
            if column.type == "geometry":
                kind = ", ".join(filter(None, [column.geometry_type or kind, column.crs]))
            lines.append(
                f"| {column.name} | {kind} | {'yes' if column.nullable else 'no'} "
                f"| {_cell(column.description)} | {_cell(column.source or '')} "
                f"| {_cell(value_rules(column))} |"
            )
        lines.append("")
    return "\n".join(lines)


SHOWN_ALLOWED = 20  # allowed values listed in a package's dictionary, then a count


def value_rules(column: ColumnEntry) -> str:
    """What a column's values may be, as the docs site says it (`ColumnEntry.rules_text`),
    with its example."""
    rules = column.rules_text(allowed_shown=SHOWN_ALLOWED)
    example = f"e.g. {column.example}" if column.example is not None else ""
    return "; ".join(filter(None, [rules, example]))


def _cell(text: str) -> str:
    """Text for a Markdown table cell: no pipe (it would end the cell), no line break."""
    return text.replace("|", "/").replace("\n", " ")


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
            f"- {key.split('/', 1)[1]}: {o.rows:,} rows " + _published_as(o)
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


def _published_as(output: OutputRecord) -> str:
    """How the README names an output's published bytes: its file's sha256, or its parts."""
    if output.parts is None:
        return f"(published file sha256 {output.sha256})"
    return f"(published as {len(output.parts)} part files, read in name order)"
