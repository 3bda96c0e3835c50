"""Geometry operations ibis does not name, as the engine's own functions (DuckDB spatial's;
the same names exist in PostGIS and Sedona)."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


@ibis.udf.scalar.builtin(name="st_makevalid")
def make_valid(geom: dt.GeoSpatial) -> dt.GeoSpatial:  # type: ignore[empty-body]
    """The geometry made valid without losing a vertex (a bowtie becomes its two triangles)."""


@ibis.udf.scalar.builtin(name="st_collectionextract")
def _collection_extract(geom: dt.GeoSpatial, kind: int) -> dt.GeoSpatial:  # type: ignore[empty-body]
    """The parts of one kind (1 points, 2 lines, 3 polygons) of a geometry."""


@ibis.udf.scalar.builtin(name="st_multi")
def as_multi(geom: dt.GeoSpatial) -> dt.GeoSpatial:  # type: ignore[empty-body]
    """A single geometry as a collection of one (Polygon -> MultiPolygon)."""


def polygons_of(geom: ir.GeoSpatialValue) -> ir.GeoSpatialValue:
    """Only the polygons of a geometry, as a MultiPolygon (lines and points left by make_valid
    or an intersection are dropped)."""
    return as_multi(_collection_extract(geom, 3))
