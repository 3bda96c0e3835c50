"""Product: PLUTO-lite's lots with their shape, GIS area, zoning by overlay and centroid."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lakehouse.transform import model
from transforms.mappluto_lite.staging import DISTRICTS_CRS, LOTS_CRS

COLUMNS = (
    "bbl",
    "borough",
    "block",
    "lot",
    "lotarea",
    "lotarea_gis",
    "zonedist1",
    "zonedist2",
    "splitzone",
    "longitude",
    "latitude",
    "geom",
)


@model(layer="product")
def mappluto_lite(pluto_lite: ir.Table, lot_shapes: ir.Table, lot_zoning: ir.Table) -> ir.Table:
    lots = pluto_lite.select("bbl", "borough", "block", "lot", "lotarea")
    joined = (
        lots.left_join(lot_shapes, "bbl")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(lot_zoning, "bbl")
        .select(~ibis.selectors.endswith("_right"))
    )
    centroid = joined.geom.centroid().convert(LOTS_CRS, DISTRICTS_CRS)
    result = joined.mutate(
        lotarea_gis=joined.geom.area().round(2),
        splitzone=joined.splitzone.fill_null(False),
        longitude=centroid.x().round(7),
        latitude=centroid.y().round(7),
    )
    return result.select(*COLUMNS).order_by("bbl")
