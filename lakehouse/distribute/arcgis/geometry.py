"""The delivery's geometry as Esri JSON: read from WKB, checked against the layer's geometry
type, reprojected to its spatial reference, polygon outer rings clockwise."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse.distribute.arcgis.layer import Layer
from lakehouse.distribute.delivery import DeliveredTable
from lakehouse.errors import DistributeError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyproj

# what each Esri geometry type takes (shapely type names)
ACCEPTED_GEOMETRIES = {
    "esriGeometryPoint": ("Point",),
    "esriGeometryMultipoint": ("Point", "MultiPoint"),
    "esriGeometryPolyline": ("LineString", "MultiLineString"),
    "esriGeometryPolygon": ("Polygon", "MultiPolygon"),
}


def delivery_crs(table: DeliveredTable) -> pyproj.CRS:
    """The delivery's CRS: the dictionary's, else the GeoParquet file's own."""
    import pyarrow.parquet as pq
    import pyproj

    if table.crs:
        return pyproj.CRS.from_user_input(table.crs)
    metadata = pq.read_schema(table.parquet).metadata or {}
    geo = json.loads(metadata.get(b"geo", b"{}"))
    source = next((c.source for c in table.columns if c.name == table.geometry), table.geometry)
    column = (geo.get("columns") or {}).get(source)
    if column is None or ("crs" in column and column["crs"] is None):
        raise DistributeError(
            f"The geometry of {table.name!r} has no CRS (neither in the data dictionary nor in "
            "its GeoParquet metadata); declare the column's crs in the dictionary."
        )
    if "crs" not in column:
        return pyproj.CRS.from_user_input("OGC:CRS84")  # GeoParquet's default
    found = column["crs"]
    return pyproj.CRS.from_json_dict(found) if isinstance(found, dict) else pyproj.CRS(found)


def layer_crs(layer: Layer) -> pyproj.CRS:
    import pyproj

    reference = layer.spatial_reference
    for code in (reference.get("latestWkid"), reference.get("wkid")):
        for authority in ("EPSG", "ESRI"):
            if code:
                try:
                    return pyproj.CRS.from_user_input(f"{authority}:{code}")
                except pyproj.exceptions.CRSError:
                    continue
    if reference.get("wkt"):
        return pyproj.CRS.from_wkt(reference["wkt"])
    raise DistributeError(
        f"Layer {layer.name!r} gives no spatial reference PROJ knows ({reference}); check the "
        "layer in ArcGIS."
    )


def crs_label(crs: pyproj.CRS) -> str:
    found = crs.to_authority()
    return f"{found[0]}:{found[1]}" if found else crs.name


@dataclass(frozen=True)
class Geometries:
    """The delivery's geometry column, parsed, checked against the layer, and the reprojection
    to the layer's spatial reference (None when they are the same)."""

    shapes: np.ndarray
    transformer: pyproj.Transformer | None
    source: str
    target: str

    @classmethod
    def read(cls, table: DeliveredTable, data: pa.Table, layer: Layer) -> Geometries:
        import pyproj

        shapes = _shapes(data.column(str(table.geometry)))
        _check_geometry_types(shapes, layer)
        source, target = delivery_crs(table), layer_crs(layer)
        same = source.equals(target, ignore_axis_order=True)
        transformer = None if same else pyproj.Transformer.from_crs(source, target, always_xy=True)
        return cls(shapes, transformer, crs_label(source), crs_label(target))

    def describe(self) -> str:
        if self.transformer is None:
            return f"geometry in {self.target}, as the layer"
        return (
            f"geometry reprojected from {self.source} to {self.target} (the layer's spatial "
            "reference)"
        )

    def esri(self, start: int, stop: int, geometry_type: str) -> list[dict[str, Any] | None]:
        import numpy as np
        import shapely

        shapes = self.shapes[start:stop]
        if self.transformer is not None:
            transformer = self.transformer

            def reproject(xy: np.ndarray) -> np.ndarray:
                x, y = transformer.transform(xy[:, 0], xy[:, 1])
                return np.column_stack([x, y])

            shapes = shapely.transform(shapes, reproject)
        if geometry_type == "esriGeometryPolygon":
            shapes = shapely.orient_polygons(shapes, exterior_cw=True)
        return [_esri_geometry(shape, geometry_type) for shape in shapes]


def _shapes(column: pa.ChunkedArray) -> np.ndarray:
    import pyarrow as pa
    import shapely

    array = column.combine_chunks()
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    return shapely.from_wkb(array.to_numpy(zero_copy_only=False))


def _check_geometry_types(shapes: np.ndarray, layer: Layer) -> None:
    import numpy as np
    import shapely

    accepted = ACCEPTED_GEOMETRIES.get(layer.geometry_type)
    if accepted is None:
        raise DistributeError(
            f"Layer {layer.name!r} has geometry type {layer.geometry_type}, which this "
            "destination does not write; use a point, multipoint, polyline or polygon layer."
        )
    present = shapes[~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)]
    kinds = {int(kind) for kind in np.unique(shapely.get_type_id(present))}
    names = {_TYPE_NAMES.get(kind, "GeometryCollection") for kind in kinds}
    wrong = sorted(names - set(accepted))
    if wrong:
        raise DistributeError(
            f"Layer {layer.name!r} holds {layer.geometry_type.removeprefix('esriGeometry')} "
            f"features and the delivery has {', '.join(wrong)} geometries; send it to a layer of "
            "its own geometry type."
        )


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
}


def _xy(coords: Any) -> list[list[float]]:
    return [[float(c[0]), float(c[1])] for c in coords]


def _esri_geometry(shape: Any, geometry_type: str) -> dict[str, Any] | None:
    if shape is None or shape.is_empty:
        return None
    kind = shape.geom_type
    if geometry_type == "esriGeometryPoint":
        return {"x": float(shape.x), "y": float(shape.y)}
    if geometry_type == "esriGeometryMultipoint":
        points = [shape] if kind == "Point" else list(shape.geoms)
        return {"points": [[float(p.x), float(p.y)] for p in points]}
    if geometry_type == "esriGeometryPolyline":
        lines = [shape] if kind == "LineString" else list(shape.geoms)
        return {"paths": [_xy(line.coords) for line in lines]}
    polygons = [shape] if kind == "Polygon" else list(shape.geoms)
    rings = [
        _xy(ring.coords) for polygon in polygons for ring in (polygon.exterior, *polygon.interiors)
    ]
    return {"rings": rings}
