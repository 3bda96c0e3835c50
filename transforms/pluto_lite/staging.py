"""Staging: type and clean each raw source (every value goes through c() first)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lakehouse.transform import model
from transforms.common.cleaning import c, c_int, c_upper, ct

BOROUGHS = {1: "MN", 2: "BX", 3: "BK", 4: "QN", 5: "SI"}


def zipcode(raw: ir.StringValue) -> ir.StringValue:
    """The part before the first '-', leading zeros removed, left-padded with 0 to 5 characters."""
    digits = c(raw).re_replace("-.*$", "").re_replace("^0+", "")
    return digits.lpad(5, "0")


@model(layer="staging")
def stg_dof_pts(dof_pts: ir.Table) -> ir.Table:
    """Every lot record, cleaned and typed (duplicates of a bbl still present)."""
    condo = c_upper(dof_pts.condo_flag)
    boro = c_int(dof_pts.boro)
    return dof_pts.select(
        bbl=c_int(dof_pts.bbl),
        borough=boro.cases(*BOROUGHS.items()),
        block=c_int(dof_pts.block),
        lot=c_int(dof_pts.lot),
        address=ct(dof_pts.address),
        zipcode=zipcode(dof_pts.zipcode),
        ownername=ct(dof_pts.owner_name),
        bldgclass=c_upper(dof_pts.bldg_class),
        lotarea=c_int(dof_pts.land_area),
        bldgarea=c_int(dof_pts.bldg_area),
        numfloors=c(dof_pts.num_floors).cast("float64"),
        unitsres=c_int(dof_pts.units_res),
        unitstotal=c_int(dof_pts.units_total),
        yearbuilt=c_int(dof_pts.year_built),
        assessland=c_int(dof_pts.assessed_land),
        assesstot=c_int(dof_pts.assessed_total),
        exempttot=c_int(dof_pts.exempt_total),
        condo=ibis.cases((condo == "Y", True), (condo == "N", False), else_=ibis.null("boolean")),
        updated_at=c(dof_pts.updated_at).cast("timestamp"),
    )


@model(layer="staging")
def stg_zoning_lots(zoning_lots: ir.Table) -> ir.Table:
    """Zoning shares per lot and district, as exact decimals; rows without a district dropped."""
    cleaned = zoning_lots.select(
        bbl=c_int(zoning_lots.bbl),
        zd=c_upper(zoning_lots.zoning_district),
        pct=c(zoning_lots.pct_covered).cast("decimal(7, 2)"),
    )
    return cleaned.filter(cleaned.zd.notnull())


@model(layer="staging")
def stg_dob_jobs(dob_jobs: ir.Table) -> ir.Table:
    return dob_jobs.select(
        bbl=c_int(dob_jobs.bbl),
        jt=c_upper(dob_jobs.job_type),
        fd=c(dob_jobs.filed_date).as_date("%m/%d/%Y"),
        pu=c_int(dob_jobs.proposed_units),
    )


@model(layer="staging")
def stg_landmarks(landmarks: ir.Table) -> ir.Table:
    """The distinct lots that hold a landmark."""
    return landmarks.select(bbl=c_int(landmarks.bbl)).distinct()
