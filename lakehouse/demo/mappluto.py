"""Seeded generator of MapPLUTO-lite's two spatial sources (docs/MAPPLUTO_LITE.md, section 1):
lot polygons as a zipped Shapefile in EPSG:2263, zoning districts as GeoJSON in EPSG:4326.

The lots are PLUTO-lite's (the same layout from the same seed), placed block by block on a grid
inside each borough's frame; geometry is built as numpy coordinate arrays and shapely arrays,
without a per-lot Python loop.
"""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lakehouse.demo.generator import (
    DISTRICT_P,
    DISTRICTS,
    MAX_LOTS,
    ORPHAN_LOT_MIN,
    Ints,
    Rng,
    _layout_lots,
    _Lots,
    _rate_count,
)

MAP_FILES: tuple[str, ...] = ("dtm_lots.zip", "zoning_districts.geojson")
LOTS_CRS, DISTRICTS_CRS = "EPSG:2263", "EPSG:4326"
# borough -> (x0, y0, width, height) of its frame, in EPSG:2263 feet
FRAMES = {
    1: (981_000.0, 195_000.0, 20_000.0, 60_000.0),
    2: (1_005_000.0, 235_000.0, 40_000.0, 35_000.0),
    3: (975_000.0, 152_000.0, 50_000.0, 45_000.0),
    4: (1_030_000.0, 150_000.0, 35_000.0, 75_000.0),
    5: (915_000.0, 122_000.0, 50_000.0, 50_000.0),
}
CELL_W, CELL_H, BLOCK_W, BLOCK_H = 660.0, 300.0, 600.0, 240.0
DISTRICT_CELLS = (3.5, 4.5)  # a district cell, in grid cells
DISTRICT_SHIFT = (0.37, 0.5)  # the district grid's shift west and south, in grid cells
NO_ZONING_SHARE = 0.04
DBF_DATE = bytes([125, 6, 30])  # 2025-06-30: the .dbf header's "last update", fixed
ZIP_TIME = (2025, 6, 30, 0, 0, 0)
Coords = NDArray[np.float64]


@dataclass(frozen=True)
class _Grid:
    """One borough's grid: the scale s, cells per row and used rows."""

    boro: int
    scale: float
    cols: int
    rows: int


def generate_mappluto_lite(out_dir: Path, lots: int = 10_000, seed: int = 42) -> dict[str, Path]:
    """Write `dtm_lots.zip` and `zoning_districts.geojson` for the PLUTO-lite lots of
    `(lots, seed)`; the same arguments give byte-identical files."""
    if lots < 1 or lots > MAX_LOTS:
        raise ValueError(f"lots must be between 1 and {MAX_LOTS:,}, got {lots}.")
    layout = _layout_lots(np.random.default_rng(seed), lots)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grids, block_sw = _place_blocks(layout)
    bbl, rings = _lot_features(rng, layout, block_sw, grids)
    lots_path = out_dir / MAP_FILES[0]
    _write_zipped_shapefile(lots_path, bbl, rings)
    districts_path = out_dir / MAP_FILES[1]
    districts_path.write_bytes(_districts_geojson(rng, grids))
    return {MAP_FILES[0]: lots_path, MAP_FILES[1]: districts_path}


