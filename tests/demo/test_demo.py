"""The PLUTO-lite generator keeps the promises of PLUTO_LITE.md section 1 that the build needs."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse.demo import SOURCE_FILES, generate_pluto_lite
from lakehouse.demo.mappluto import MAP_FILES

N = 20_000
HEADERS = {
    "dof_pts.csv": "bbl,boro,block,lot,address,zipcode,owner_name,bldg_class,land_area,bldg_area,"
    "num_floors,units_res,units_total,year_built,assessed_land,assessed_total,exempt_total,"
    "condo_flag,updated_at",
    "zoning_lots.csv": "bbl,zoning_district,pct_covered",
    "dob_jobs.csv": "job_number,bbl,job_type,filed_date,status,proposed_units",
    "landmarks.csv": "bbl,lm_name,designated_date",
}
INTEGER = re.compile(r"\d+")
NUM_FLOORS = re.compile(r"\d+\.\d")
PCT = re.compile(r"\d+(\.\d{1,2})?")
ZIP = re.compile(r"\d{5,7}(-\d{4})?")
FREE_TEXT = {"address", "owner_name", "zoning_district", "status", "lm_name"}
Rows = list[dict[str, str]]


def c(value: str) -> str | None:
    """The spec's cleaning: trim ASCII spaces, then '' or exactly 'N/A' is NULL."""
    value = value.strip(" ")
    return None if value in ("", "N/A") else value


def ct(value: str) -> str | None:
    cleaned = c(value)
    return None if cleaned is None else re.sub(" +", " ", cleaned).upper()


def read_rows(path: Path) -> Rows:
    with path.open(newline="", encoding="ascii") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pluto") / "raw" / "nested"
    paths = generate_pluto_lite(folder, lots=N, seed=7)
    assert paths == {name: folder / name for name in SOURCE_FILES}
    return folder


@pytest.fixture(scope="module")
def tables(out_dir: Path) -> dict[str, Rows]:
    return {name: read_rows(out_dir / name) for name in SOURCE_FILES}


@pytest.fixture(scope="module")
def lot_bbls(tables: dict[str, Rows]) -> set[str]:
    return {row["bbl"] for row in tables["dof_pts.csv"]}


def test_same_lots_and_seed_give_byte_identical_files_and_another_seed_does_not(
    tmp_path: Path,
) -> None:
    first = generate_pluto_lite(tmp_path / "a", lots=3_000, seed=1)
    again = generate_pluto_lite(tmp_path / "b", lots=3_000, seed=1)
    other = generate_pluto_lite(tmp_path / "c", lots=3_000, seed=2)
    for name in SOURCE_FILES:
        assert first[name].read_bytes() == again[name].read_bytes()
        assert first[name].read_bytes() != other[name].read_bytes()


@pytest.mark.parametrize("lots", [0, -5])
def test_fewer_than_one_lot_is_refused(tmp_path: Path, lots: int) -> None:
    with pytest.raises(ValueError, match="lots must be between 1"):
        generate_pluto_lite(tmp_path, lots=lots)


def test_a_single_lot_still_gives_four_valid_files(tmp_path: Path) -> None:
    paths = generate_pluto_lite(tmp_path, lots=1)
    dof = read_rows(paths["dof_pts.csv"])
    assert len(dof) == 1 and dof[0]["bbl"] == dof[0]["bbl"].strip()


@pytest.mark.parametrize("name", SOURCE_FILES)
def test_header_is_exactly_the_spec_columns(out_dir: Path, name: str) -> None:
    assert (out_dir / name).read_bytes().split(b"\n", 1)[0].decode() == HEADERS[name]


def test_row_counts_follow_the_stated_rates(tables: dict[str, Rows]) -> None:
    assert len(tables["dof_pts.csv"]) == N + N // 1000
    assert 1.28 * N <= len(tables["zoning_lots.csv"]) <= 1.32 * N
    assert len(tables["dob_jobs.csv"]) == N // 2
    assert len(tables["landmarks.csv"]) == 100 + 10 + 2  # 0.5% of lots, 10% twice, 2% orphans


