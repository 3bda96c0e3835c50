"""How the geometry columns of two builds differ: whether a row's geometry changed
(`geometry_changed`: its normalised WKB, or with a tolerance in CRS units, every vertex within
it of its counterpart, else each inside the other's buffer by it: a Hausdorff distance within
the tolerance), and how the changed ones moved (`geometry_shift`: centroid distance, area
shift, each side's total area and extent, a sample), for the build diff (`qa.diff`). DuckDB's
spatial extension must be loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.records import STRICT_PART
from lakehouse.sql import sql_identifier

BUFFER_SEGMENTS = 16  # per quarter circle: a buffer by the tolerance is within 0.5% of a circle
GEOMETRY_MOVES = "_lakehouse_geometry_moves"  # a temporary table: how far the changed ones moved


@dataclass
class GeometryMove:
    """One changed row's geometry: its key values, how far its centroid moved and how its
    area changed (new - old), in CRS units; None where either side is NULL or empty."""

    __pydantic_config__ = STRICT_PART  # read back as part of a record

    key: list[Any]
    moved: float | None
    area_shift: float | None


@dataclass
class GeometryShift:
    """How a geometry column moved between two builds, like `NumericShift` for numbers: the
    rows whose geometry changed (by more than `tolerance`, CRS units), how far their centroids
    moved and how their area shifted, each side's total area and extent, and a sample."""

    __pydantic_config__ = STRICT_PART  # read back as part of a record

    column: str
    crs: str | None  # as the new file declares it, e.g. EPSG:2263
    tolerance: float
    changed: int = 0
    lost: int = 0  # changed rows whose geometry became NULL
    gained: int = 0  # changed rows whose geometry was NULL before
    moved_mean: float | None = None  # centroid distance, over the changed rows
    moved_max: float | None = None
    area_shift: float | None = None  # sum of (new - old) area over the changed rows (NULL: 0)
    area_shift_max: float | None = None  # the largest change of one row's area, either way
    old_area: float | None = None  # total area of every row
    new_area: float | None = None
    old_bbox: list[float] | None = None  # [xmin, ymin, xmax, ymax] of every row
    new_bbox: list[float] | None = None
    sample: list[GeometryMove] = field(default_factory=list)  # changed rows, first by key


def geometry_line(shift: GeometryShift) -> str:
    """A geometry column's change in one line, for people; empty when it did not change."""
    if not shift.changed:
        return ""
    units = f" {shift.crs} units" if shift.crs else ""
    beyond = f"moved more than {shift.tolerance:g}{units}" if shift.tolerance else "not equal"
    line = f"{shift.column}: {shift.changed:,} row(s) changed ({beyond})"
    if shift.lost or shift.gained:
        line += f", {shift.lost:,} lost their geometry, {shift.gained:,} gained one"
    if shift.moved_max is not None:
        line += f"; centroids moved up to {shift.moved_max:,.6g} (mean {shift.moved_mean:,.6g})"
    if shift.area_shift is not None:
        line += f"; area {shift.area_shift:+,.6g} in all, one row's by up to "
        line += f"{shift.area_shift_max:,.6g}"
    return line


def geometry_changed(old: str, new: str, tolerance: float) -> str:
    """SQL: whether the geometry `new` differs from `old` (SQL expressions of plain GEOMETRY),
    NULL against a value being a change. Without a tolerance, unless their normalised WKB is
    equal; with one (CRS units), unless every vertex is within it of its counterpart (the
    same kind of geometry, as many parts and points) or else each lies within the other's
    buffer by it: a Hausdorff distance within the tolerance. Invalid geometries are only
    compared vertex by vertex (GEOS may refuse their buffers). The cheap tests come first:
    DuckDB evaluates a CASE branch only for the rows that reach it."""
    o, n = old, new
    steps = [
        f"WHEN {o} IS NULL OR {n} IS NULL THEN ({o} IS NULL) <> ({n} IS NULL)",
        f"WHEN {o} IS NOT DISTINCT FROM {n} THEN false",
        f"WHEN ST_AsWKB(ST_Normalize({o})) = ST_AsWKB(ST_Normalize({n})) THEN false",
    ]
    if tolerance > 0:
        within = repr(float(tolerance))
        same_shape = (
            f"ST_GeometryType({o}) = ST_GeometryType({n}) "
            f"AND ST_NumGeometries({o}) = ST_NumGeometries({n}) "
            f"AND ST_NPoints({o}) = ST_NPoints({n})"
        )
        vertices = (
            f"list_max(list_transform(list_zip(ST_Dump(ST_Points({o})), ST_Dump(ST_Points({n}))),"
            " lambda p: ST_Distance(p[1].geom, p[2].geom)))"
        )
        steps += [
            f"WHEN ST_IsEmpty({o}) OR ST_IsEmpty({n}) "
            f"THEN NOT (ST_IsEmpty({o}) AND ST_IsEmpty({n}))",
            f"WHEN {same_shape} AND {vertices} <= {within} THEN false",
            f"WHEN NOT (ST_IsValid({o}) AND ST_IsValid({n})) THEN true",
            f"ELSE NOT (ST_Covers(ST_Buffer({n}, {within}, {BUFFER_SEGMENTS}), {o}) "
            f"AND ST_Covers(ST_Buffer({o}, {within}, {BUFFER_SEGMENTS}), {n}))",
        ]
    else:
        steps.append("ELSE true")
    return f"(CASE {' '.join(steps)} END)"