def _place_blocks(lots: _Lots) -> tuple[list[_Grid], Coords]:
    """Each borough's grid, and every block's SW corner (by block id)."""
    grids, corner = [], np.zeros((len(lots.block_boro), 2))
    for boro, (x0, y0, width, height) in FRAMES.items():
        blocks = np.flatnonzero(lots.block_boro == boro)
        if not len(blocks):
            continue
        blocks = blocks[np.argsort(lots.block_number[blocks], kind="stable")]
        scale = min(1.0, math.sqrt(width * height / (len(blocks) * CELL_W * CELL_H)))
        cols = max(1, math.floor(width / (CELL_W * scale)))
        position = np.arange(len(blocks))
        corner[blocks, 0] = x0 + (position % cols) * CELL_W * scale
        corner[blocks, 1] = y0 + (position // cols) * CELL_H * scale
        grids.append(_Grid(boro, scale, cols, math.ceil(len(blocks) / cols)))
    return grids, corner


def _lot_boxes(lots: _Lots, block_sw: Coords, grids: list[_Grid]) -> Coords:
    """Every lot's strip as [x0, y0, x1, y1], rounded to 0.01 ft."""
    scale = np.zeros(6)
    for grid in grids:
        scale[grid.boro] = grid.scale
    s = scale[lots.block_boro[lots.block_id]]
    size = np.bincount(lots.block_id)[lots.block_id]
    first = np.searchsorted(lots.block_id, lots.block_id)  # lots of a block are contiguous
    index = np.arange(lots.count) - first
    front = (size + 1) // 2
    north = index >= front
    in_row = np.where(north, size - front, front)
    place = np.where(north, index - front, index)
    whole = size == 1
    width = BLOCK_W * s / in_row
    x0 = block_sw[lots.block_id, 0] + place * width
    y0 = block_sw[lots.block_id, 1] + np.where(north, BLOCK_H * s / 2, 0.0)
    depth = np.where(whole, BLOCK_H * s, BLOCK_H * s / 2)
    return np.round(np.column_stack([x0, y0, x0 + width, y0 + depth]), 2)


def _lot_features(
    rng: Rng, lots: _Lots, block_sw: Coords, grids: list[_Grid]
) -> tuple[NDArray[np.bytes_], Coords]:
    """The features of dtm_lots, shuffled: bbl text and a 5-point ring each."""
    n = lots.count
    boxes = _lot_boxes(lots, block_sw, grids)
    without = rng.choice(n, _rate_count(n, 0.005), replace=False)
    kept = np.setdiff1d(np.arange(n), without)
    order = rng.permutation(len(kept))
    two_parts = kept[order[: _rate_count(len(kept), 0.02)]]
    bowties = kept[order[len(two_parts) : len(two_parts) + _rate_count(len(kept), 0.001)]]
    plain = np.setdiff1d(kept, np.concatenate([two_parts, bowties]))
    middle = np.round((boxes[two_parts, 0] + boxes[two_parts, 2]) / 2, 2)
    west, east = boxes[two_parts].copy(), boxes[two_parts].copy()
    west[:, 2], east[:, 0] = middle - 1, middle + 1
    orphan_bbl, orphan_box = _orphan_squares(rng, lots, block_sw, grids, _rate_count(n, 0.003))
    bbl = np.concatenate(
        [lots.bbl[plain], lots.bbl[two_parts], lots.bbl[two_parts], lots.bbl[bowties], orphan_bbl]
    )
    rings = np.concatenate(
        [
            _rectangles(boxes[plain]),
            _rectangles(west),
            _rectangles(east),
            _bowties(boxes[bowties]),
            _rectangles(orphan_box),
        ]
    )
    shuffle = rng.permutation(len(bbl))
    return bbl.astype("S10")[shuffle], rings[shuffle]


def _orphan_squares(
    rng: Rng, lots: _Lots, block_sw: Coords, grids: list[_Grid], count: int
) -> tuple[Ints, Coords]:
    """Squares of 20 ft in the street 30 ft south of random blocks, with lot numbers that never
    match a lot (9900-9999)."""
    code = rng.choice(len(lots.block_boro) * 100, size=count, replace=False)
    block, lot = code // 100, ORPHAN_LOT_MIN + code % 100
    bbl = lots.block_boro[block] * 10**9 + lots.block_number[block] * 10**4 + lot
    scale = np.zeros(6)
    for grid in grids:
        scale[grid.boro] = grid.scale
    s = scale[lots.block_boro[block]]
    x0 = block_sw[block, 0]
    y0 = block_sw[block, 1] - 30 * s
    return bbl, np.round(np.column_stack([x0, y0, x0 + 20 * s, y0 + 20 * s]), 2)


def _rectangles(boxes: Coords) -> Coords:
    """Closed rings (x0 y0, x1 y0, x1 y1, x0 y1, x0 y0), shape (n, 5, 2)."""
    x0, y0, x1, y1 = boxes.T
    return np.stack(
        [np.column_stack(point) for point in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))],
        axis=1,
    )


def _bowties(boxes: Coords) -> Coords:
    """Self-intersecting rings (x0 y0, x1 y1, x1 y0, x0 y1, x0 y0)."""
    x0, y0, x1, y1 = boxes.T
    return np.stack(
        [np.column_stack(point) for point in ((x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0))],
        axis=1,
    )


