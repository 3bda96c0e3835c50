"""Reading geo files with GDAL (through pyogrio), for the geojson and shapefile formats: the
geometry kept (as WKB tagged geoarrow.wkb, so DuckDB sees a GEOMETRY column named `geom`,
written out as GeoParquet) with the attribute types GDAL reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.errors import FormatError

if TYPE_CHECKING:
    import pyarrow as pa

GEOMETRY_COLUMN_NAMES = ("geom", "geometry", "geom_wkb")  # the first one no attribute uses


def _geo_path(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)


def read_geo(path: Path, layer: str | None) -> pa.Table:
    """Features with their geometry as WKB (tagged geoarrow.wkb, so DuckDB sees GEOMETRY)."""
    import pyarrow as pa
    from pyogrio.errors import DataLayerError, DataSourceError
    from pyogrio.raw import read_arrow

    try:
        meta, table = read_arrow(_geo_path(path), layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        raise FormatError(f"{path.name} is not a readable geo file ({exc}).") from exc
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if geometry_name not in table.column_names:
        return table
    taken = set(table.column_names) - {geometry_name}
    new_name = next(name for name in GEOMETRY_COLUMN_NAMES if name not in taken)
    fields = [
        field.with_name(new_name) if field.name == geometry_name else field
        for field in table.schema
    ]
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))
