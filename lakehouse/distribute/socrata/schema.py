"""The dataset's output schema: each delivered column's field name (the destination's rename),
display name and description from the data dictionary, and a SoQL transform from its type, made
from the column Socrata guessed for the same file column; and the checks around it: field names
Socrata accepts and geometry in longitude and latitude before anything is sent, every value
converted before the revision is applied."""

from __future__ import annotations

import re
from typing import Any

from lakehouse.distribute.delivery import DeliveredColumn, DeliveredTable, Delivery
from lakehouse.distribute.socrata.spec import SocrataSpec
from lakehouse.errors import DistributeError

FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
WGS84 = frozenset({"EPSG:4326", "OGC:CRS84"})
# the SoQL transform of each data dictionary type (and Parquet type, without a dictionary);
# a type not here (geometry) keeps the transform Socrata guessed from the file
TRANSFORMS = {
    "text": "`{}`",
    "string": "`{}`",
    "large_string": "`{}`",
    "integer": "to_number(`{}`)",
    "float": "to_number(`{}`)",
    "decimal": "to_number(`{}`)",
    "bbl": "to_number(`{}`)",
    "bool": "to_boolean(`{}`)",
    "date": "to_floating_timestamp(`{}`)",
    "datetime": "to_floating_timestamp(`{}`)",
}
NUMBER_TYPE = re.compile(r"^(u?int\d+|double|float\d*|halffloat|decimal\d*\(.*\))$")


def check_field_names(spec: SocrataSpec, table: DeliveredTable) -> None:
    """Refuse column names Socrata would not keep as field names."""
    bad = [column.name for column in table.columns if not FIELD_NAME.match(column.name)]
    if bad:
        raise DistributeError(
            f"Socrata field names are lower-case letters, digits and underscores, and "
            f"{table.name} has {', '.join(bad)}; give them Socrata names in the renames of "
            f"destination {spec.name!r}."
        )


def check_crs(spec: SocrataSpec, delivery: Delivery, table: DeliveredTable) -> None:
    """Refuse geometry that is not in longitude and latitude."""
    if table.geometry is not None and table.crs not in WGS84:
        raise DistributeError(
            "Socrata keeps geometry as longitude and latitude (EPSG:4326) and "
            f"{delivery.product}'s {table.geometry} is in {table.crs or 'an unknown CRS'}; "
            "transform it to EPSG:4326 in the product, or send it to ArcGIS instead of "
            f"{spec.name!r}."
        )


def output_columns(
    input_schema: dict[str, Any], guessed: dict[str, Any], table: DeliveredTable
) -> list[dict[str, Any]]:
    """The output columns to ask for: one per delivered column, in its order, each made from
    the column Socrata guessed for the same file column."""
    inputs = {column["field_name"]: column for column in input_schema.get("input_columns", [])}
    by_input = _guessed_by_input(guessed)
    columns, missing = [], []
    for position, delivered in enumerate(table.columns, start=1):
        file_column = inputs.get(socrata_field_name(delivered.source))
        made = by_input.get(file_column["id"]) if file_column else None
        if file_column is None or made is None:
            missing.append(delivered.source)
            continue
        columns.append(_output_column(delivered, file_column, made, position))
    if missing:
        found = ", ".join(sorted(inputs)) or "none"
        raise DistributeError(
            f"Socrata's parse of the upload has no column for {', '.join(missing)} (it found "
            f"{found}); the upload was discarded and the live dataset was not changed."
        )
    return columns


def _output_column(
    delivered: DeliveredColumn, file_column: dict[str, Any], made: dict[str, Any], position: int
) -> dict[str, Any]:
    transform = dict(made.get("transform") or {})
    expression = transform_expression(delivered.type, file_column["field_name"])
    if expression is not None:
        transform = {"transform_expr": expression}
    column = {
        "field_name": delivered.name,
        "display_name": delivered.display_name,
        "description": delivered.description,
        "position": position,
        "is_primary_key": False,
        "transform": transform,
    }
    if "id" in made:
        column["initial_output_column_id"] = made["id"]
    return column


def socrata_field_name(header: str) -> str:
    """The field name Socrata gives a file's column header."""
    return re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def transform_expression(kind: str, field: str) -> str | None:
    """The SoQL transform that makes a file column the dictionary's type (None: keep Socrata's)."""
    template = TRANSFORMS.get(kind)
    if template is None and NUMBER_TYPE.match(kind):
        template = TRANSFORMS["float"]
    if template is None and kind.startswith(("date", "timestamp")):
        template = TRANSFORMS["datetime"]
    return template.format(field) if template is not None else None


def check_converted(output: dict[str, Any], table: DeliveredTable) -> None:
    """Refuse an output schema in which Socrata could not convert some value."""
    failed = failed_columns(output)
    errors = int(output.get("error_count") or 0)
    if failed or errors:
        where = f" (in {', '.join(failed)})" if failed else ""
        raise DistributeError(
            f"Socrata could not convert {errors:,} value{'s' if errors != 1 else ''} of "
            f"{table.name} to the dictionary's types{where}; the upload was discarded and the "
            "live dataset was not changed (check those columns' types in the dictionary)."
        )


def failed_columns(output: dict[str, Any]) -> list[str]:
    """The output columns whose transform failed or found values it could not convert."""
    return [
        str(column.get("field_name"))
        for column in output.get("output_columns", [])
        if (column.get("transform") or {}).get("failed_at")
        or int((column.get("transform") or {}).get("error_count") or 0)
    ]


def _guessed_by_input(guessed: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """Socrata's guessed output columns by the id of the one file column each is made from."""
    by_input = {}
    for column in guessed.get("output_columns", []):
        sources = (column.get("transform") or {}).get("transform_input_columns") or []
        if len(sources) == 1:
            by_input[sources[0].get("input_column_id")] = column
    return by_input
