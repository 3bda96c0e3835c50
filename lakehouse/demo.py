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
ORPHAN_LOT_MIN = 9900
ZIPS_BY_BORO = tuple(
    np.array(zips.split(), dtype="S5")
    for zips in (
        "10001 10002 10003 10009 10010 10011 10012 10013 10014 10016 10017 10019 10021 10022 "
        "10023 10024 10025 10026 10027 10028 10029 10030 10031 10032 10033 10034 10035 10036 "
        "10037 10038 10039 10040 10044 10065 10075 10128 10280",
        "10451 10452 10453 10454 10455 10456 10457 10458 10459 10460 10461 10462 10463 10464 "
        "10465 10466 10467 10468 10469 10470 10471 10472 10473 10474 10475",
        "11201 11203 11204 11205 11206 11207 11208 11209 11210 11211 11212 11213 11214 11215 "
        "11216 11217 11218 11219 11220 11221 11222 11223 11224 11225 11226 11228 11229 11230 "
        "11231 11232 11233 11234 11235 11236 11237 11238 11239 11249",
        "11004 11101 11102 11103 11104 11105 11106 11354 11355 11356 11357 11358 11360 11361 "
        "11364 11365 11366 11367 11368 11369 11372 11373 11374 11375 11377 11378 11379 11385 "
        "11411 11412 11413 11414 11415 11416 11417 11418 11419 11420 11421 11422 11423 11426 "
        "11427 11428 11429 11432 11433 11434 11435 11436 11691 11692 11693 11694",
        "10301 10302 10303 10304 10305 10306 10307 10308 10309 10310 10312 10314",
    )
)
NAMED_STREETS = (
    "BROADWAY", "AMSTERDAM AVENUE", "ATLANTIC AVENUE", "FLATBUSH AVENUE", "QUEENS BOULEVARD",
    "GRAND CONCOURSE", "HYLAN BOULEVARD", "VICTORY BOULEVARD", "OCEAN PARKWAY", "NOSTRAND AVENUE",
    "JAMAICA AVENUE", "NORTHERN BOULEVARD", "HILLSIDE AVENUE", "FULTON STREET", "BEDFORD AVENUE",
    "MYRTLE AVENUE", "LEXINGTON AVENUE", "PARK AVENUE", "RICHMOND AVENUE", "FOREST AVENUE",
    "CONEY ISLAND AVENUE", "KINGS HIGHWAY", "UNION TURNPIKE", "ASTORIA BOULEVARD", "MAIN STREET",
    "STEINWAY STREET", "FORDHAM ROAD", "WHITE PLAINS ROAD", "SOUTHERN BOULEVARD", "COURT STREET",
    "CHURCH AVENUE", "BERGEN STREET", "DEAN STREET", "ROOSEVELT AVENUE", "MERRICK BOULEVARD",
    "FRANCIS LEWIS BOULEVARD", "AMBOY ROAD", "ARTHUR KILL ROAD", "BAY STREET", "RIVERSIDE DRIVE",
    "SAINT NICHOLAS AVENUE", "MALCOLM X BOULEVARD", "COLUMBUS AVENUE", "CANAL STREET",
)
STREETS = np.array(
    [*NAMED_STREETS]
    + [f"{side} {n} STREET" for side in ("EAST", "WEST") for n in range(1, 190, 3)]
    + [f"{n} {kind}" for kind in ("STREET", "AVENUE", "ROAD", "DRIVE") for n in range(1, 250, 7)]
    + [f"BEACH {n} STREET" for n in range(20, 120, 9)],
    dtype="S",
)
LAST_NAMES = np.array(
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ "
    "GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS "
    "SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN "
    "HILL FLORES GREEN ADAMS RIVERA CAMPBELL O'BRIEN COHEN GOLDBERG KAPLAN CHEN WANG LI ZHANG "
    "RUSSO ESPOSITO ROMANO KOWALSKI MURPHY KELLY SULLIVAN PATEL SHAH KHAN ALI FRIEDMAN".split(),
    dtype="S",
)
FIRST_NAMES = np.array(
    "JOHN MARY JAMES PATRICIA ROBERT JENNIFER MICHAEL LINDA WILLIAM ELIZABETH DAVID MARIA JOSE "
    "WEI ANNA JOSEPH CARMEN LUIS ROSA AHMED FATIMA YAN DMITRY IRINA SAMUEL RUTH".split(),
    dtype="S",
)
INSTITUTIONS = np.array(
    ["NYC HOUSING AUTHORITY", "CITY OF NEW YORK", "NYC DEPARTMENT OF EDUCATION",
     "UNAVAILABLE OWNER", "METROPOLITAN TRANSPORTATION AUTHORITY", "NYC DEPT OF PARKS AND REC",
     "ROMAN CATHOLIC ARCHDIOCESE OF NY", "BOARD OF MANAGERS"],
    dtype="S",
)
OWNER_KIND_SHARES = (0.35, 0.10, 0.05, 0.12, 0.05, 0.18, 0.15)


