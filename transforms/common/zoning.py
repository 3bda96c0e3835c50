"""Zoning districts of a lot, ranked the way PLUTO ranks them (PLUTO-lite spec 2.3; MapPLUTO-lite
2.2 ranks its overlay shares the same way)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def rank_districts(shares: ir.Table) -> ir.Table:
    """From one row per (bbl, zd) with its share `pct`: per bbl, `zonedist1` and `zonedist2`
    (the largest shares; ties go to the district first in byte order) and `splitzone` (more
    than one district)."""
    ranked = shares.mutate(
        rank=ibis.row_number().over(
            group_by=shares.bbl, order_by=[shares.pct.desc(), shares.zd.asc()]
        )
    )
    return ranked.group_by("bbl").aggregate(
        zonedist1=ranked.zd.max(where=ranked["rank"] == 0),
        zonedist2=ranked.zd.max(where=ranked["rank"] == 1),
        splitzone=ranked.zd.count() > 1,
    )
