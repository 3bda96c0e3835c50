"""`lake metadata <product>`: the product's metadata (from its recipe) and data dictionary as
a file for people, the one the team sends with every release: Markdown, or an Excel workbook
(a sheet for the product, one per table). The same text as the package's DICTIONARY.md and
every destination's column metadata: one source of truth."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.dictionary import Dictionary, require_dictionary
from lakehouse.distribute.delivery import ProductMetadata, product_metadata
from lakehouse.publish.package import dictionary_markdown, value_rules
from lakehouse.store.storage import replace_whole
from lakehouse.transform.recipe import load_recipe

MetadataFormat = Literal["md", "xlsx"]
COLUMN_HEADINGS = ("column", "type", "empty allowed", "description", "source", "values")


def write_metadata(
    config: LakehouseConfig, product: str, fmt: MetadataFormat, target: Path | None = None
) -> Path:
    """Write the product's metadata and dictionary to `target` (default
    `<workspace>/metadata/<product>-dictionary.<fmt>`)."""
    metadata = product_metadata(load_recipe(config.recipes_dir, product))
    dictionary = require_dictionary(config.contracts_dir, product)
    out = target or config.workspace_dir / "metadata" / f"{product}-dictionary.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        text = metadata_markdown(metadata, dictionary, product)
        replace_whole(out, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    else:
        replace_whole(out, lambda temporary: _write_workbook(metadata, dictionary, temporary))
    return out


def product_facts(metadata: ProductMetadata) -> list[tuple[str, str]]:
    """The product's metadata as (label, text) pairs, the empty ones left out."""
    facts = [
        ("Title", metadata.title),
        ("Description", metadata.description),
        ("Owner", metadata.owner),
        ("Tags", ", ".join(metadata.tags)),
        ("Updated", metadata.cadence or ""),
        ("Attribution", metadata.attribution or ""),
        ("License", metadata.license or ""),
    ]
    return [(label, text) for label, text in facts if text]


def metadata_markdown(metadata: ProductMetadata, dictionary: Dictionary, product: str) -> str:
    facts = [f"- **{label}**: {text}" for label, text in product_facts(metadata)]
    body = dictionary_markdown(dictionary, product)
    return "\n".join([f"# {metadata.title}", "", *facts, "", body])


def _write_workbook(metadata: ProductMetadata, dictionary: Dictionary, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "product"
    for label, text in product_facts(metadata):
        sheet.append([label, text])
    for name, table in dictionary.tables.items():
        columns = book.create_sheet(name[:31])  # Excel's limit on a sheet's name
        columns.append(list(COLUMN_HEADINGS))
        for cell in columns[1]:
            cell.font = Font(bold=True)
        for column in table.columns:
            columns.append(
                [
                    column.name,
                    column.storage_type,
                    "yes" if column.nullable else "no",
                    column.description,
                    column.source or "",
                    value_rules(column),
                ]
            )
    for each in book.worksheets:  # text stays text: nothing a spreadsheet would run
        for row in each.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                    cell.value = "'" + cell.value
    book.save(path)