@dataclass(frozen=True)
class ClassGroup:
    """Building classes that share floor and unit ranges."""

    codes: tuple[str, ...]
    weight: float
    floors: tuple[int, int]
    units_res: tuple[int, int]
    units_other: tuple[int, int]


CLASS_GROUPS = (
    ClassGroup(("A0", "A1", "A2", "A3", "A5", "A9"), 0.27, (1, 3), (1, 1), (0, 0)),
    ClassGroup(("B1", "B2", "B3", "B9"), 0.22, (2, 3), (2, 2), (0, 0)),
    ClassGroup(("C0", "C1", "C2", "C3", "C4", "C6"), 0.14, (2, 6), (3, 40), (0, 1)),
    ClassGroup(("D1", "D3", "D4", "D7", "D9"), 0.025, (6, 40), (20, 400), (0, 4)),
    ClassGroup(("R1", "R2", "R3", "R4", "R9"), 0.042, (3, 50), (2, 300), (0, 3)),
    ClassGroup(("S1", "S2", "S3", "S9"), 0.06, (2, 5), (1, 4), (1, 2)),
    ClassGroup(("K1", "K2", "K4"), 0.04, (1, 3), (0, 0), (1, 10)),
    ClassGroup(("O1", "O2", "O4", "O6"), 0.015, (2, 60), (0, 0), (1, 50)),
    ClassGroup(("E1", "F1", "F5", "G0", "G1", "G2"), 0.05, (1, 3), (0, 0), (1, 3)),
    ClassGroup(("V0", "V1"), 0.05, (0, 0), (0, 0), (0, 0)),
    ClassGroup(("I5", "M1", "P9", "Q1", "W2"), 0.038, (1, 4), (0, 0), (1, 1)),
)
CONDO_GROUP, VACANT_GROUP = 4, 9
LAND_RATE = np.array([0, 95, 10, 18, 14, 8])  # assessed $ per square foot, indexed by boro
BLDG_RATE = np.array([0, 60, 12, 15, 14, 11])
DISTRICT_WEIGHTS = {
    "R6": 8, "R5": 8, "R4": 9, "R3-2": 7, "R3X": 5, "R3-1": 4, "R2": 3, "R4-1": 4, "R4A": 2,
    "R5B": 3, "R5D": 2, "R6A": 4, "R6B": 4, "R7-1": 4, "R7-2": 3, "R7A": 2, "R7B": 1, "R8": 2,
    "R8A": 1, "R8B": 1, "R9": 0.5, "R10": 0.5, "R1-2": 1, "C1-6": 0.5, "C1-9": 0.5, "C2-8": 0.5,
    "C4-2": 1, "C4-3": 1, "C4-4A": 1, "C4-5X": 0.5, "C5-2": 0.5, "C6-2": 0.5, "C6-4": 0.5,
    "C8-1": 1, "C8-2": 1, "M1-1": 4, "M1-2": 2, "M1-4/R7A": 0.5, "M2-1": 1, "M3-1": 1.5,
    "PARK": 2, "BALL FIELD": 0.2, "BPC": 0.1,
}
DISTRICTS = np.array(list(DISTRICT_WEIGHTS), dtype="S")
DISTRICT_P = np.array(list(DISTRICT_WEIGHTS.values())) / sum(DISTRICT_WEIGHTS.values())
TIES_OF_THREE = np.array([[4000, 3000, 3000], [3500, 3500, 3000], [3334, 3333, 3333]])
JOB_TYPES = np.array([b"NB", b"A1", b"A2", b"A3", b"DM"])
JOB_TYPE_P = (0.08, 0.30, 0.45, 0.10, 0.07)
JOB_STATUSES = np.array([b"FILED", b"APPROVED", b"PERMIT ISSUED", b"SIGNED OFF", b"WITHDRAWN"])
LANDMARK_KINDS = np.array(
    [b" HOUSE", b" BUILDING", b" MANSION", b" CHURCH", b" ROW", b" FIREHOUSE", b" THEATER",
     b" HOUSE, INTERIOR", b" BANK BUILDING, FIRST FLOOR INTERIOR"]
)
HISTORIC_DISTRICTS = np.array(
    [b"GREENWICH VILLAGE HISTORIC DISTRICT", b"MOTT HAVEN HISTORIC DISTRICT",
     b"BROOKLYN HEIGHTS HISTORIC DISTRICT", b"JACKSON HEIGHTS HISTORIC DISTRICT",
     b"ST. GEORGE/NEW BRIGHTON HISTORIC DISTRICT", b"PARK SLOPE HISTORIC DISTRICT",
     b"SOHO-CAST IRON HISTORIC DISTRICT", b"RIDGEWOOD NORTH HISTORIC DISTRICT"]
)
EPOCH_DAY = np.datetime64("1970-01-01", "D")


