"""Product: one row per lot, the side files joined, derived columns, the spec's column order."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lakehouse.transform import model

COLUMNS = (
    "bbl",
    "borough",
    "block",
    "lot",
    "address",
    "zipcode",
    "ownername",
    "bldgclass",
    "lotarea",
    "bldgarea",
    "numfloors",
    "unitsres",
    "unitstotal",
    "yearbuilt",
    "assessland",
    "assesstot",
    "exempttot",
    "condo",
    "zonedist1",
    "zonedist2",
    "splitzone",
    "dob_job_count",
    "dob_latest_nb_date",
    "dob_units_proposed",
    "landmark",
    "far",
    "bldg_age",
)


def floor_area_ratio(bldgarea: ir.IntegerValue, lotarea: ir.IntegerValue) -> ir.FloatingValue:
    """bldgarea / lotarea rounded half away from zero to 2 decimals, exactly: integer floor
    division of (200*|bldgarea| + |lotarea|) by 2*|lotarea|, the sign put back, then one float
    division by 100 (the data has no negative areas; the sign keeps the rule true anyway)."""
    numerator = 200 * bldgarea.abs() + lotarea.abs()
    denominator = 2 * lotarea.abs()
    hundredths = (numerator - numerator % denominator) / denominator
    negative = (bldgarea < 0) != (lotarea < 0)
    return ibis.ifelse(
        lotarea.isnull() | (lotarea == 0) | bldgarea.isnull(),
        ibis.null("float64"),
        ibis.ifelse(negative, -hundredths, hundredths) / 100,
    )


@model(layer="product")
def pluto_lite(
    lots: ir.Table, zoning_by_lot: ir.Table, dob_by_lot: ir.Table, stg_landmarks: ir.Table
) -> ir.Table:
    marked = stg_landmarks.mutate(landmark=ibis.literal(True))
    joined = (
        lots.left_join(zoning_by_lot, "bbl")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(dob_by_lot, "bbl")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(marked, "bbl")
        .select(~ibis.selectors.endswith("_right"))
    )
    result = joined.mutate(
        splitzone=joined.splitzone.fill_null(False),
        dob_job_count=joined.dob_job_count.fill_null(0),
        dob_units_proposed=joined.dob_units_proposed.fill_null(0),
        landmark=joined.landmark.fill_null(False),
        far=floor_area_ratio(joined.bldgarea, joined.lotarea),
        bldg_age=ibis.ifelse(joined.yearbuilt > 0, 2025 - joined.yearbuilt, ibis.null("int64")),
    )
    return result.select(*COLUMNS).order_by("bbl")
