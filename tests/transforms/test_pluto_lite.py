"""PLUTO-lite's rules (../shared/PLUTO_LITE.md section 2) on small hand-made inputs.

Each test builds raw text tables the way the archive holds them, runs the product's models,
and compares with outputs worked out by hand from the spec.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakehouse.transform.builder import evaluate
from lakehouse.transform.models import load_models

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
DOF_COLUMNS = [
    "bbl",
    "boro",
    "block",
    "lot",
    "address",
    "zipcode",
    "owner_name",
    "bldg_class",
    "land_area",
    "bldg_area",
    "num_floors",
    "units_res",
    "units_total",
    "year_built",
    "assessed_land",
    "assessed_total",
    "exempt_total",
    "condo_flag",
    "updated_at",
]
LOT = {
    "bbl": "1000010001", "boro": "1", "block": "1", "lot": "1", "address": "1 BROADWAY",
    "zipcode": "10004", "owner_name": "CITY OF NEW YORK", "bldg_class": "O4", "land_area": "1000",
    "bldg_area": "2500", "num_floors": "3.0", "units_res": "0", "units_total": "1",
    "year_built": "1990", "assessed_land": "100", "assessed_total": "500", "exempt_total": "0",
    "condo_flag": "N", "updated_at": "2024-01-01 00:00:00",
}  # fmt: skip


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return load_models(TRANSFORMS, "pluto_lite")


def text_table(columns: list[str], rows: list[dict[str, str | None]]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})


def lot(**changes: str | None) -> dict[str, str | None]:
    return {**LOT, **changes}


def build(
    models: dict[str, Any],
    lots: list[dict[str, str | None]],
    zoning: list[tuple[str, str | None, str | None]] = (),  # type: ignore[assignment]
    jobs: list[tuple[str, str | None, str | None, str | None]] = (),  # type: ignore[assignment]
    landmarks: list[str] = (),  # type: ignore[assignment]
) -> list[dict[str, Any]]:
    inputs = {
        "dof_pts": text_table(DOF_COLUMNS, lots),
        "zoning_lots": text_table(
            ["bbl", "zoning_district", "pct_covered"],
            [dict(zip(["bbl", "zoning_district", "pct_covered"], z, strict=True)) for z in zoning],
        ),
        "dob_jobs": text_table(
            ["job_number", "bbl", "job_type", "filed_date", "status", "proposed_units"],
            [
                {
                    "job_number": str(100000000 + i),
                    "bbl": b,
                    "job_type": t,
                    "filed_date": d,
                    "status": "X",
                    "proposed_units": u,
                }
                for i, (b, t, d, u) in enumerate(jobs)
            ],
        ),
        "landmarks": text_table(
            ["bbl", "lm_name", "designated_date"],
            [{"bbl": b, "lm_name": "L", "designated_date": "01/01/1970"} for b in landmarks],
        ),
    }
    return evaluate(models, inputs, "pluto_lite").to_pylist()


def test_columns_types_and_order(models: dict[str, Any]) -> None:
    inputs_lots = [lot(bbl="3000020002", boro="3"), lot()]
    table = evaluate(
        models,
        {
            "dof_pts": text_table(DOF_COLUMNS, inputs_lots),
            "zoning_lots": text_table(["bbl", "zoning_district", "pct_covered"], []),
            "dob_jobs": text_table(
                ["job_number", "bbl", "job_type", "filed_date", "status", "proposed_units"], []
            ),
            "landmarks": text_table(["bbl", "lm_name", "designated_date"], []),
        },
        "pluto_lite",
    )
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("bbl", "int64"), ("borough", "string"), ("block", "int64"), ("lot", "int64"),
        ("address", "string"), ("zipcode", "string"), ("ownername", "string"),
        ("bldgclass", "string"), ("lotarea", "int64"), ("bldgarea", "int64"),
        ("numfloors", "double"), ("unitsres", "int64"), ("unitstotal", "int64"),
        ("yearbuilt", "int64"), ("assessland", "int64"), ("assesstot", "int64"),
        ("exempttot", "int64"), ("condo", "bool"), ("zonedist1", "string"),
        ("zonedist2", "string"), ("splitzone", "bool"), ("dob_job_count", "int64"),
        ("dob_latest_nb_date", "date32[day]"), ("dob_units_proposed", "int64"),
        ("landmark", "bool"), ("far", "double"), ("bldg_age", "int64"),
    ]  # fmt: skip
    assert table.column("bbl").to_pylist() == [1000010001, 3000020002]  # sorted by bbl


def test_cleaning_trims_spaces_and_nulls_blank_and_exact_na(models: dict[str, Any]) -> None:
    (row,) = build(
        models,
        [lot(address="  12   main  st ", owner_name="N/A", bldg_class=" n/a ", units_res="   ",
             num_floors=" 2.5", block="00123", lot="0045", land_area=" 1200 ")],
    )  # fmt: skip
    assert row["address"] == "12 MAIN ST"
    assert row["ownername"] is None  # exactly N/A
    assert row["bldgclass"] == "N/A"  # 'n/a' is not 'N/A' before upper-casing
    assert row["unitsres"] is None
    assert row["numfloors"] == 2.5
    assert (row["block"], row["lot"], row["lotarea"]) == (123, 45, 1200)


@pytest.mark.parametrize(
    ("raw", "zipcode"),
    [("10004", "10004"), ("011201", "11201"), ("0010463", "10463"), ("11201-1234", "11201"),
     ("00123", "00123"), (" N/A", None), ("", None), ("  ", None)],
)  # fmt: skip
def test_zipcode(models: dict[str, Any], raw: str, zipcode: str | None) -> None:
    assert build(models, [lot(zipcode=raw)])[0]["zipcode"] == zipcode


@pytest.mark.parametrize(
    ("flag", "condo"), [("Y", True), ("y", True), ("N", False), (" n ", False), ("", None),
                        ("N/A", None), ("X", None)],
)  # fmt: skip
def test_condo(models: dict[str, Any], flag: str, condo: bool | None) -> None:
    assert build(models, [lot(condo_flag=flag)])[0]["condo"] is condo


def test_borough_codes(models: dict[str, Any]) -> None:
    rows = build(models, [lot(bbl=f"{b}000010001", boro=str(b)) for b in range(1, 6)])
    assert [r["borough"] for r in rows] == ["MN", "BX", "BK", "QN", "SI"]


def test_latest_record_wins_whole_even_when_it_comes_first(models: dict[str, Any]) -> None:
    rows = build(
        models,
        [
            lot(owner_name="", assessed_total="900", updated_at="2024-03-01 12:00:00"),
            lot(owner_name="OLD OWNER", assessed_total="500", updated_at="2024-03-01 11:00:00"),
            lot(bbl="1000010002", lot="2", updated_at="2023-01-01 00:00:00", owner_name="A"),
            lot(bbl="1000010002", lot="2", updated_at="2023-02-01 00:00:00", owner_name="B"),
        ],
    )
    assert [(r["bbl"], r["ownername"], r["assesstot"]) for r in rows] == [
        (1000010001, None, 900),  # the latest record's NULL owner stays NULL
        (1000010002, "B", 500),
    ]


def test_zoning_ranks_sums_duplicates_and_breaks_ties_by_byte_order(models: dict[str, Any]) -> None:
    bbls = [f"10000{n}0001" for n in range(1, 7)]
    rows = build(
        models,
        [lot(bbl=b, block=b[1:6]) for b in bbls],
        zoning=[
            (bbls[0], "R6", "50"), (bbls[0], "C4-4A", "50.00"),  # tie: 'C' < 'R'
            (bbls[1], "R6", "30"), (bbls[1], "r6 ", "30"), (bbls[1], "C1-2", "40"),  # R6 = 60
            (bbls[2], "R7-2", "33.33"), (bbls[2], "M1-1", "33.33"), (bbls[2], "R5", "33.34"),
            (bbls[3], "C1-2", "50"), (bbls[3], "C12", "50"),  # '-' (0x2d) < '2' (0x32)
            (bbls[4], "", "100"),  # blank district: dropped, the lot has no zoning
            (bbls[5], "PARK", "100"),
            ("1999990001", "R6", "100"),  # orphan
        ],
    )  # fmt: skip
    assert [(r["zonedist1"], r["zonedist2"], r["splitzone"]) for r in rows] == [
        ("C4-4A", "R6", True),
        ("R6", "C1-2", True),
        ("R5", "M1-1", True),
        ("C1-2", "C12", True),
        (None, None, False),
        ("PARK", None, False),
    ]
    assert len(rows) == 6  # the orphan adds no lot


def test_a_district_listed_twice_counts_once(models: dict[str, Any]) -> None:
    (row,) = build(models, [lot()], zoning=[(LOT["bbl"], "R6", "60"), (LOT["bbl"], " R6", "40")])
    assert (row["zonedist1"], row["zonedist2"], row["splitzone"]) == ("R6", None, False)


def test_dob_aggregates(models: dict[str, Any]) -> None:
    a, b, c = "1000010001", "1000010002", "1000010003"
    rows = build(
        models,
        [lot(bbl=a), lot(bbl=b, lot="2"), lot(bbl=c, lot="3")],
        jobs=[
            (a, "NB", "01/15/2010", "10"), (a, " nb", "06/30/2025", "5"),
            (a, "DM", "01/01/2005", "7"),  # demolitions don't count toward units
            (a, "", "02/02/2002", "3"),  # NULL type: counted as a job, not summed
            (a, "A1", "", "N/A"),  # NULL units ignored
            (b, "DM", "01/01/2001", "4"),
            ("1999990001", "NB", "01/01/2020", "100"),  # orphan
        ],
    )  # fmt: skip
    assert [
        (r["dob_job_count"], r["dob_latest_nb_date"], r["dob_units_proposed"]) for r in rows
    ] == [
        (5, dt.date(2025, 6, 30), 15),
        (1, None, 0),
        (0, None, 0),
    ]


def test_landmark_flag_never_multiplies_lots(models: dict[str, Any]) -> None:
    rows = build(
        models,
        [lot(), lot(bbl="1000010002", lot="2")],
        landmarks=["1000010001", " 1000010001", "1999999901"],
    )
    assert [(r["bbl"], r["landmark"]) for r in rows] == [(1000010001, True), (1000010002, False)]


@pytest.mark.parametrize(
    ("bldgarea", "lotarea", "far"),
    [("1000", "3000", 0.33), ("2000", "3000", 0.67), ("1", "8", 0.13), ("3", "8", 0.38),
     ("5", "8", 0.63), ("1", "200", 0.01), ("1", "400", 0.0), ("0", "100", 0.0),
     ("2500", "1000", 2.5), ("1", "0", None), ("1", "", None), ("", "100", None)],
)  # fmt: skip
def test_far_rounds_half_away_from_zero_exactly(
    models: dict[str, Any], bldgarea: str, lotarea: str, far: float | None
) -> None:
    (row,) = build(models, [lot(bldg_area=bldgarea, land_area=lotarea)])
    assert row["far"] == far


@pytest.mark.parametrize(("year", "age"), [("1990", 35), ("2025", 0), ("0", None), ("", None)])
def test_bldg_age(models: dict[str, Any], year: str, age: int | None) -> None:
    assert build(models, [lot(year_built=year)])[0]["bldg_age"] == age


def test_a_value_that_does_not_cast_fails_loudly(models: dict[str, Any]) -> None:
    with pytest.raises(Exception, match=r"(?i)conversion|could not convert|cast"):
        build(models, [lot(units_res="twelve")])


@pytest.mark.parametrize(
    ("bldgarea", "lotarea", "far"),
    [("-1", "3", -0.33), ("1", "-2", -0.5), ("-1", "-8", 0.13), ("-5", "8", -0.63)],
)
def test_far_rounds_away_from_zero_for_negative_values_too(
    models: dict[str, Any], bldgarea: str, lotarea: str, far: float
) -> None:
    (row,) = build(models, [lot(bldg_area=bldgarea, land_area=lotarea)])
    assert row["far"] == far


def test_cleaning_trims_ascii_spaces_only() -> None:
    """c() trims U+0020 and nothing else (spec 2.1), whatever the engine's own trim does: a
    no-break space, an ideographic space or a tab at an end stays."""
    import ibis

    from transforms.common.cleaning import c

    values = ["  12  ", "12", " 1 2 ", "\u00a012", "12\u3000", "\t12 ", " N/A", "   ", None]
    expected = ["12", "12", "1 2", "\u00a012", "12\u3000", "\t12", None, None, None]
    con = ibis.duckdb.connect()
    table = ibis.memtable({"v": values, "i": list(range(len(values)))})
    found = con.to_pyarrow(table.select(table.i, v=c(table.v)).order_by("i"))
    assert found.column("v").to_pylist() == expected