def generate_pluto_lite(out_dir: Path, lots: int = 10_000, seed: int = 42) -> dict[str, Path]:
    """Write the four PLUTO-lite raw sources into out_dir; same (lots, seed) gives byte-identical files."""
    if lots < 1 or lots > MAX_LOTS:
        raise ValueError(f"lots must be between 1 and {MAX_LOTS:,}, got {lots}.")
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = layout_lots(rng, lots)
    builders = (dof_columns, zoning_columns, dob_columns, landmark_columns)
    paths: dict[str, Path] = {}
    for name, build in zip(SOURCE_FILES, builders, strict=True):
        paths[name] = out_dir / name
        write_csv(paths[name], build(rng, layout))
    return paths


@dataclass(frozen=True)
class Lots:
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


def layout_lots(rng: Rng, n: int) -> Lots:
    """Spread n lots over blocks of ~25 mostly consecutive lot numbers, boroughs by share."""
    block_boro, block_number, sizes = [], [], []
    for boro, boro_lots in enumerate(rng.multinomial(n, BORO_SHARES), start=1):
        blocks = min(BLOCK_MAX, max(1, round(boro_lots / LOTS_PER_BLOCK)))
        size = rng.multinomial(boro_lots, np.full(blocks, 1 / blocks))
        number = rng.choice(BLOCK_MAX, size=blocks, replace=False) + 1
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
    return Lots(boros[block_id], numbers[block_id], lot, block_id, boros, numbers)


def orphan_bbls(rng: Rng, lots: Lots, count: int) -> Ints:
    """Distinct BBLs on real blocks with lot numbers 9900-9999, which never match a lot."""
    code = rng.choice(len(lots.block_boro) * 100, size=count, replace=False)
    block = code // 100
    return lots.block_boro[block] * 10**9 + lots.block_number[block] * 10**4 + ORPHAN_LOT_MIN + code % 100