@pytest.mark.parametrize("name", SOURCE_FILES)
def test_ascii_lf_and_quotes_only_around_values_with_a_comma(out_dir: Path, name: str) -> None:
    raw = (out_dir / name).read_bytes()
    assert raw.isascii() and b"\r" not in raw and raw.endswith(b"\n")
    lines = raw.decode().split("\n")[:-1]
    parsed = list(csv.reader(lines))
    assert len(parsed) == len(lines)  # no value spans lines
    for line, row in zip(lines, parsed, strict=True):
        assert line == ",".join(f'"{value}"' if "," in value else value for value in row)


def test_rows_are_shuffled(tables: dict[str, Rows]) -> None:
    for rows in tables.values():
        bbls = [row["bbl"] for row in rows]
        assert bbls != sorted(bbls)


def test_bbl_is_boro_block_lot_and_never_blank(tables: dict[str, Rows]) -> None:
    for row in tables["dof_pts.csv"]:
        assert re.fullmatch(r"[1-5]\d{9}", row["bbl"]) and row["boro"] == row["bbl"][0]
        block, lot = int(row["block"]), int(row["lot"])
        assert 1 <= block <= 99_999 and 1 <= lot <= 8999
        assert int(row["bbl"]) == int(row["boro"]) * 10**9 + block * 10**4 + lot
        assert c(row["updated_at"]) is not None


def test_blocks_and_lots_are_zero_padded_about_30_percent(tables: dict[str, Rows]) -> None:
    dof = tables["dof_pts.csv"]
    padded_lots = [row["lot"] for row in dof if row["lot"].startswith("0")]
    assert 0.27 < len(padded_lots) / len(dof) < 0.33 and {len(lot) for lot in padded_lots} == {4}
    padded_blocks = [row["block"] for row in dof if row["block"].startswith("0")]
    assert 0.27 < len(padded_blocks) / len(dof) < 0.33 and {len(b) for b in padded_blocks} == {5}


def test_about_25_lots_per_block(tables: dict[str, Rows]) -> None:
    blocks = Counter(row["bbl"][:6] for row in tables["dof_pts.csv"])
    assert 20 < N / len(blocks) < 30


def test_duplicated_bbls_have_another_owner_value_and_time_in_both_orders(
    tables: dict[str, Rows],
) -> None:
    dof = tables["dof_pts.csv"]
    assert len({(row["bbl"], row["updated_at"]) for row in dof}) == len(dof)
    records = defaultdict(list)
    for row in dof:
        records[row["bbl"]].append(row)
    pairs = [rows for rows in records.values() if len(rows) > 1]
    assert len(pairs) == N // 1000 and all(len(rows) == 2 for rows in pairs)
    later_first = 0
    for first, second in pairs:
        shift = datetime.fromisoformat(second["updated_at"]) - datetime.fromisoformat(
            first["updated_at"]
        )
        assert timedelta(hours=1) <= abs(shift) <= timedelta(days=90)
        later_first += shift < timedelta(0)
        assert c(first["assessed_total"]) != c(second["assessed_total"]) or not c(
            first["assessed_total"]
        )
        assert ct(first["owner_name"]) != ct(second["owner_name"]) or not c(first["owner_name"])
    assert 0 < later_first < len(pairs)


