"""Geometry from the columns of a text source (CSV, JSON, Excel), made at ingest: the
template's `format.geometry:` names a column of WKT, or of hex WKB, or a pair of x/y columns,
and the CRS they are in (required: a geometry without one cannot be reprojected, overlaid or
packaged). The source's columns are kept as they are; the geometry is one more column, written
as GeoParquet with its CRS, exactly as a GeoJSON or Shapefile source's.

    format:
      type: csv
      geometry: {wkt: the_geom, crs: EPSG:4326}         # WKT text (EWKT's SRID=n; is ignored)
      # or {wkb: geom_hex, crs: EPSG:2263}              # hex WKB or PostGIS EWKB (\\x, 0x ok)
      # or {x: longitude, y: latitude, crs: EPSG:4326}  # numbers; x is the longitude
      # column: geom                                    # its name; default: geometry (geom
      #                                                 # when the source has a `geometry`)

The columns are named as the file's header names them (before the template's steps). A row
whose value is empty (null or blanks; for x/y, both) gets a NULL geometry. A row whose value
is not empty but does not parse (truncated WKT, a curve type, bad hex, x or y not a finite
number) also gets a NULL geometry, and is counted: the manifest's `unparsed_geometries`, with
a few of the values in its geometry step. It is not refused, because the archive's job is to
keep what the publisher published: refusing the ingest loses that version for good when the
source changes before it is fixed, while the text itself is archived as it came, so nothing
is lost and the count says what to look at (and the source QA flags it when it grows). A
product that needs every geometry says so in its contract (`nullable: false`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from lakehouse.errors import FormatError
from lakehouse.formats.view import SOURCE_VIEW
from lakehouse.records import Strict
from lakehouse.spatial import check_crs, ensure_spatial
from lakehouse.sql import sql_identifier, sql_string

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

    from lakehouse.formats import FormatSpec

TEXT_VIEW = "source_text"  # a text source's own columns, before its geometry is added
DEFAULT_NAMES = ("geom", "geometry")  # the first one the source does not use, as geo formats do
UNPARSED_SAMPLE = 3  # values of unparsed geometries kept in the manifest's geometry step
SAMPLE_CHARACTERS = 80


def _absent(value: Any) -> bool:
    return value is None


def _column(description: str) -> Any:
    return Field(default=None, min_length=1, description=description, exclude_if=_absent)


class GeometryColumns(Strict):
    """A text format's `geometry:`: where a row's geometry is (`wkt`, `wkb`, or `x` and `y`)
    and its CRS."""

    wkt: str | None = _column("the column of WKT text, e.g. POINT (-73.99 40.73)")
    wkb: str | None = _column("the column of hex-encoded WKB (or PostGIS EWKB)")
    x: str | None = _column("the column of x: the longitude, or the easting")
    y: str | None = _column("the column of y: the latitude, or the northing")
    crs: str = Field(description="the CRS of the values, e.g. EPSG:4326")
    column: str | None = _column(
        "the name of the geometry column (default: geom, or geometry when the source has a "
        "column named geom)"
    )

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, crs: str) -> str:
        return check_crs(crs)

    @model_validator(mode="after")
    def _one_kind(self) -> GeometryColumns:
        given = [name for name in ("wkt", "wkb") if getattr(self, name) is not None]
        if (self.x is None) != (self.y is None):
            raise ValueError("x and y go together: give both columns (x the longitude)")
        if self.x is not None:
            given.append("x and y")
        if len(given) != 1:
            raise ValueError(
                "give exactly one of wkt, wkb, or x and y (the column(s) holding the geometry)"
                + (f"; got {' and '.join(given)}" if given else "")
            )
        return self

    @property
    def kind(self) -> Literal["wkt", "wkb", "xy"]:
        return "wkt" if self.wkt is not None else "wkb" if self.wkb is not None else "xy"

    @property
    def source_columns(self) -> list[str]:
        """The source columns the geometry is made from."""
        found = [self.wkt] if self.kind == "wkt" else [self.wkb] if self.kind == "wkb" else []
        return [c for c in (*found, self.x, self.y) if c is not None]

    def describe(self) -> dict[str, str]:
        """Where the geometry comes from, for the manifest: {"wkt": "the_geom"}."""
        if self.kind == "xy":
            return {"x": str(self.x), "y": str(self.y)}
        return {self.kind: self.source_columns[0]}


def geometry_field() -> Any:
    """A text format's `geometry:` (None: the source has no geometry); left out of the
    template's dump when not given, so templates written before it keep their hash."""
    return Field(
        default=None,
        description="make a geometry column from a WKT, a hex WKB or an x/y pair of columns",
        exclude_if=_absent,
    )


