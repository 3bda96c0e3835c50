"""Staging contracts for PLUTO-lite: what each cleaned source must hold before lots are built.

Checked during the build, right after each staging model; a failing rule stops the build there
(the product is not computed). The product's own contract comes from dictionary.yml.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pandera.ibis as pa

BOROUGH_CODES = ["MN", "BX", "BK", "QN", "SI"]
JOB_TYPES = ["NB", "A1", "A2", "A3", "DM"]
LOWEST_BBL, HIGHEST_BBL = 1_000_010_001, 5_999_999_999


def bbl_agrees_with_block_and_lot(data: Any) -> Any:
    """BBL = borough * 10^9 + block * 10^4 + lot: the key's block and lot are the columns'."""
    t = data.table
    return t.select(agrees=((t.bbl // 10_000) % 100_000 == t.block) & (t.bbl % 10_000 == t.lot))


def bbl_column() -> pa.Column:
    return pa.Column(ibis.dtype("int64"), pa.Check.in_range(LOWEST_BBL, HIGHEST_BBL),
                     nullable=False)  # fmt: skip


CONTRACTS = {
    "stg_dof_pts": pa.DataFrameSchema(
        {
            "bbl": bbl_column(),
            "borough": pa.Column(
                ibis.dtype("string"), pa.Check.isin(BOROUGH_CODES), nullable=False
            ),
            "block": pa.Column(ibis.dtype("int64"), pa.Check.in_range(1, 99_999), nullable=False),
            "lot": pa.Column(ibis.dtype("int64"), pa.Check.in_range(1, 9_999), nullable=False),
            "updated_at": pa.Column(ibis.dtype("timestamp"), nullable=False),
        },
        checks=[pa.Check(bbl_agrees_with_block_and_lot, name="bbl agrees with block and lot")],
        unique=["bbl", "updated_at"],
        description="Every lot record, cleaned and typed; a bbl may repeat with another time.",
    ),
    "stg_zoning_lots": pa.DataFrameSchema(
        {
            "bbl": bbl_column(),
            "zd": pa.Column(ibis.dtype("string"), nullable=False),
            "pct": pa.Column(ibis.dtype("decimal(7, 2)"), pa.Check.in_range(0, 100), nullable=True),
        }
    ),
    "stg_dob_jobs": pa.DataFrameSchema(
        {
            "bbl": bbl_column(),
            "jt": pa.Column(ibis.dtype("string"), pa.Check.isin(JOB_TYPES), nullable=True),
            "fd": pa.Column(
                ibis.dtype("date"),
                pa.Check.in_range(dt.date(2000, 1, 1), dt.date(2025, 6, 30), raise_warning=True),
                nullable=True,
            ),
        }
    ),
    "stg_landmarks": pa.DataFrameSchema({"bbl": bbl_column()}),
}
