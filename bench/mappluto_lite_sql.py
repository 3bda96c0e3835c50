"""MapPLUTO-lite written by hand in DuckDB-spatial SQL, from docs/MAPPLUTO_LITE.md section 2.

The reference the benchmark compares `lake build mappluto_lite` with (and a test checks both
give the same rows). It reads the same archived GeoParquet files and PLUTO-lite's built output;
the connection must have DuckDB's `spatial` extension loaded; bench/ must be on the import path
(its `c(column)` is pluto_lite_sql.py's).
"""

from __future__ import annotations

from typing import Any

from pluto_lite_sql import CLEANED, cleaned  # c(column), as PLUTO-lite's SQL writes it

MAPPLUTO_LITE_SQL = r"""
WITH
parts AS (
  SELECT CAST(c(bbl) AS BIGINT) AS bbl,
    ST_MakeValid(geom::GEOMETRY) AS geom
  FROM read_parquet({dtm_lots})
),
shapes AS (
  SELECT bbl, ST_Multi(ST_CollectionExtract(ST_Union_Agg(geom), 3)) AS geom
  FROM parts GROUP BY bbl
),
lot_shapes AS (
  SELECT bbl, geom, ST_Area(geom) AS area FROM shapes
),
districts AS (
  SELECT upper(c(zonedist)) AS zd,
    ST_Transform(geom::GEOMETRY, 'EPSG:4326', 'EPSG:2263', true) AS geom
  FROM read_parquet({zoning_districts})
  WHERE upper(c(zonedist)) IS NOT NULL
),
pieces AS (
  SELECT l.bbl, d.zd, l.area, ST_Area(ST_Intersection(l.geom, d.geom)) AS covered
  FROM lot_shapes l JOIN districts d ON ST_Intersects(l.geom, d.geom)
),
shares AS (
  SELECT bbl, zd, round(100 * sum(covered) / area, 2) AS pct
  FROM pieces GROUP BY bbl, zd, area
),
ranked AS (
  SELECT bbl, zd, row_number() OVER (PARTITION BY bbl ORDER BY pct DESC, zd ASC) AS rank
  FROM shares WHERE pct >= 10
),
lot_zoning AS (
  SELECT bbl,
    max(zd) FILTER (WHERE rank = 1) AS zonedist1,
    max(zd) FILTER (WHERE rank = 2) AS zonedist2,
    count(*) > 1 AS splitzone
  FROM ranked GROUP BY bbl
),
lots AS (
  SELECT bbl, borough, block, lot, lotarea FROM read_parquet({pluto_lite})
)
SELECT l.bbl, l.borough, l.block, l.lot, l.lotarea,
  round(ST_Area(s.geom), 2) AS lotarea_gis,
  z.zonedist1, z.zonedist2, coalesce(z.splitzone, false) AS splitzone,
  round(ST_X(ST_Transform(ST_Centroid(s.geom), 'EPSG:2263', 'EPSG:4326', true)), 7) AS longitude,
  round(ST_Y(ST_Transform(ST_Centroid(s.geom), 'EPSG:2263', 'EPSG:4326', true)), 7) AS latitude,
  s.geom::GEOMETRY('EPSG:2263') AS geom
FROM lots l
LEFT JOIN lot_shapes s ON s.bbl = l.bbl
LEFT JOIN lot_zoning z ON z.bbl = l.bbl
ORDER BY l.bbl
"""


def mappluto_lite_sql(dtm_lots: str, zoning_districts: str, pluto_lite: str) -> str:
    """The query, reading the two archived GeoParquet files and PLUTO-lite's output."""

    def quoted(path: str) -> str:
        return "'" + path.replace("'", "''") + "'"

    return CLEANED.sub(lambda m: cleaned(m.group(1)), MAPPLUTO_LITE_SQL).format(
        dtm_lots=quoted(dtm_lots), zoning_districts=quoted(zoning_districts),
        pluto_lite=quoted(pluto_lite),
    )  # fmt: skip


ATTRIBUTES = (
    "bbl, borough, block, lot, lotarea, lotarea_gis, zonedist1, zonedist2, splitzone, "
    "longitude, latitude"
)


def differences(con: Any, ours: str, reference: str) -> tuple[int, int]:
    """How two MapPLUTO-lite tables of `con` (spatial loaded) differ: rows whose attributes
    differ (either way), and rows whose geometry differs beyond the spec's tolerance (equal as
    normalised WKB, or a symmetric difference under 0.01 sq ft)."""
    differing = con.execute(
        f"SELECT count(*) FROM ((SELECT {ATTRIBUTES} FROM {reference} EXCEPT ALL "
        f"SELECT {ATTRIBUTES} FROM {ours}) UNION ALL (SELECT {ATTRIBUTES} FROM {ours} "
        f"EXCEPT ALL SELECT {ATTRIBUTES} FROM {reference}))"
    ).fetchone()[0]
    moved = con.execute(
        f"SELECT count(*) FROM {reference} r JOIN {ours} o USING (bbl) WHERE (r.geom IS NULL) "
        "<> (o.geom IS NULL) OR NOT (ST_AsWKB(ST_Normalize(r.geom::GEOMETRY)) = "
        "ST_AsWKB(ST_Normalize(o.geom::GEOMETRY)) OR ST_Area(ST_SymDifference("
        "r.geom::GEOMETRY, o.geom::GEOMETRY)) < 0.01)"
    ).fetchone()[0]
    return int(differing), int(moved)
