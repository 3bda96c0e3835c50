"""GIS formats of a handoff package: the published output of a product with a geometry column
as `geoparquet`, `shapefile` (with its .prj and a UTF-8 .cpg; long column names shortened, the
README saying which became which), `filegdb` (a zipped `<output>.gdb` File Geodatabase, one
layer per output, written with GDAL's OpenFileGDB driver) or `geojson` (RFC 7946: always
reprojected to EPSG:4326, longitude first, the README saying from which CRS). Each keeps the CRS
of the data dictionary (or the one the published GeoParquet declares), and is written
deterministically (a shapefile's last-update date is the publish date, a File Geodatabase's
identifiers are GDAL's reproducible ones).

Each writer gives the files it wrote and the notes the README carries; package.py assembles
them into the zip.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from lakehouse.contracts.dictionary import TableEntry
from lakehouse.errors import PackageError
from lakehouse.store.storage import Store

SHAPEFILE_NAME_LENGTH = 10
INT32 = (-(2**31), 2**31 - 1)  # the integers every File Geodatabase reader takes


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


def write_gis_data(
    con: Any,
    store: Store,
    rel: str,
    source: str,
    name: str,
    table: TableEntry | None,
    fmt: str,
    scratch: Path,
    stamp: datetime,
) -> tuple[list[Path], list[str]]:
    """Write the output `name` (the published file `rel`, read as the DuckDB `source`) in the
    GIS format `fmt` into `scratch`: the files written and the notes for the README. Refused
    when its dictionary lists no geometry column."""
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


def _geometry_column(table: TableEntry | None) -> str | None:
    if table is None:
        return None
    return next((c.name for c in table.columns if c.type == "geometry"), None)


def _declared_crs(store: Store, rel: str, geometry: str) -> Any:
    """The CRS the GeoParquet metadata of the file declares for `geometry`, if any. A column
    described there without a `crs` is in OGC:CRS84 by the GeoParquet specification: named
    EPSG:4326 here (the same datum; shapefiles and GeoParquet store x as longitude either way),
    which every GIS tool recognises in a .prj."""
    import json

    metadata = store.parquet_metadata(rel).metadata or {}
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
