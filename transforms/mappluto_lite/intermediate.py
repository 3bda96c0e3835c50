"""Intermediate: one shape per lot, and the lot's zoning from the district polygons.

Both are views, computed inside mappluto_lite: storing a million merged polygons as a table
cost more than computing them inside the product's query (bench/mappluto.py: 1.2-1.7 s of
13 at 1M lots). Declare `materialized=True` to keep one as a cached table.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lakehouse.transform import model
from transforms.common.geometry import polygons_of
from transforms.common.zoning import rank_districts

MIN_ZONING_PCT = 10  # a district covering less of a lot is a sliver along a line, not zoning


@model(layer="intermediate", materialized=False)
def lot_shapes(stg_dtm_lots: ir.Table) -> ir.Table:
    """Per bbl, its parts merged into one MultiPolygon, with its area in square feet."""
    merged = stg_dtm_lots.group_by("bbl").aggregate(
        geom=polygons_of(stg_dtm_lots.geom.unary_union())
    )
    return merged.mutate(area=merged.geom.area())


@model(layer="intermediate", materialized=False)
def lot_zoning(lot_shapes: ir.Table, stg_zoning_districts: ir.Table) -> ir.Table:
    """The two districts covering most of a lot (ties: byte order of the name), counting only
    districts that cover at least MIN_ZONING_PCT percent of it, and whether it is split."""
    districts = stg_zoning_districts.rename(district="geom")
    pieces = lot_shapes.join(districts, lot_shapes.geom.intersects(districts.district)).select(
        "bbl",
        "zd",
        "area",
        covered=lot_shapes.geom.intersection(districts.district).area(),
    )
    summed = pieces.group_by(["bbl", "zd", "area"]).aggregate(covered=pieces.covered.sum())
    shares = summed.select("bbl", "zd", pct=(100 * summed.covered / summed.area).round(2))
    return rank_districts(shares.filter(shares.pct >= MIN_ZONING_PCT))