def test_every_value_casts_strictly_after_cleaning(tables: dict[str, Rows]) -> None:
    casts = {
        "num_floors": lambda v: NUM_FLOORS.fullmatch(v) and float(v) >= 0,
        "pct_covered": lambda v: PCT.fullmatch(v) and Decimal(v) > 0,
        "zipcode": lambda v: ZIP.fullmatch(v) and len(v.split("-")[0].lstrip("0")) == 5,
        "updated_at": lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S"),
        "filed_date": lambda v: (
            date(2000, 1, 1) <= datetime.strptime(v, "%m/%d/%Y").date() <= date(2025, 6, 30)
        ),
        "designated_date": lambda v: datetime.strptime(v, "%m/%d/%Y"),
        "condo_flag": lambda v: v.upper() in ("Y", "N"),
        "job_type": lambda v: v.upper() in ("NB", "A1", "A2", "A3", "DM"),
        "bldg_class": lambda v: re.fullmatch(r"[A-Z]\d", v.upper()),
    }
    checked = 0
    for rows in tables.values():
        for row in rows:
            for column, value in row.items():
                cleaned = c(value)
                if cleaned is not None and column not in FREE_TEXT:
                    cast = casts.get(column, lambda v: INTEGER.fullmatch(v) is not None)
                    assert cast(cleaned), (column, value)
                    checked += 1
    assert checked > 20 * N


def test_year_built_zero_and_land_area_zero_mostly_condos(tables: dict[str, Rows]) -> None:
    dof = tables["dof_pts.csv"]
    no_land = [row for row in dof if c(row["land_area"]) is not None and int(row["land_area"]) == 0]
    assert 0.03 < len(no_land) / len(dof) < 0.05
    condos = sum((c(row["bldg_class"]) or "").upper().startswith("R") for row in no_land)
    assert condos > 0.7 * len(no_land)
    assert any(c(row["year_built"]) == "0" for row in dof)


def test_text_mess_is_injected(tables: dict[str, Rows]) -> None:
    dof = tables["dof_pts.csv"]
    values = [row[column] for row in dof for column in ("address", "owner_name", "bldg_class")]
    blanks = [v for v in values if v.strip(" ") == ""]
    spaces_only = sum(v != "" for v in blanks)
    assert 0.005 < len(blanks) / len(values) < 0.01 and 0.1 < spaces_only / len(blanks) < 0.3
    assert 0.002 < values.count("N/A") / len(values) < 0.005
    stray = sum(v != v.strip(" ") for v in values if v.strip(" "))
    assert 0.01 < stray / len(values) < 0.03
    addresses = [row["address"] for row in dof]
    assert 0.015 < sum("  " in a.strip(" ") for a in addresses) / len(addresses) < 0.025
    assert 0.08 < sum(a.istitle() for a in addresses) / len(addresses) < 0.12
    assert 0.03 < sum(a.islower() for a in addresses) / len(addresses) < 0.05
    assert sum("," in row["owner_name"] for row in dof) > 0.2 * len(dof)


def test_number_mess_is_injected(tables: dict[str, Rows]) -> None:
    dof = tables["dof_pts.csv"]
    columns = ("land_area", "bldg_area", "num_floors", "year_built", "assessed_total")
    values = [row[column] for row in dof for column in columns]
    assert 0.007 < sum(v.strip(" ") == "" for v in values) / len(values) < 0.013
    assert 0.002 < values.count("N/A") / len(values) < 0.005
    land = [row["land_area"] for row in dof if row["land_area"].strip(" ")]
    assert 0.015 < sum(v != v.strip(" ") for v in land) / len(dof) < 0.025


def zip_variant(zipcode: str) -> str:
    if zipcode.strip(" ") == "":
        return "blank"
    if zipcode == "N/A":
        return "na"
    return "plus4" if "-" in zipcode else "zeros" if len(zipcode) > 5 else "plain"


def test_zip_code_variants(tables: dict[str, Rows]) -> None:
    zips = [row["zipcode"] for row in tables["dof_pts.csv"]]
    share = Counter(zip_variant(z) for z in zips)
    assert 0.02 < share["zeros"] / len(zips) < 0.04
    assert 0.015 < share["plus4"] / len(zips) < 0.025
    assert 0.006 < share["blank"] / len(zips) < 0.014 and share["na"] > 0