def _write_zipped_shapefile(path: Path, bbl: NDArray[np.bytes_], rings: Coords) -> None:
    """dtm_lots.shp and its sidecars, written by GDAL, zipped with fixed dates."""
    import pyogrio.raw
    import shapely

    geometry = shapely.to_wkb(shapely.polygons(rings))
    with tempfile.TemporaryDirectory() as scratch:
        shp = Path(scratch) / "dtm_lots.shp"
        pyogrio.raw.write(
            str(shp),
            geometry=geometry,
            field_data=[bbl.astype(str).astype(object)],
            fields=["bbl"],
            geometry_type="Polygon",
            crs=LOTS_CRS,
            driver="ESRI Shapefile",
            encoding="UTF-8",
        )
        dbf = shp.with_suffix(".dbf")
        header = bytearray(dbf.read_bytes())
        header[1:4] = DBF_DATE
        dbf.write_bytes(bytes(header))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(scratch).iterdir()):
                info = zipfile.ZipInfo(part.name, ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, part.read_bytes())
    path.write_bytes(buffer.getvalue())


def _district_boxes(grids: list[_Grid]) -> Coords:
    """Every district cell over each borough's used grid, [x0, y0, x1, y1] rounded to 0.01 ft."""
    boxes = []
    for grid in grids:
        x0, y0, _, _ = FRAMES[grid.boro]
        cell_w, cell_h = CELL_W * grid.scale, CELL_H * grid.scale
        width, height = DISTRICT_CELLS[0] * cell_w, DISTRICT_CELLS[1] * cell_h
        gx, gy = x0 - DISTRICT_SHIFT[0] * cell_w, y0 - DISTRICT_SHIFT[1] * cell_h
        cols = math.ceil((x0 + grid.cols * cell_w - gx) / width)
        rows = math.ceil((y0 + grid.rows * cell_h - gy) / height)
        col, row = np.meshgrid(np.arange(cols), np.arange(rows))
        left, bottom = gx + col.ravel() * width, gy + row.ravel() * height
        boxes.append(np.column_stack([left, bottom, left + width, bottom + height]))
    return np.round(np.concatenate(boxes), 2)


def _districts_geojson(rng: Rng, grids: list[_Grid]) -> bytes:
    """The zoning districts as RFC 7946 GeoJSON (EPSG:4326, 9 decimals), shuffled."""
    from pyproj import Transformer

    boxes = _district_boxes(grids)
    boxes = boxes[rng.random(len(boxes)) >= NO_ZONING_SHARE]
    names = _messy_district_names(
        rng, DISTRICTS[rng.choice(len(DISTRICTS), len(boxes), p=DISTRICT_P)]
    )
    rings = _rectangles(boxes)
    to_lonlat = Transformer.from_crs(LOTS_CRS, DISTRICTS_CRS, always_xy=True)
    lon, lat = to_lonlat.transform(rings[:, :, 0], rings[:, :, 1])
    order = rng.permutation(len(boxes))
    features = []
    for objectid, feature in enumerate(order, start=1):
        ring = ",".join(
            f"[{x:.9f},{y:.9f}]" for x, y in zip(lon[feature], lat[feature], strict=True)
        )
        name = names[feature]
        zonedist = "null" if name is None else f'"{name}"'
        features.append(
            f'{{"type":"Feature","properties":{{"objectid":{objectid},"zonedist":{zonedist}}},'
            f'"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}'
        )
    body = ",\n".join(features)
    return f'{{"type":"FeatureCollection","features":[\n{body}\n]}}\n'.encode("ascii")


def _messy_district_names(rng: Rng, names: NDArray[np.bytes_]) -> list[str | None]:
    """2% lower-case, 1% with a space on both sides, 0.5% null (docs section 1.3)."""
    text: list[str | None] = [name.decode() for name in names]
    draw = rng.random(len(text))
    for row in np.flatnonzero(draw < 0.02):
        text[row] = str(text[row]).lower()
    for row in np.flatnonzero((draw >= 0.02) & (draw < 0.03)):
        text[row] = f" {text[row]} "
    for row in np.flatnonzero((draw >= 0.03) & (draw < 0.035)):
        text[row] = None
    return text
