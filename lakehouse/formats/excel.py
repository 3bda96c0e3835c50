"""Excel workbooks (.xlsx): one sheet, every value kept as text.

A template's `format: {type: excel, sheet: <name or number>}` (default: the first sheet),
with `geometry:` when columns hold one (see `geometry`); claims .xlsx. Several sheets of one
workbook are several datasets: a template each, naming its sheet (each archives the workbook's
bytes, with their checksum, beside its own versions). A workbook is a zip: it is refused, before
it is opened, when it would unpack to more than `max_unzipped_bytes` or a file of it is
compressed more than `max_compression_ratio` to 1 (see `unzip`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.errors import FormatError
from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geometry import GeometryColumns, add_geometry, geometry_field, text_view
from lakehouse.formats.unzip import (
    ZipLimits,
    check_zip,
    compression_ratio_field,
    unzipped_bytes_field,
)
from lakehouse.formats.view import checked_column_names, register_tables

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


class ExcelFormat(FormatSpec):
    type: Literal["excel"]
    sheet: str | int = 0
    geometry: GeometryColumns | None = geometry_field()
    max_unzipped_bytes: int = unzipped_bytes_field()
    max_compression_ratio: float = compression_ratio_field()


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: ExcelFormat) -> None:
    register_tables(con, [_read_excel(path, fmt) for path in files], text_view(fmt.geometry))
    add_geometry(con, fmt.geometry, files)


def _read_excel(path: Path, fmt: ExcelFormat) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    check_zip(path, ZipLimits.of(fmt))  # openpyxl reads through zipfile: declared sizes bound it
    try:
        sheet = pd.read_excel(path, sheet_name=fmt.sheet, dtype=str, header=None, engine="openpyxl")
    except ValueError as exc:
        raise FormatError(f"{path.name}: {exc}; set format.sheet to an existing sheet.") from exc
    except Exception as exc:
        raise FormatError(f"{path.name} is not a readable .xlsx workbook ({exc}).") from exc
    if sheet.empty:
        raise FormatError(f"The sheet {fmt.sheet!r} of {path.name} is empty; check format.sheet.")
    _refuse_uncalculated_formulas(path, fmt.sheet)
    header = [None if pd.isna(value) else value for value in sheet.iloc[0]]
    names = checked_column_names(header, f"{path.name} (sheet {fmt.sheet!r})")
    rows = sheet.iloc[1:].astype(object)
    rows = rows.where(rows.notna(), None)
    return pa.table(
        {
            name: pa.array(rows[column].tolist(), pa.string())
            for name, column in zip(names, rows, strict=True)
        }
    )


def _refuse_uncalculated_formulas(path: Path, sheet: str | int) -> None:
    """A formula cell keeps its value only if the program that saved the workbook calculated
    it (Excel does; many exporters do not): without one, reading it would give an empty cell
    that the sheet does not have. Refuse, naming the first such cell."""
    from openpyxl import load_workbook

    formulas = load_workbook(path, read_only=True, data_only=False)
    values = load_workbook(path, read_only=True, data_only=True)
    try:
        name = sheet if isinstance(sheet, str) else formulas.sheetnames[sheet]
        for formula_row, value_row in zip(
            formulas[name].iter_rows(), values[name].iter_rows(), strict=False
        ):
            for formula, value in zip(formula_row, value_row, strict=False):
                if formula.data_type == "f" and value.value is None:
                    raise FormatError(
                        f"{path.name} (sheet {name!r}) cell {formula.coordinate} holds the "
                        f"formula {str(formula.value)[:60]} with no saved value; open the "
                        "workbook in Excel and save it (which calculates it), or export the "
                        "sheet as CSV."
                    )
    finally:
        formulas.close()
        values.close()


FORMAT = Format(name="excel", spec=ExcelFormat, load=load, suffixes=(".xlsx",))