def geometry_columns_of(fmt: FormatSpec) -> GeometryColumns | None:
    """The `geometry:` of a format's spec, if it has one."""
    found = getattr(fmt, "geometry", None)
    return found if isinstance(found, GeometryColumns) else None


def text_view(spec: GeometryColumns | None) -> str:
    """The view a text format creates over its files: `source_data` itself when the source has
    no geometry, else the view `add_geometry` makes `source_data` from."""
    return SOURCE_VIEW if spec is None else TEXT_VIEW


def added_column(spec: GeometryColumns, columns: list[str], file_name: str) -> str:
    """The name of the geometry column added to a source with `columns`."""
    if spec.column is not None:
        if spec.column in columns:
            raise FormatError(
                f"{file_name} already has a column {spec.column!r}; set format.geometry.column "
                "to a name it does not use."
            )
        return spec.column
    free = [name for name in DEFAULT_NAMES if name not in columns]
    if not free:
        raise FormatError(
            f"{file_name} already has columns named {' and '.join(DEFAULT_NAMES)}; set "
            "format.geometry.column to the name the geometry column should have."
        )
    return free[0]


def add_geometry(
    con: duckdb.DuckDBPyConnection, spec: GeometryColumns | None, files: list[Path]
) -> None:
    """Make `source_data` the text view's columns and the geometry made from them (nothing to
    do without a `geometry:`). DuckDB's spatial extension is loaded to parse it."""
    if spec is None:
        return
    file_name = files[0].name if len(files) == 1 else f"{files[0].name} (and the other files)"
    columns = [row[0] for row in con.execute(f"DESCRIBE {TEXT_VIEW}").fetchall()]
    missing = [name for name in spec.source_columns if name not in columns]
    if missing:
        raise FormatError(
            f"format.geometry names column(s) {', '.join(map(repr, missing))} that {file_name} "
            f"does not have (its columns: {', '.join(columns)}); name them as its header does."
        )
    ensure_spatial(con)
    name = added_column(spec, columns, file_name)
    expression = geometry_expression(spec, {c: sql_identifier(c) for c in spec.source_columns})
    con.execute(
        f"CREATE OR REPLACE VIEW {SOURCE_VIEW} AS "
        f"SELECT *, {expression} AS {sql_identifier(name)} FROM {TEXT_VIEW}"
    )


def _text(expression: str) -> str:
    """A value as trimmed text, NULL when blank."""
    return f"nullif(trim(CAST({expression} AS VARCHAR)), '')"


def _number(expression: str) -> str:
    return f"TRY_CAST({_text(expression)} AS DOUBLE)"


def geometry_expression(spec: GeometryColumns, columns: dict[str, str]) -> str:
    """The SQL of the geometry (NULL where empty or unparseable), tagged with its CRS (as
    PROJJSON, which GeoParquet's metadata holds); `columns` maps each source column the spec
    names to its SQL expression."""
    import pyproj

    if spec.kind == "wkt":
        made = f"ST_GeomFromText({_text(columns[str(spec.wkt)])}, ignore_invalid := true)"
    elif spec.kind == "wkb":
        hex_text = f"regexp_replace({_text(columns[str(spec.wkb)])}, '^(\\\\x|0x)', '', 'i')"
        made = f"try(ST_GeomFromHEXWKB({hex_text}))"
    else:
        x, y = _number(columns[str(spec.x)]), _number(columns[str(spec.y)])
        made = f"CASE WHEN isfinite({x}) AND isfinite({y}) THEN ST_Point({x}, {y}) END"
    crs = json.dumps(pyproj.CRS.from_user_input(spec.crs).to_json_dict())
    return f"ST_SetCRS({made}, {sql_string(crs)})"


def unparsed_condition(spec: GeometryColumns, columns: dict[str, str], geometry: str) -> str:
    """The SQL condition of a row whose geometry did not parse: a source value that is not
    empty, and no geometry. `columns` maps the source columns to their SQL expressions,
    `geometry` is the geometry's."""
    given = " OR ".join(f"{_text(columns[name])} IS NOT NULL" for name in spec.source_columns)
    return f"({given}) AND {geometry} IS NULL"


def unparsed_sample_value(spec: GeometryColumns, columns: dict[str, str]) -> str:
    """The SQL of a row's source value(s) as one short text, for the manifest's sample."""
    parts = [f"coalesce(CAST({columns[name]} AS VARCHAR), '')" for name in spec.source_columns]
    joined = parts[0] if len(parts) == 1 else f"concat_ws(' ', {', '.join(parts)})"
    return f"left({joined}, {SAMPLE_CHARACTERS})"
