"""Staging: type and clean the two map sources; everything in EPSG:2263 from here on."""

from __future__ import annotations

import ibis.expr.types as ir

from lakehouse.transform import model
from transforms.common.cleaning import c_int, c_upper
from transforms.common.geometry import make_valid

LOTS_CRS, DISTRICTS_CRS = "EPSG:2263", "EPSG:4326"


@model(layer="staging")
def stg_dtm_lots(dtm_lots: ir.Table) -> ir.Table:
    """Every lot part, valid (the archive keeps the source's invalid shapes as they are)."""
    return dtm_lots.select(bbl=c_int(dtm_lots.bbl), geom=make_valid(dtm_lots.geom))


@model(layer="staging")
def stg_zoning_districts(zoning_districts: ir.Table) -> ir.Table:
    """District polygons in the lots' CRS; features without a district name dropped."""
    t = zoning_districts.select(
        zd=c_upper(zoning_districts.zonedist),
        geom=zoning_districts.geom.convert(DISTRICTS_CRS, LOTS_CRS),
    )
    return t.filter(t.zd.notnull())