def centroid_moved(old: str, new: str) -> str:
    """SQL: how far the centroid of geometry `new` is from that of `old` (NULL if either is
    NULL or empty)."""
    return (
        f"(CASE WHEN ST_IsEmpty({old}) OR ST_IsEmpty({new}) THEN NULL "
        f"ELSE ST_Distance(ST_Centroid({old}), ST_Centroid({new})) END)"
    )


def geometry_shift(
    con: Any,
    key: list[str],
    column: str,
    crs: str | None,
    tolerance: float,
    changed: int,
    differs: str,
    old_source: str,
    new_source: str,
    matched: str,
    sample_rows: int,
) -> GeometryShift:
    """How geometry `column` moved: each side's area and extent; over the rows where it
    changed (`differs`, SQL over `matched`), how far their centroids moved and the area shift,
    and the first `sample_rows` of them by key."""
    q = sql_identifier
    g = q(column)
    shift = GeometryShift(column, crs, tolerance, changed)
    side = ", ".join(
        f"{part} FILTER (WHERE NOT ST_IsEmpty({g}))"
        for part in (f"sum(ST_Area({g}))", f"min(ST_XMin({g}))", f"min(ST_YMin({g}))",
                     f"max(ST_XMax({g}))", f"max(ST_YMax({g}))")
    )  # fmt: skip
    for source, area, bbox in ((old_source, "old_area", "old_bbox"),
                               (new_source, "new_area", "new_bbox")):  # fmt: skip
        found = con.execute(f"SELECT {side} FROM {source}").fetchone()
        setattr(shift, area, found[0])
        setattr(shift, bbox, None if found[1] is None else [float(v) for v in found[1:]])
    if not changed:
        return shift
    moved = centroid_moved(f"o.{g}", f"n.{g}")
    area = f"(coalesce(ST_Area(n.{g}), 0) - coalesce(ST_Area(o.{g}), 0))"
    changed_rows = (
        f"SELECT {', '.join(f'o.{q(k)} AS {q(k)}' for k in key)}, {moved} AS moved, "
        f"{area} AS area_shift, o.{g} IS NOT NULL AND n.{g} IS NULL AS lost, "
        f"o.{g} IS NULL AND n.{g} IS NOT NULL AS gained FROM {matched} WHERE {differs}"
    )
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {GEOMETRY_MOVES} AS {changed_rows}")
    try:
        found = con.execute(
            "SELECT avg(moved), max(moved), sum(area_shift), max(abs(area_shift)), "
            f"count(*) FILTER (WHERE lost), count(*) FILTER (WHERE gained) FROM {GEOMETRY_MOVES}"
        ).fetchone()
        shift.moved_mean, shift.moved_max, shift.area_shift, shift.area_shift_max = found[:4]
        shift.lost, shift.gained = int(found[4]), int(found[5])
        keys = ", ".join(q(k) for k in key)
        rows = con.execute(
            f"SELECT {keys}, moved, area_shift FROM {GEOMETRY_MOVES} ORDER BY {keys} "
            f"LIMIT {sample_rows}"
        ).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {GEOMETRY_MOVES}")
    shift.sample = [
        GeometryMove(list(row[: len(key)]), row[len(key)], row[len(key) + 1]) for row in rows
    ]
    return shift
