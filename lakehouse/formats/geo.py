"""Reading geo files with GDAL (through pyogrio), for the geojson, shapefile and filegdb
formats: the geometry kept (as WKB tagged geoarrow.wkb, so DuckDB sees a GEOMETRY column named
`geom`, written out as GeoParquet) with the attribute types GDAL reports. A file of several
layers (a geodatabase, a zip of shapefiles) is read one layer at a time, the one its
template's `format.layer` names: a dataset per layer."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from lakehouse.errors import ConfigError, FormatError
from lakehouse.formats.unzip import ZipLimits, unzipped

if TYPE_CHECKING:
    import pyarrow as pa

GEOMETRY_COLUMN_NAMES = ("geom", "geometry", "geom_wkb")  # the first one no attribute uses
EXTENSION_NAME = b"ARROW:extension:name"
EXTENSION_METADATA = b"ARROW:extension:metadata"


def _absent(value: Any) -> bool:
    return value is None


def declared_crs_field() -> Any:
    """A geo format's `crs:`, the CRS to assume when the file declares none (a shapefile zipped
    without its .prj); left out of the template's dump when not given, so templates written
    before it keep their hash."""
    return Field(
        default=None,
        pattern=r"^[A-Za-z]+:[0-9A-Za-z.]+$",
        description="the CRS of a file that declares none, e.g. EPSG:2263",
        exclude_if=_absent,
    )


def read_geo(
    path: Path,
    layer: str | None,
    declared_crs: str | None = None,
    limits: ZipLimits | None = None,
) -> pa.Table:
    """Features with their geometry as WKB (tagged geoarrow.wkb, so DuckDB sees GEOMETRY) and
    its CRS: the file's, else `declared_crs` (the template's); a geometry with neither is
    refused, because every later step (reprojection, overlays, packages) needs it. A zip
    (whatever its name: GDAL opens a .shz or a .gdb.zip by itself) is checked against `limits`
    and unpacked first (see `unzip`): GDAL never reads a zip."""
    if not _is_zip(path):
        return _read_geo(path, path, layer, declared_crs)
    with unzipped(path, limits or ZipLimits()) as opened:
        return _read_geo(path, opened, layer, declared_crs)


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as handle:
        start = handle.read(4)
    return start in (b"PK\x03\x04", b"PK\x05\x06") and zipfile.is_zipfile(path)


def _read_geo(path: Path, opened: Path, layer: str | None, declared_crs: str | None) -> pa.Table:
    """`read_geo` of `path`, whose data GDAL opens at `opened` (where it was unpacked)."""
    import pyarrow as pa
    from pyogrio.errors import DataLayerError, DataSourceError
    from pyogrio.raw import read_arrow

    try:
        _check_layer(path, opened, layer)
        meta, table = read_arrow(str(opened), layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        said = str(exc).replace(str(opened), path.name)  # not the temporary folder's path
        raise FormatError(f"{path.name} is not a readable geo file ({said}).") from exc
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if geometry_name not in table.column_names:
        return table
    taken = set(table.column_names) - {geometry_name}
    new_name = next(name for name in GEOMETRY_COLUMN_NAMES if name not in taken)
    fields = [
        _with_crs(field, path, declared_crs).with_name(new_name)
        if field.name == geometry_name
        else field
        for field in table.schema
    ]
    columns = [
        _readable(column, path) if field.name == geometry_name else column
        for field, column in zip(table.schema, table.columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, table.schema.metadata))


def _readable(column: Any, path: Path) -> Any:
    """The geometry column with every value one GEOS can read: GDAL accepts a polygon ring that
    is not closed and writes it as WKB no reader can open again, so such a ring is closed (its
    obvious meaning; the original file is archived as it came). A value that cannot be read
    even so is refused, naming its feature."""
    import pyarrow as pa
    import shapely

    values = column.to_numpy(zero_copy_only=False)
    present = [i for i, value in enumerate(values) if value is not None]
    parsed = shapely.from_wkb(values[present], on_invalid="ignore") if present else []
    broken = [i for i, geometry in zip(present, parsed, strict=True) if geometry is None]
    if not broken:
        return column
    fixed = shapely.from_wkb(values[broken], on_invalid="fix")
    repaired = list(values)
    for row, geometry in zip(broken, fixed, strict=True):
        if geometry is None:
            raise FormatError(
                f"{path.name}: feature {row + 1} has a geometry no reader can open (its WKB "
                "is malformed); fix it in the source."
            )
        repaired[row] = shapely.to_wkb(geometry)
    return pa.chunked_array([pa.array(repaired, type=column.type)])


def _check_layer(path: Path, opened: Path, layer: str | None) -> None:
    """A layer the file has; none named, the file must have only one (GDAL would silently read
    the first)."""
    from pyogrio import list_layers

    layers = [str(name) for name in list_layers(str(opened))[:, 0]]
    if layer is None and len(layers) > 1:
        raise FormatError(
            f"{path.name} has {len(layers)} layers ({', '.join(layers)}); set format.layer in "
            "the template to the one this dataset is (a template per layer archives each)."
        )
    if layer is not None and layer not in layers:
        raise FormatError(
            f"{path.name} has no layer {layer!r} (its layers: {', '.join(layers) or 'none'}); "
            "check format.layer in the template."
        )


def _agrees(known: Any, declared_crs: str | None, path: Path) -> None:
    """A template's format.crs must not contradict the CRS the file declares: which one is
    right is for a person to say."""
    if declared_crs is None:
        return
    import pyproj

    found = pyproj.CRS.from_user_input(known)
    if not found.equals(pyproj.CRS.from_user_input(declared_crs), ignore_axis_order=True):
        named = found.to_string() if found.to_epsg() is None else f"EPSG:{found.to_epsg()}"
        raise FormatError(
            f"{path.name} declares its CRS as {named} but the template's format.crs says "
            f"{declared_crs}; remove format.crs to use the file's, or fix the file."
        )


def _with_crs(field: pa.Field, path: Path, declared_crs: str | None) -> pa.Field:
    """The geometry field, its geoarrow metadata naming its CRS (as PROJJSON)."""
    metadata = dict(field.metadata or {})
    known = json.loads(metadata.get(EXTENSION_METADATA) or b"{}").get("crs")
    if known:
        _agrees(known, declared_crs, path)
        return field
    if declared_crs is None:
        raise FormatError(
            f"{path.name} has geometry but declares no coordinate reference system (a "
            "shapefile needs its .prj in the zip); add it, or set format.crs in the template "
            "(e.g. crs: EPSG:2263)."
        )
    import pyproj

    try:
        crs = pyproj.CRS.from_user_input(declared_crs).to_json_dict()
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(
            f"format.crs {declared_crs!r} is not a coordinate reference system PROJ knows; "
            "use one like EPSG:2263."
        ) from exc
    metadata[EXTENSION_METADATA] = json.dumps({"crs": crs}).encode()
    return field.with_metadata(metadata)
