"""Seeded generator of the four messy PLUTO-lite raw sources (docs: PLUTO_LITE.md, section 1).

Every column is built as a fixed-width bytes array with numpy and the rows are assembled
without a per-row Python loop, so a million lots take a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

SOURCE_FILES: tuple[str, ...] = ("dof_pts.csv", "zoning_lots.csv", "dob_jobs.csv", "landmarks.csv")
MAX_LOTS = 50_000_000  # keeps lot numbers below 9900 and job numbers at 9 digits

Text = NDArray[np.bytes_]
Ints = NDArray[np.int64]
Rng = np.random.Generator
Edit = tuple[float, Callable[[Rng, Text], Text]]

BORO_SHARES = (0.05, 0.105, 0.32, 0.375, 0.15)  # MN, BX, BK, QN, SI
LOTS_PER_BLOCK = 25
BLOCK_MAX = 99_999
REAL_BLOCK_MAX = (0, 2255, 5958, 8955, 16350, 8050)  # highest block number per boro in NYC
ORPHAN_LOT_MIN = 9900


def _vocabulary(text: str, separator: str | None = None) -> Text:
    """Words (or `separator`-separated phrases) written as one string, as ASCII bytes."""
    return np.array([item.strip() for item in text.split(separator)], dtype="S")


def _zip_list(ranges: str) -> Text:
    """Zip codes written as `10001-10003 10009`: inclusive ranges or single codes."""
    codes: list[str] = []
    for item in ranges.split():
        low, _, high = item.partition("-")
        codes += [str(code) for code in range(int(low), int(high or low) + 1)]
    return np.array(codes, dtype="S5")


ZIPS_BY_BORO = [
    _zip_list(
        "10001-10003 10009-10014 10016 10017 10019 10021-10040 10044 10065 10075 10128 10280"
    ),
    _zip_list("10451-10475"),
    _zip_list("11201 11203-11226 11228-11239 11249"),
    _zip_list(
        "11004 11101-11106 11354-11358 11360 11361 11364-11369 11372-11375 11377-11379 11385 "
        "11411-11423 11426-11429 11432-11436 11691-11694"
    ),
    _zip_list("10301-10310 10312 10314"),
]
ALL_ZIPS = np.concatenate(ZIPS_BY_BORO)
ZIP_COUNT = np.array([len(zips) for zips in ZIPS_BY_BORO])
ZIP_START = np.cumsum(ZIP_COUNT) - ZIP_COUNT
STREETS = np.concatenate(
    [
        _vocabulary(
            "BROADWAY/AMSTERDAM AVENUE/ATLANTIC AVENUE/FLATBUSH AVENUE/QUEENS BOULEVARD/"
            "GRAND CONCOURSE/HYLAN BOULEVARD/VICTORY BOULEVARD/OCEAN PARKWAY/NOSTRAND AVENUE/"
            "JAMAICA AVENUE/NORTHERN BOULEVARD/HILLSIDE AVENUE/FULTON STREET/BEDFORD AVENUE/"
            "MYRTLE AVENUE/LEXINGTON AVENUE/PARK AVENUE/RICHMOND AVENUE/FOREST AVENUE/MAIN STREET/"
            "CONEY ISLAND AVENUE/KINGS HIGHWAY/UNION TURNPIKE/ASTORIA BOULEVARD/STEINWAY STREET/"
            "FORDHAM ROAD/WHITE PLAINS ROAD/SOUTHERN BOULEVARD/COURT STREET/CHURCH AVENUE/"
            "BERGEN STREET/DEAN STREET/ROOSEVELT AVENUE/MERRICK BOULEVARD/FRANCIS LEWIS BOULEVARD/"
            "AMBOY ROAD/ARTHUR KILL ROAD/BAY STREET/RIVERSIDE DRIVE/SAINT NICHOLAS AVENUE/"
            "MALCOLM X BOULEVARD/COLUMBUS AVENUE/CANAL STREET",
            "/",
        ),
        [f"{side} {n} STREET" for side in ("EAST", "WEST") for n in range(1, 190, 3)],
        [f"{n} {kind}" for kind in ("STREET", "AVENUE", "ROAD", "DRIVE") for n in range(1, 250, 7)],
        [f"BEACH {n} STREET" for n in range(20, 120, 9)],
    ]
).astype("S")
LAST_NAMES = _vocabulary(
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ "
    "GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS "
    "SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN "
    "HILL FLORES GREEN ADAMS RIVERA CAMPBELL O'BRIEN COHEN GOLDBERG KAPLAN CHEN WANG LI ZHANG "
    "RUSSO ESPOSITO ROMANO KOWALSKI MURPHY KELLY SULLIVAN PATEL SHAH KHAN ALI FRIEDMAN"
)
FIRST_NAMES = _vocabulary(
    "JOHN MARY JAMES PATRICIA ROBERT JENNIFER MICHAEL LINDA WILLIAM ELIZABETH DAVID MARIA JOSE "
    "WEI ANNA JOSEPH CARMEN LUIS ROSA AHMED FATIMA YAN DMITRY IRINA SAMUEL RUTH"
)
INSTITUTIONS = _vocabulary(
    "NYC HOUSING AUTHORITY/CITY OF NEW YORK/NYC DEPARTMENT OF EDUCATION/UNAVAILABLE OWNER/"
    "METROPOLITAN TRANSPORTATION AUTHORITY/NYC DEPT OF PARKS AND REC/BOARD OF MANAGERS/"
    "ROMAN CATHOLIC ARCHDIOCESE OF NY",
    "/",
)
OWNER_KIND_SHARES = (0.35, 0.10, 0.05, 0.12, 0.05, 0.18, 0.15)


@dataclass(frozen=True)
class _ClassGroup:
    """Building classes that share floor and unit ranges."""

    codes: tuple[str, ...]
    weight: float
    floors: tuple[int, int]
    units_res: tuple[int, int]
    units_other: tuple[int, int]


CLASS_GROUPS = (
    _ClassGroup(("A0", "A1", "A2", "A3", "A5", "A9"), 0.27, (1, 3), (1, 1), (0, 0)),
    _ClassGroup(("B1", "B2", "B3", "B9"), 0.22, (2, 3), (2, 2), (0, 0)),
    _ClassGroup(("C0", "C1", "C2", "C3", "C4", "C6"), 0.14, (2, 6), (3, 40), (0, 1)),
    _ClassGroup(("D1", "D3", "D4", "D7", "D9"), 0.025, (6, 40), (20, 400), (0, 4)),
    _ClassGroup(("R1", "R2", "R3", "R4", "R9"), 0.042, (3, 50), (2, 300), (0, 3)),
    _ClassGroup(("S1", "S2", "S3", "S9"), 0.06, (2, 5), (1, 4), (1, 2)),
    _ClassGroup(("K1", "K2", "K4"), 0.04, (1, 3), (0, 0), (1, 10)),
    _ClassGroup(("O1", "O2", "O4", "O6"), 0.015, (2, 60), (0, 0), (1, 50)),
    _ClassGroup(("E1", "F1", "F5", "G0", "G1", "G2"), 0.05, (1, 3), (0, 0), (1, 3)),
    _ClassGroup(("V0", "V1"), 0.05, (0, 0), (0, 0), (0, 0)),
    _ClassGroup(("I5", "M1", "P9", "Q1", "W2"), 0.038, (1, 4), (0, 0), (1, 1)),
)
CONDO_GROUP, VACANT_GROUP = 4, 9
BIG_LOT_GROUPS = (3, 4, 7)  # elevator apartments, condos, offices
GROUP_P = np.array([group.weight for group in CLASS_GROUPS]) / sum(g.weight for g in CLASS_GROUPS)
CLASS_CODES = np.array([code for group in CLASS_GROUPS for code in group.codes], dtype="S2")
CODE_COUNT = np.array([len(group.codes) for group in CLASS_GROUPS])
CODE_START = np.cumsum(CODE_COUNT) - CODE_COUNT
FLOORS = np.array([group.floors for group in CLASS_GROUPS])
UNITS_RES = np.array([group.units_res for group in CLASS_GROUPS])
UNITS_OTHER = np.array([group.units_other for group in CLASS_GROUPS])
LAND_RATE = np.array([0, 95, 10, 18, 14, 8])  # assessed $ per square foot, indexed by boro
BLDG_RATE = np.array([0, 60, 12, 15, 14, 11])
DISTRICT_WEIGHTS = [
    item.decode().split("=")
    for item in _vocabulary(
        "R6=8 R5=8 R4=9 R3-2=7 R3X=5 R3-1=4 R2=3 R4-1=4 R4A=2 R5B=3 R5D=2 R6A=4 R6B=4 R7-1=4 "
        "R7-2=3 R7A=2 R7B=1 R8=2 R8A=1 R8B=1 R9=0.5 R10=0.5 R1-2=1 C1-6=0.5 C1-9=0.5 C2-8=0.5 "
        "C4-2=1 C4-3=1 C4-4A=1 C4-5X=0.5 C5-2=0.5 C6-2=0.5 C6-4=0.5 C8-1=1 C8-2=1 M1-1=4 M1-2=2 "
        "M1-4/R7A=0.5 M2-1=1 M3-1=1.5 PARK=2 BPC=0.1"
    )
]
DISTRICTS = np.array([name for name, _ in DISTRICT_WEIGHTS], dtype="S")
DISTRICT_P = np.array([float(weight) for _, weight in DISTRICT_WEIGHTS])
DISTRICT_P /= DISTRICT_P.sum()
TIES_OF_THREE = np.array([[4000, 3000, 3000], [3500, 3500, 3000], [3334, 3333, 3333]])
JOB_TYPES = np.array([b"NB", b"A1", b"A2", b"A3", b"DM"])
JOB_TYPE_P = (0.08, 0.30, 0.45, 0.10, 0.07)
JOB_STATUSES = np.array([b"FILED", b"APPROVED", b"PERMIT ISSUED", b"SIGNED OFF", b"WITHDRAWN"])
LANDMARK_KINDS = _vocabulary(
    "HOUSE/BUILDING/MANSION/CHURCH/ROW/FIREHOUSE/THEATER/HOUSE, INTERIOR/"
    "BANK BUILDING, FIRST FLOOR INTERIOR",
    "/",
)
HISTORIC_DISTRICTS = np.strings.add(
    _vocabulary(
        "GREENWICH VILLAGE/MOTT HAVEN/BROOKLYN HEIGHTS/JACKSON HEIGHTS/ST. GEORGE-NEW BRIGHTON/"
        "PARK SLOPE/SOHO-CAST IRON/RIDGEWOOD NORTH/FORT GREENE/UPPER EAST SIDE",
        "/",
    ),
    b" HISTORIC DISTRICT",
)
EPOCH_DAY = np.datetime64("1970-01-01", "D")


def generate_pluto_lite(out_dir: Path, lots: int = 10_000, seed: int = 42) -> dict[str, Path]:
    """Write the four PLUTO-lite raw CSVs to out_dir; same (lots, seed) gives byte-identical files.

    Raises ValueError when lots is below 1 or above MAX_LOTS.
    """
    if lots < 1 or lots > MAX_LOTS:
        raise ValueError(f"lots must be between 1 and {MAX_LOTS:,}, got {lots}.")
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = _layout_lots(rng, lots)
    builders = (_dof_columns, _zoning_columns, _dob_columns, _landmark_columns)
    paths: dict[str, Path] = {}
    for name, build in zip(SOURCE_FILES, builders, strict=True):
        paths[name] = out_dir / name
        _write_csv(paths[name], build(rng, layout))
    return paths


@dataclass(frozen=True)
class _Lots:
    """The true lots: per-lot boro/block/lot and per-block boro and block number."""

    boro: Ints
    block: Ints
    lot: Ints
    block_id: Ints
    block_boro: Ints
    block_number: Ints

    @property
    def count(self) -> int:
        return len(self.lot)

    @property
    def bbl(self) -> Ints:
        return self.boro * 10**9 + self.block * 10**4 + self.lot


def _layout_lots(rng: Rng, n: int) -> _Lots:
    """Spread n lots over blocks of ~25 mostly consecutive lot numbers, boroughs by share."""
    block_boro, block_number, sizes = [], [], []
    for boro, boro_lots in enumerate(rng.multinomial(n, BORO_SHARES), start=1):
        blocks = min(BLOCK_MAX, max(1, round(boro_lots / LOTS_PER_BLOCK)))
        size = rng.multinomial(boro_lots, np.full(blocks, 1 / blocks))
        highest = min(BLOCK_MAX, max(REAL_BLOCK_MAX[boro], blocks + blocks // 10))
        number = rng.choice(highest, size=blocks, replace=False) + 1
        keep = size > 0
        block_boro.append(np.full(keep.sum(), boro))
        block_number.append(number[keep])
        sizes.append(size[keep])
    per_block = np.concatenate(sizes)
    block_id = np.repeat(np.arange(len(per_block)), per_block)
    first = np.cumsum(per_block) - per_block
    step = np.where(rng.random(n) < 0.85, 1, rng.integers(2, 12, n))
    step[first] = rng.integers(1, 40, len(first))
    run = np.cumsum(step)
    lot = run - np.repeat(run[first] - step[first], per_block)
    boros, numbers = np.concatenate(block_boro), np.concatenate(block_number)
    return _Lots(boros[block_id], numbers[block_id], lot, block_id, boros, numbers)


def _orphan_bbls(rng: Rng, lots: _Lots, count: int) -> Ints:
    """Distinct BBLs on real blocks with lot numbers 9900-9999, which never match a lot."""
    code = rng.choice(len(lots.block_boro) * 100, size=count, replace=False)
    block, lot = code // 100, ORPHAN_LOT_MIN + code % 100
    return lots.block_boro[block] * 10**9 + lots.block_number[block] * 10**4 + lot


def _dof_columns(rng: Rng, lots: _Lots) -> dict[str, Text]:
    """dof_pts: one record per lot plus 0.1% second records with another owner and value."""
    n = lots.count
    dup = rng.choice(n, size=_rate_count(n, 0.001), replace=False)
    rows = np.concatenate([np.arange(n), dup])  # rows[i] is also the first record of row i
    second = np.arange(len(rows)) >= n
    address = _addresses(rng, lots)[rows]
    owner = _owner_names(rng, address)
    owner = np.where(second & (owner == owner[rows]), owner + b" ET AL", owner)
    building = {name: values[rows] for name, values in _buildings(rng, lots).items()}
    building["assessed_total"][n:] += 100 * rng.integers(10, 5000, len(dup))
    seconds = rng.integers(1_680_307_200, 1_743_379_200, n)  # 2023-04-01 .. 2025-03-31
    shift = rng.integers(3600, 90 * 86400 + 1, len(dup)) * rng.choice([-1, 1], len(dup))
    columns = {
        "bbl": _int_text(lots.bbl[rows]),
        "boro": _int_text(lots.boro[rows]),
        "block": _zero_padded(rng, _int_text(lots.block[rows]), width=5, share=0.3),
        "lot": _zero_padded(rng, _int_text(lots.lot[rows]), width=4, share=0.3),
        "address": _mess_text(rng, address, title=0.10, lower=0.04, doubled=0.02),
        "zipcode": _mess(rng, _zip_codes(rng, lots)[rows], ZIP_EDITS),
        "owner_name": _mess_text(rng, owner, title=0.10, lower=0.04, doubled=0.01),
        "bldg_class": _mess_text(rng, building["bldg_class"], lower=0.02),
    }
    for name, values in building.items():
        if name == "bldg_class":
            continue
        edits = NUMBER_EDITS + ([(0.02, _stray_spaces)] if name == "land_area" else [])
        columns[name] = _mess(rng, values if values.dtype.kind == "S" else _int_text(values), edits)
    condo = np.where(np.strings.startswith(building["bldg_class"], b"R"), b"Y", b"N")
    columns["condo_flag"] = _mess(rng, condo, [(0.01, _blanked), (0.02, _lower_case)])
    columns["updated_at"] = _timestamp_text(np.concatenate([seconds, seconds[dup] + shift]))
    return _in_file_order(columns, _first_records_first(rng.permutation(len(rows)), dup, n))


def _first_records_first(order: Ints, dup: Ints, n: int) -> Ints:
    """Swap places within each duplicated pair so that its first record comes first in the file."""
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    second = n + np.arange(len(dup))
    first_place, second_place = position[dup], position[second]
    order[np.minimum(first_place, second_place)] = dup
    order[np.maximum(first_place, second_place)] = second
    return order


def _addresses(rng: Rng, lots: _Lots) -> Text:
    """One street per block, house numbers climbing with the lot, hyphenated in most of Queens."""
    blocks = len(lots.block_boro)
    street = STREETS[rng.integers(0, len(STREETS), blocks)][lots.block_id]
    house = rng.integers(1, 900, blocks)[lots.block_id] + 2 * lots.lot
    hyphenated = ((lots.block_boro == 4) & (rng.random(blocks) < 0.7))[lots.block_id]
    queens = _int_text(rng.integers(10, 260, blocks)[lots.block_id]) + b"-"
    queens = queens + np.strings.zfill(_int_text(house % 100), 2)
    return np.where(hyphenated, queens, _int_text(house)) + b" " + street


def _owner_names(rng: Rng, address: Text) -> Text:
    """Persons (often `LAST, FIRST`), family trusts, companies, address LLCs and public owners."""
    k = len(address)
    kind = rng.choice(len(OWNER_KIND_SHARES), size=k, p=OWNER_KIND_SHARES)
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), k)]
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), k)]
    forms = (
        last + b", " + first,
        first + b" " + last,
        last + b" FAMILY TRUST",
        last + b" REALTY LLC",
        last + b" HOLDINGS, INC.",
        address + b" LLC",
        INSTITUTIONS[rng.integers(0, len(INSTITUTIONS), k)],
    )
    return np.select([kind == i for i in range(len(forms))], forms, default=b"")


def _buildings(rng: Rng, lots: _Lots) -> dict[str, NDArray[np.int64] | Text]:
    """Building class and the numbers that go with it, per lot; condos often have land_area 0."""
    n, boro = lots.count, lots.boro
    group = rng.choice(len(CLASS_GROUPS), size=n, p=GROUP_P)
    code = CLASS_CODES[CODE_START[group] + (rng.random(n) * CODE_COUNT[group]).astype(np.int64)]
    floors = rng.integers(FLOORS[group, 0], FLOORS[group, 1] + 1)
    half = (rng.random(n) < 0.15) & (floors > 0)
    scale = np.where(np.isin(group, BIG_LOT_GROUPS), 3.0, 1.0)
    land = np.clip(np.exp(rng.normal(7.75, 0.55, n)) * scale, 300, 400_000).round().astype(np.int64)
    no_land = ((group == CONDO_GROUP) & (rng.random(n) < 0.78)) | (rng.random(n) < 0.005)
    bldg = (land * rng.uniform(0.35, 0.95, n) * (floors + 0.5 * half)).round().astype(np.int64)
    units_res = rng.integers(UNITS_RES[group, 0], UNITS_RES[group, 1] + 1)
    year = np.clip(rng.normal(1938, 28, n), 1800, 2024).round().astype(np.int64)
    year[(group == VACANT_GROUP) | (rng.random(n) < 0.025)] = 0
    assessed_land = (land * LAND_RATE[boro] * rng.uniform(0.6, 1.4, n)).round().astype(np.int64)
    assessed_bldg = (bldg * BLDG_RATE[boro] * rng.uniform(0.6, 1.4, n)).round().astype(np.int64)
    assessed_total = assessed_land + assessed_bldg
    draw = rng.random(n)
    partly = (assessed_total * rng.random(n)).round().astype(np.int64)
    return {
        "bldg_class": code,
        "land_area": np.where(no_land, 0, land),
        "bldg_area": bldg,
        "num_floors": _int_text(floors) + np.where(half, b".5", b".0"),
        "units_res": units_res,
        "units_total": units_res + rng.integers(UNITS_OTHER[group, 0], UNITS_OTHER[group, 1] + 1),
        "year_built": year,
        "assessed_land": assessed_land,
        "assessed_total": assessed_total,
        "exempt_total": np.where(draw < 0.05, assessed_total, np.where(draw < 0.15, partly, 0)),
    }


def _zip_codes(rng: Rng, lots: _Lots) -> Text:
    """A real zip code of the borough, one per block."""
    boro = lots.block_boro - 1
    pick = ZIP_START[boro] + (rng.random(len(boro)) * ZIP_COUNT[boro]).astype(np.int64)
    return ALL_ZIPS[pick][lots.block_id]


def _zoning_columns(rng: Rng, lots: _Lots) -> dict[str, Text]:
    """zoning_lots: 0-3 districts per lot whose shares sum to exactly 100, plus 0.5% orphans."""
    per_lot = rng.choice(4, size=lots.count, p=(0.005, 0.755, 0.18, 0.06))
    lot_of_row = np.repeat(np.arange(lots.count), per_lot)
    rank = np.arange(len(lot_of_row)) - np.repeat(np.cumsum(per_lot) - per_lot, per_lot)
    district = _lot_districts(rng, lots, per_lot)[lot_of_row, rank]
    share = _district_shares(rng, per_lot)[lot_of_row, rank]
    orphans = _rate_count(len(lot_of_row), 0.005)
    district = np.concatenate([district, rng.choice(len(DISTRICTS), orphans, p=DISTRICT_P)])
    edits: list[Edit] = [(0.005, _blanked), (0.02, _lower_case), (0.01, _stray_spaces)]
    columns = {
        "bbl": _int_text(np.concatenate([lots.bbl[lot_of_row], _orphan_bbls(rng, lots, orphans)])),
        "zoning_district": _mess(rng, DISTRICTS[district], edits),
        "pct_covered": _percent_text(rng, np.concatenate([share, np.full(orphans, 10_000)])),
    }
    return _in_file_order(columns, rng.permutation(len(district)))


def _lot_districts(rng: Rng, lots: _Lots, per_lot: Ints) -> Ints:
    """Three distinct districts per lot (the first mostly the block's), 4% repeating the first."""
    n, count = lots.count, len(DISTRICTS)
    of_block = rng.choice(count, size=len(lots.block_boro), p=DISTRICT_P)[lots.block_id]
    first = np.where(rng.random(n) < 0.85, of_block, rng.choice(count, size=n, p=DISTRICT_P))
    second = rng.integers(1, count, n)
    third = rng.integers(1, count - 1, n)
    third += third >= second  # distinct non-zero offsets give three distinct districts
    offset = np.stack([np.zeros(n, dtype=np.int64), second, third], axis=1)
    repeated = np.flatnonzero((per_lot >= 2) & (rng.random(n) < 0.04))
    offset[repeated, per_lot[repeated] - 1] = 0
    return (first[:, None] + offset) % count


def _district_shares(rng: Rng, per_lot: Ints) -> Ints:
    """Shares in hundredths of a percent summing to exactly 10000 per lot, with injected ties."""
    n = len(per_lot)
    weight = rng.integers(5, 100, (n, 3)) * (np.arange(3) < per_lot[:, None])
    unit = np.where(rng.random(n) < 0.5, 100, 1)  # whole percents or hundredths
    units = 10_000 // unit
    share = weight * units[:, None] // np.maximum(weight.sum(axis=1), 1)[:, None]
    share[:, 0] += units - share.sum(axis=1)
    share *= unit[:, None]
    share[(per_lot == 2) & (rng.random(n) < 0.10)] = (5000, 5000, 0)
    tied = np.flatnonzero((per_lot == 3) & (rng.random(n) < 0.15))
    share[tied] = TIES_OF_THREE[rng.integers(0, len(TIES_OF_THREE), len(tied))]
    return share


def _dob_columns(rng: Rng, lots: _Lots) -> dict[str, Text]:
    """dob_jobs: 0.5 jobs per lot, 14% of them on a hot 1% of lots, 1% orphans."""
    n = lots.count
    jobs = _rate_count(n, 0.5)
    orphans = _rate_count(jobs, 0.01)
    hot_jobs = min(_rate_count(jobs, 0.14), jobs - orphans)
    hot = rng.choice(n, size=max(1, _rate_count(n, 0.01)), replace=False)
    lot = np.concatenate(
        [hot[rng.integers(0, len(hot), hot_jobs)], rng.integers(0, n, jobs - orphans - hot_jobs)]
    )
    bbl = np.concatenate([lots.bbl[lot], _orphan_bbls(rng, lots, orphans)])
    step = 10**8 // jobs
    serial = rng.permutation(np.arange(jobs) * step + rng.integers(0, step, jobs))
    job_type = rng.choice(len(JOB_TYPES), size=jobs, p=JOB_TYPE_P)
    filed = rng.integers(_day_number("2000-01-01"), _day_number("2025-06-30") + 1, jobs)
    type_edits: list[Edit] = [(0.005, _blanked), (0.02, _lower_case), (0.01, _stray_spaces)]
    columns = {
        "job_number": _int_text(bbl // 10**9 * 10**8 + serial),  # DOB numbers start with the boro
        "bbl": _int_text(bbl),
        "job_type": _mess(rng, JOB_TYPES[job_type], type_edits),
        "filed_date": _mess(rng, _mdy_text(filed), [(0.01, _blanked)]),
        "status": JOB_STATUSES[rng.integers(0, len(JOB_STATUSES), jobs)],
        "proposed_units": _mess(rng, _proposed_units(rng, job_type), [(0.005, _not_available)]),
    }
    return _in_file_order(columns, rng.permutation(jobs))


def _proposed_units(rng: Rng, job_type: Ints) -> Text:
    """Units for every new building, for some alterations and demolitions; blank otherwise."""
    k = len(job_type)
    units = rng.integers(0, np.array([1, 21, 5, 5, 13])[job_type])
    new_building = np.exp(rng.normal(1.5, 1.2, k)).round().clip(0, 999).astype(np.int64)
    text = _int_text(np.where(job_type == 0, new_building, units))
    missing = np.flatnonzero(rng.random(k) >= np.array([1.0, 0.6, 0.1, 0.1, 0.5])[job_type])
    return _put(text, missing, _blanked(rng, text[missing]))


def _landmark_columns(rng: Rng, lots: _Lots) -> dict[str, Text]:
    """landmarks: 0.5% of lots, 10% of them twice (landmark + historic district), 2% orphans."""
    listed = rng.choice(lots.count, size=_rate_count(lots.count, 0.005), replace=False)
    twice = listed[: _rate_count(len(listed), 0.1)]
    orphans = _orphan_bbls(rng, lots, _rate_count(len(listed), 0.02))
    bbl = np.concatenate([lots.bbl[listed], lots.bbl[twice], orphans])
    k = len(bbl)
    in_district = rng.random(k) < 0.4
    in_district[: len(twice)] = False
    in_district[len(listed) : len(listed) + len(twice)] = True
    building = LAST_NAMES[rng.integers(0, len(LAST_NAMES), k)] + b" "
    building = building + LANDMARK_KINDS[rng.integers(0, len(LANDMARK_KINDS), k)]
    district = HISTORIC_DISTRICTS[rng.integers(0, len(HISTORIC_DISTRICTS), k)]
    designated = rng.integers(_day_number("1965-10-14"), _day_number("2025-06-30") + 1, k)
    columns = {
        "bbl": _int_text(bbl),
        "lm_name": np.where(in_district, district, building),
        "designated_date": _mdy_text(designated),
    }
    return _in_file_order(columns, rng.permutation(k))


# --- mess ----------------------------------------------------------------------------------------


def _mess(rng: Rng, values: Text, edits: Sequence[Edit]) -> Text:
    """Apply each edit to its rate of rows; one draw per row keeps the edits mutually exclusive."""
    draw = rng.random(len(values))
    low = 0.0
    for rate, edit in edits:
        rows = np.flatnonzero((draw >= low) & (draw < low + rate))
        low += rate
        if len(rows):
            values = _put(values, rows, edit(rng, values[rows]))
    return values


def _mess_text(
    rng: Rng, values: Text, *, title: float = 0, lower: float = 0, doubled: float = 0
) -> Text:
    """The mess of dof_pts text columns: blanks, N/A, stray spaces, case variants, double spaces."""
    case_and_spacing = [(title, _title_case), (lower, _lower_case), (doubled, _doubled_space)]
    return _mess(rng, values, [*TEXT_EDITS, *case_and_spacing])


def _put(values: Text, rows: Ints, new: Text) -> Text:
    """Copy of values with rows replaced, widened first so that nothing is truncated."""
    width = max(values.dtype.itemsize, new.dtype.itemsize, 1)
    out = values.astype(f"S{width}")
    out[rows] = new
    return out


def _blanked(rng: Rng, values: Text) -> Text:
    spaces = np.strings.multiply(b" ", rng.integers(1, 4, len(values)))
    return np.where(rng.random(len(values)) < 0.2, spaces, b"")


def _not_available(_rng: Rng, values: Text) -> Text:
    return np.full(len(values), b"N/A")


def _stray_spaces(rng: Rng, values: Text) -> Text:
    lead = rng.integers(0, 3, len(values))
    trail = rng.integers(0, 3, len(values))
    trail[lead + trail == 0] = 1
    return np.strings.multiply(b" ", lead) + values + np.strings.multiply(b" ", trail)


def _title_case(_rng: Rng, values: Text) -> Text:
    return np.strings.title(values)


def _lower_case(_rng: Rng, values: Text) -> Text:
    return np.strings.lower(values)


def _doubled_space(_rng: Rng, values: Text) -> Text:
    return np.strings.replace(values, b" ", b"  ", 1)


def _zero_padded(rng: Rng, values: Text, *, width: int, share: float) -> Text:
    """Left-pad `share` of all values with zeros to `width`, picked among the shorter values."""
    shorter = np.strings.str_len(values) < width
    rate = min(1.0, share * len(values) / max(1, shorter.sum()))
    rows = np.flatnonzero(shorter & (rng.random(len(values)) < rate))
    return _put(values, rows, np.strings.zfill(values[rows], width))


def _extra_zeros(rng: Rng, values: Text) -> Text:
    return np.where(rng.random(len(values)) < 0.5, b"0", b"00") + values


def _zip_plus4(rng: Rng, values: Text) -> Text:
    return values + b"-" + np.strings.zfill(_int_text(rng.integers(1, 10_000, len(values))), 4)


TEXT_EDITS: list[Edit] = [(0.0075, _blanked), (0.0035, _not_available), (0.02, _stray_spaces)]
NUMBER_EDITS: list[Edit] = [(0.01, _blanked), (0.0035, _not_available)]
ZIP_EDITS: list[Edit] = [
    (0.01, _blanked),
    (0.005, _not_available),
    (0.03, _extra_zeros),
    (0.02, _zip_plus4),
]


# --- formatting and writing -------------------------------------------------------------------


def _rate_count(n: int, rate: float) -> int:
    """n * rate rounded half up."""
    return int(n * rate + 0.5)


def _int_text(values: Ints) -> Text:
    """Decimal text of non-negative integers, as narrow as the widest value."""
    width = len(str(int(values.max()))) if values.size else 1
    return values.astype(f"S{width}")


def _percent_text(rng: Rng, hundredths: Ints) -> Text:
    """`63.25`; whole and tenth values half the time without trailing zeros (`100`, `62.5`)."""
    whole = _int_text(hundredths // 100) + b"."
    cents = hundredths % 100
    full = whole + np.strings.zfill(_int_text(cents), 2)
    short = rng.random(len(hundredths)) < 0.5
    text = np.where(short & (cents % 10 == 0), whole + _int_text(cents // 10), full)
    return np.where(short & (cents == 0), _int_text(hundredths // 100), text)


def _day_number(iso_date: str) -> int:
    return int((np.datetime64(iso_date, "D") - EPOCH_DAY).astype(np.int64))


def _timestamp_text(seconds: Ints) -> Text:
    """`YYYY-MM-DD HH:MM:SS` from seconds since the epoch."""
    text = np.datetime_as_string(seconds.astype("M8[s]"), unit="s").astype("S19")
    text.view(np.uint8).reshape(-1, 19)[:, 10] = ord(" ")
    return text


def _mdy_text(days: Ints) -> Text:
    """`MM/DD/YYYY` from days since the epoch."""
    iso = np.datetime_as_string(EPOCH_DAY + days, unit="D").astype("S10")
    mdy = iso.view(np.uint8).reshape(-1, 10)[:, [5, 6, 4, 8, 9, 4, 0, 1, 2, 3]]
    mdy[:, [2, 5]] = ord("/")
    return np.ascontiguousarray(mdy).view("S10").ravel()


def _in_file_order(columns: dict[str, Text], order: Ints) -> dict[str, Text]:
    return {name: values[order] for name, values in columns.items()}


def _quote_commas(values: Text) -> Text:
    rows = np.flatnonzero(np.strings.find(values, b",") >= 0)
    return _put(values, rows, b'"' + values[rows] + b'"') if len(rows) else values


def _write_csv(path: Path, columns: dict[str, Text]) -> None:
    fields = [_quote_commas(values) for values in columns.values()]
    with path.open("wb") as out:
        out.write(",".join(columns).encode("ascii") + b"\n")
        for chunk in _csv_chunks(fields):
            out.write(chunk)


def _csv_chunks(fields: list[Text], rows_per_chunk: int = 1 << 17) -> Iterator[bytes]:
    """CSV lines, a chunk of rows at a time.

    Fixed-width bytes values are NUL-padded and the data holds no NUL, so laying the fields and
    separators side by side in a byte grid and dropping every NUL leaves exactly the lines.
    """
    separators = [ord(",")] * (len(fields) - 1) + [ord("\n")]
    for start in range(0, len(fields[0]), rows_per_chunk):
        parts = []
        for values, separator in zip(fields, separators, strict=True):
            chunk = values[start : start + rows_per_chunk]
            parts.append(chunk.view(np.uint8).reshape(len(chunk), chunk.dtype.itemsize))
            parts.append(np.full((len(chunk), 1), separator, dtype=np.uint8))
        grid = np.concatenate(parts, axis=1)
        yield grid[grid != 0].tobytes()