def test_zoning_shares_sum_to_exactly_100_with_ties_and_repeated_districts(
    tables: dict[str, Rows],
) -> None:
    shares: dict[str, list[Decimal]] = defaultdict(list)
    districts: dict[str, list[str | None]] = defaultdict(list)
    for row in tables["zoning_lots.csv"]:
        shares[row["bbl"]].append(Decimal(row["pct_covered"]))
        cleaned = c(row["zoning_district"])
        districts[row["bbl"]].append(cleaned.upper() if cleaned else None)
    assert all(sum(values) == 100 for values in shares.values())
    patterns = Counter(tuple(sorted(values, reverse=True)) for values in shares.values())
    for tie in ([50, 50], [40, 30, 30], [35, 35, 30], ["33.34", "33.33", "33.33"]):
        assert patterns[tuple(Decimal(v) for v in tie)] > 0, tie
    repeated = [ds for ds in districts.values() if None not in ds and len(set(ds)) < len(ds)]
    assert repeated
    counts = Counter(len(values) for values in shares.values())
    assert 0.74 < counts[1] / N < 0.78
    assert 0.16 < counts[2] / N < 0.20
    assert 0.05 < counts[3] / N < 0.07
    assert max(counts) == 3
    assert {"100", "100.00"} <= {row["pct_covered"] for row in tables["zoning_lots.csv"]}


def test_orphans_use_lots_9900_to_9999_and_never_match_a_lot(
    tables: dict[str, Rows], lot_bbls: set[str]
) -> None:
    assert all(int(bbl[-4:]) < 9900 for bbl in lot_bbls)
    expected = {"zoning_lots.csv": (100, 160), "dob_jobs.csv": (100, 100), "landmarks.csv": (2, 2)}
    for name, (low, high) in expected.items():
        orphans = [row["bbl"] for row in tables[name] if row["bbl"] not in lot_bbls]
        assert low <= len(orphans) <= high
        assert all(9900 <= int(bbl[-4:]) <= 9999 for bbl in orphans)


def test_dob_jobs_unique_numbers_types_and_hot_lots(tables: dict[str, Rows]) -> None:
    jobs = tables["dob_jobs.csv"]
    numbers = [row["job_number"] for row in jobs]
    assert len(set(numbers)) == len(jobs) and all(re.fullmatch(r"\d{9}", n) for n in numbers)
    types = Counter(ct(row["job_type"]) for row in jobs)
    assert 0.43 < types["A2"] / len(jobs) < 0.47 and 0.06 < types["NB"] / len(jobs) < 0.1
    assert 0.015 < sum(row["job_type"].islower() for row in jobs) / len(jobs) < 0.025
    per_lot = Counter(row["bbl"] for row in jobs)
    hottest = sum(count for _, count in per_lot.most_common(N // 100))
    assert hottest >= 0.14 * len(jobs)
    assert 0.005 < sum(c(row["filed_date"]) is None for row in jobs) / len(jobs) < 0.015
    assert any(row["proposed_units"] == "N/A" for row in jobs)


def test_landmarks_list_some_lots_twice(tables: dict[str, Rows], lot_bbls: set[str]) -> None:
    per_lot = Counter(row["bbl"] for row in tables["landmarks.csv"] if row["bbl"] in lot_bbls)
    assert len(per_lot) == N // 200 and Counter(per_lot.values()) == {1: 90, 2: 10}


def test_write_demo_writes_the_sources_and_only_missing_templates(tmp_path: Path) -> None:
    from lakehouse.config import init_project, load_config
    from lakehouse.demo import write_demo

    config = load_config(init_project(tmp_path / "p")[0])
    first = write_demo(config, tmp_path / "p" / "data", lots=20, seed=1)
    assert [path.name for path, _ in first.sources] == list(SOURCE_FILES + MAP_FILES)
    assert all(path.stat().st_size == size for path, size in first.sources)
    assert first.datasets == [name.removesuffix(".csv") for name in SOURCE_FILES] + [
        "dtm_lots",
        "zoning_districts",
    ]
    assert sorted(t.name for t in first.templates) == sorted(f"{d}.yml" for d in first.datasets)
    again = write_demo(config, tmp_path / "p" / "data", lots=20, seed=1)
    assert again.templates == [] and again.sources == first.sources
