"""PLUTO-lite written by hand in DuckDB SQL, from ../shared/PLUTO_LITE.md section 2.

The reference the benchmark compares `lake build pluto_lite` with (and a test checks both give
the same rows). It reads the same archived Parquet files (all columns text).
"""

from __future__ import annotations

import re

PLUTO_LITE_SQL = r"""
WITH
dof AS (
  SELECT
    CAST(c(bbl) AS BIGINT) AS bbl,
    CAST(c(boro) AS BIGINT) AS boro,
    CAST(c(block) AS BIGINT) AS block,
    CAST(c(lot) AS BIGINT) AS lot,
    upper(regexp_replace(c(address), ' +', ' ', 'g')) AS address,
    c(zipcode) AS zip_raw,
    upper(regexp_replace(c(owner_name), ' +', ' ', 'g'))
      AS ownername,
    upper(c(bldg_class)) AS bldgclass,
    CAST(c(land_area) AS BIGINT) AS lotarea,
    CAST(c(bldg_area) AS BIGINT) AS bldgarea,
    CAST(c(num_floors) AS DOUBLE) AS numfloors,
    CAST(c(units_res) AS BIGINT) AS unitsres,
    CAST(c(units_total) AS BIGINT) AS unitstotal,
    CAST(c(year_built) AS BIGINT) AS yearbuilt,
    CAST(c(assessed_land) AS BIGINT) AS assessland,
    CAST(c(assessed_total) AS BIGINT) AS assesstot,
    CAST(c(exempt_total) AS BIGINT) AS exempttot,
    upper(c(condo_flag)) AS condo_flag,
    CAST(c(updated_at) AS TIMESTAMP) AS updated_at
  FROM read_parquet({dof_pts})
),
lots AS (
  SELECT * FROM dof QUALIFY updated_at = max(updated_at) OVER (PARTITION BY bbl)
),
zoning AS (
  SELECT
    CAST(c(bbl) AS BIGINT) AS bbl,
    upper(c(zoning_district)) AS zd,
    CAST(c(pct_covered) AS DECIMAL(7, 2)) AS pct
  FROM read_parquet({zoning_lots})
),
zoning_ranked AS (
  SELECT bbl, zd, row_number() OVER (PARTITION BY bbl ORDER BY pct DESC, zd ASC) AS rank
  FROM (SELECT bbl, zd, sum(pct) AS pct FROM zoning WHERE zd IS NOT NULL GROUP BY bbl, zd)
),
zoning_by_lot AS (
  SELECT bbl,
    max(zd) FILTER (WHERE rank = 1) AS zonedist1,
    max(zd) FILTER (WHERE rank = 2) AS zonedist2,
    count(*) > 1 AS splitzone
  FROM zoning_ranked GROUP BY bbl
),
dob AS (
  SELECT
    CAST(c(bbl) AS BIGINT) AS bbl,
    upper(c(job_type)) AS jt,
    CAST(strptime(c(filed_date), '%m/%d/%Y') AS DATE) AS fd,
    CAST(c(proposed_units) AS BIGINT) AS pu
  FROM read_parquet({dob_jobs})
),
dob_by_lot AS (
  SELECT bbl,
    count(*) AS dob_job_count,
    max(fd) FILTER (WHERE jt = 'NB') AS dob_latest_nb_date,
    CAST(sum(pu) FILTER (WHERE jt <> 'DM') AS BIGINT) AS dob_units_proposed
  FROM dob GROUP BY bbl
),
landmark_lots AS (
  SELECT DISTINCT CAST(c(bbl) AS BIGINT) AS bbl
  FROM read_parquet({landmarks})
)
SELECT
  l.bbl,
  CASE l.boro WHEN 1 THEN 'MN' WHEN 2 THEN 'BX' WHEN 3 THEN 'BK' WHEN 4 THEN 'QN'
    WHEN 5 THEN 'SI' END AS borough,
  l.block, l.lot, l.address,
  CASE WHEN length(ltrim(split_part(l.zip_raw, '-', 1), '0')) >= 5
    THEN ltrim(split_part(l.zip_raw, '-', 1), '0')
    ELSE lpad(ltrim(split_part(l.zip_raw, '-', 1), '0'), 5, '0') END AS zipcode,
  l.ownername, l.bldgclass, l.lotarea, l.bldgarea, l.numfloors, l.unitsres, l.unitstotal,
  l.yearbuilt, l.assessland, l.assesstot, l.exempttot,
  CASE l.condo_flag WHEN 'Y' THEN true WHEN 'N' THEN false END AS condo,
  z.zonedist1, z.zonedist2, coalesce(z.splitzone, false) AS splitzone,
  coalesce(d.dob_job_count, 0) AS dob_job_count,
  d.dob_latest_nb_date,
  coalesce(d.dob_units_proposed, 0) AS dob_units_proposed,
  m.bbl IS NOT NULL AS landmark,
  CASE WHEN l.lotarea IS NULL OR l.lotarea = 0 OR l.bldgarea IS NULL THEN NULL
    ELSE sign(l.bldgarea) * sign(l.lotarea)
      * ((200 * abs(l.bldgarea) + abs(l.lotarea)) // (2 * abs(l.lotarea))) / 100 END AS far,
  CASE WHEN l.yearbuilt > 0 THEN 2025 - l.yearbuilt END AS bldg_age
FROM lots l
LEFT JOIN zoning_by_lot z ON z.bbl = l.bbl
LEFT JOIN dob_by_lot d ON d.bbl = l.bbl
LEFT JOIN landmark_lots m ON m.bbl = l.bbl
ORDER BY l.bbl
"""


# c(x) of the spec, as SQL: ASCII spaces trimmed (DuckDB's `trim` removes other Unicode spaces
# too), then '' or exactly 'N/A' as NULL; only the values with a space at an end go through the
# regular expressions. The query text writes it `c(column)`.
CLEANED = re.compile(r"\bc\((\w+)\)")


def cleaned(column: str) -> str:
    trimmed = (
        f"CASE WHEN starts_with({column}, ' ') OR suffix({column}, ' ') "
        f"THEN regexp_replace(regexp_replace({column}, '^ +', ''), ' +$', '') ELSE {column} END"
    )
    return f"NULLIF(NULLIF({trimmed}, ''), 'N/A')"


def pluto_lite_sql(dof_pts: str, zoning_lots: str, dob_jobs: str, landmarks: str) -> str:
    """The query, reading the four archived Parquet files at these paths."""

    def quoted(path: str) -> str:
        return "'" + path.replace("'", "''") + "'"

    return CLEANED.sub(lambda m: cleaned(m.group(1)), PLUTO_LITE_SQL).format(
        dof_pts=quoted(dof_pts),
        zoning_lots=quoted(zoning_lots),
        dob_jobs=quoted(dob_jobs),
        landmarks=quoted(landmarks),
    )
