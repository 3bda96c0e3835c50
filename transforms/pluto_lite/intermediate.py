"""Intermediate: one row per lot from each source (latest record; aggregates of the side files).

All three are views: each is read once, by pluto_lite, and storing them costs more than
computing them inside it (the build benchmark measures this). Declare one `materialized=True`
to keep it as a cached table, or list it under `keep:` in the recipe to write it out.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lakehouse.transform import model
from transforms.common.zoning import rank_districts


@model(layer="intermediate", materialized=False)
def lots(stg_dof_pts: ir.Table) -> ir.Table:
    """Per bbl, the whole record with the greatest updated_at (ties cannot occur)."""
    # the window as a column first, then the filter: ibis compiles a window inside a filter
    # to SQL that Spark cannot resolve (docs/spark.md)
    t = stg_dof_pts.mutate(latest=stg_dof_pts.updated_at.max().over(group_by=stg_dof_pts.bbl))
    return t.filter(t.updated_at == t.latest).drop("updated_at", "latest")


@model(layer="intermediate", materialized=False)
def zoning_by_lot(stg_zoning_lots: ir.Table) -> ir.Table:
    """The two largest districts of a lot (ties: byte order of the name) and whether it is split."""
    summed = stg_zoning_lots.group_by(["bbl", "zd"]).aggregate(pct=stg_zoning_lots.pct.sum())
    return rank_districts(summed)


@model(layer="intermediate", materialized=False)
def dob_by_lot(stg_dob_jobs: ir.Table) -> ir.Table:
    t = stg_dob_jobs
    counted = t.pu.sum(where=t.jt.notnull() & (t.jt != "DM"))
    return t.group_by("bbl").aggregate(
        dob_job_count=t.count(),
        dob_latest_nb_date=t.fd.max(where=t.jt == "NB"),
        # DuckDB sums int64 to HUGEINT; through a decimal the int64 cast is kept
        dob_units_proposed=counted.cast("decimal(38, 0)").cast("int64"),
    )
