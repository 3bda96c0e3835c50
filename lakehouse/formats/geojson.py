"""GeoJSON: features with their geometry (see `geo`).

A template's `format: {type: geojson}`; claims .geojson.

GDAL reads a geometry it cannot parse (coordinates written as text, a position of one number,
a type GeoJSON does not have) as NULL, without a word. So when GDAL gives any NULL geometry, the
file's features are read again, one at a time (memory stays bounded whatever the file), and a
feature whose geometry was there but came back NULL is refused, naming it and what is wrong; a
geometry that is null or absent in the file (or empty) stays NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from lakehouse.errors import FormatError
from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geo import EXTENSION_NAME, declared_crs_field, read_geo
from lakehouse.formats.view import register_tables

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

GEOMETRY_TYPES = {
    "Point": 0,  # how deep its positions are nested in `coordinates`
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
READ_CHARS = 1 << 20  # what the feature reader adds to its window at a time


class GeoJsonFormat(FormatSpec):
    type: Literal["geojson"]
    crs: str | None = declared_crs_field()


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: GeoJsonFormat) -> None:
    tables = []
    for path in files:
        table = read_geo(path, None, fmt.crs)
        refuse_unread_geometries(path, table)
        tables.append(table)
    register_tables(con, tables)


def refuse_unread_geometries(path: Path, table: pa.Table) -> None:
    """Refuse the file when a feature's geometry is in it but GDAL read it as NULL."""
    column = next(
        (
            table.column(index)
            for index, field in enumerate(table.schema)
            if (field.metadata or {}).get(EXTENSION_NAME) == b"geoarrow.wkb"
        ),
        None,
    )
    if column is None or column.null_count == 0:
        return
    nulls = set(column.is_null().to_numpy(zero_copy_only=False).nonzero()[0].tolist())
    try:
        for index, (present, geometry) in enumerate(_feature_geometries(path)):
            if index not in nulls or not present or geometry is None:
                continue
            problem = _geometry_problem(geometry)
            if problem is None and not _is_empty(geometry):
                problem = f"has a geometry that could not be read ({_shown(geometry)})"
            if problem is not None:
                raise FormatError(f"{path.name}: feature {index + 1} {problem}.")
    except (ValueError, RecursionError) as exc:  # GDAL took what Python's JSON reader does not
        raise FormatError(
            f"{path.name}: {len(nulls):,} of its geometries were read as NULL, and the file could "
            f"not be read again to tell whether they are null in it ({exc}); check the file."
        ) from exc


def _geometry_problem(geometry: Any) -> str | None:
    """What keeps GDAL from reading a GeoJSON geometry, or None (an empty one: NULL is right)."""
    if not isinstance(geometry, dict):
        return f"has a geometry that is not a JSON object ({_shown(geometry)})"
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            return "has a GeometryCollection without a list of geometries"
        return next((p for m in members if (p := _geometry_problem(m)) is not None), None)
    if kind not in GEOMETRY_TYPES:
        return f"has a geometry of type {_shown(kind)}, which GeoJSON does not have"
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list):
        return "has a geometry without coordinates (a list of positions)"
    return _positions_problem(coordinates, GEOMETRY_TYPES[str(kind)])


def _positions_problem(value: Any, depth: int) -> str | None:
    if not isinstance(value, list):
        return f"has coordinates nested wrongly for its type ({_shown(value)})"
    if depth > 0:
        return next((p for v in value if (p := _positions_problem(v, depth - 1)) is not None), None)
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float):
            return (
                f"has a coordinate that is not a number ({_shown(number)}); coordinates must be "
                "numbers: fix the source (or the export that wrote them)"
            )
    if 0 < len(value) < 2:
        return f"has a position of fewer than 2 numbers ({_shown(value)}); fix the source"
    return None


def _is_empty(geometry: Any) -> bool:
    """Whether a geometry GDAL could read is empty (`"coordinates": []`): NULL is right."""
    if not isinstance(geometry, dict):
        return False
    if geometry.get("type") == "GeometryCollection":
        return all(_is_empty(member) for member in geometry.get("geometries") or [])
    return not _holds_values(geometry.get("coordinates"))


def _holds_values(value: Any) -> bool:
    return any(_holds_values(v) for v in value) if isinstance(value, list) else True


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _feature_geometries(path: Path) -> Iterator[tuple[bool, Any]]:
    """For each feature of a GeoJSON file, in order: whether it has a `geometry` member, and
    that member's value. A FeatureCollection's features are decoded one at a time; a file of
    one Feature (or one bare geometry) is that one feature."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        reader = _Reader(handle)
        if reader.peek() != "{":
            return
        reader.take("{")
        members: dict[str, Any] = {}
        while reader.peek() == '"':
            key = reader.value()
            reader.take(":")
            if key == "features" and reader.peek() == "[":
                reader.take("[")
                while reader.peek() not in ("]", ""):
                    feature = reader.value()
                    if isinstance(feature, dict):
                        yield "geometry" in feature, feature.get("geometry")
                    if reader.peek() == ",":
                        reader.take(",")
                reader.take("]")
                members["features"] = None
            else:
                members[str(key)] = reader.value()
            if reader.peek() == ",":
                reader.take(",")
    if "features" not in members and members.get("type") == "Feature":
        yield "geometry" in members, members.get("geometry")
    elif "features" not in members and members.get("type") in GEOMETRY_TYPES:
        yield True, members


class _Reader:
    """JSON values decoded one at a time from a text file, through a window that grows only as
    far as the value being decoded needs."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.text = ""
        self.at = 0
        self.ended = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.ended:
            return False
        wanted = max(READ_CHARS, len(self.text) - self.at)  # doubles for a long value
        piece = self.handle.read(wanted)
        self.text = self.text[self.at :] + piece
        self.at = 0
        self.ended = not piece
        return bool(piece)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self.at < len(self.text) and self.text[self.at] in " \t\r\n":
                self.at += 1
            if self.at < len(self.text) or not self._more():
                return self.text[self.at : self.at + 1]

    def take(self, character: str) -> None:
        if self.peek() != character:
            raise ValueError(f"expected {character!r} at character {self.at:,} of the window")
        self.at += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.at)
            except ValueError:
                if self._more():
                    continue
                raise
            if end == len(self.text) and self._more():  # a number may go on
                continue
            self.at = end
            return value


FORMAT = Format(name="geojson", spec=GeoJsonFormat, load=load, suffixes=(".geojson",))
