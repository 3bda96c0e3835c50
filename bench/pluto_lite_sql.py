"""PLUTO-lite written by hand in DuckDB SQL, from ../shared/PLUTO_LITE.md section 2.

The reference the benchmark compares `lake build pluto_lite` with (and a test checks both give
the same rows). It reads the same archived Parquet files (all columns text).
"""

from __future__ import annotations

PLUTO_LITE_SQL = r"""
WITH
dof AS (
  SELECT
    CAST(NULLIF(NULLIF(trim(bbl), ''), 'N/A') AS BIGINT) AS bbl,
    CAST(NULLIF(NULLIF(trim(boro), ''), 'N/A') AS BIGINT) AS boro,
    CAST(NULLIF(NULLIF(trim(block), ''), 'N/A') AS BIGINT) AS block,
    CAST(NULLIF(NULLIF(trim(lot), ''), 'N/A') AS BIGINT) AS lot,
    upper(regexp_replace(NULLIF(NULLIF(trim(address), ''), 'N/A'), ' +', ' ', 'g')) AS address,
    NULLIF(NULLIF(trim(zipcode), ''), 'N/A') AS zip_raw,
    upper(regexp_replace(NULLIF(NULLIF(trim(owner_name), ''), 'N/A'), ' +', ' ', 'g'))
      AS ownername,
    upper(NULLIF(NULLIF(trim(bldg_class), ''), 'N/A')) AS bldgclass,
    CAST(NULLIF(NULLIF(trim(land_area), ''), 'N/A') AS BIGINT) AS lotarea,
    CAST(NULLIF(NULLIF(trim(bldg_area), ''), 'N/A') AS BIGINT) AS bldgarea,
    CAST(NULLIF(NULLIF(trim(num_floors), ''), 'N/A') AS DOUBLE) AS numfloors,
    CAST(NULLIF(NULLIF(trim(units_res), ''), 'N/A') AS BIGINT) AS unitsres,
    CAST(NULLIF(NULLIF(trim(units_total), ''), 'N/A') AS BIGINT) AS unitstotal,
    CAST(NULLIF(NULLIF(trim(year_built), ''), 'N/A') AS BIGINT) AS yearbuilt,
    CAST(NULLIF(NULLIF(trim(assessed_land), ''), 'N/A') AS BIGINT) AS assessland,
    CAST(NULLIF(NULLIF(trim(assessed_total), ''), 'N/A') AS BIGINT) AS assesstot,
    CAST(NULLIF(NULLIF(trim(exempt_total), ''), 'N/A') AS BIGINT) AS exempttot,
    upper(NULLIF(NULLIF(trim(condo_flag), ''), 'N/A')) AS condo_flag,
    CAST(NULLIF(NULLIF(trim(updated_at), ''), 'N/A') AS TIMESTAMP) AS updated_at
  FROM read_parquet({dof_pts})
),
lots AS (
  SELECT * FROM dof QUALIFY updated_at = max(updated_at) OVER (PARTITION BY bbl)
),
zoning AS (
  SELECT
    CAST(NULLIF(NULLIF(trim(bbl), ''), 'N/A') AS BIGINT) AS bbl,
    upper(NULLIF(NULLIF(trim(zoning_district), ''), 'N/A')) AS zd,
    CAST(NULLIF(NULLIF(trim(pct_covered), ''), 'N/A') AS DECIMAL(7, 2)) AS pct
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
    CAST(NULLIF(NULLIF(trim(bbl), ''), 'N/A') AS BIGINT) AS bbl,
    upper(NULLIF(NULLIF(trim(job_type), ''), 'N/A')) AS jt,
    CAST(strptime(NULLIF(NULLIF(trim(filed_date), ''), 'N/A'), '%m/%d/%Y') AS DATE) AS fd,
    CAST(NULLIF(NULLIF(trim(proposed_units), ''), 'N/A') AS BIGINT) AS pu
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
  SELECT DISTINCT CAST(NULLIF(NULLIF(trim(bbl), ''), 'N/A') AS BIGINT) AS bbl
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


def pluto_lite_sql(dof_pts: str, zoning_lots: str, dob_jobs: str, landmarks: str) -> str:
    """The query, reading the four archived Parquet files at these paths."""

    def quoted(path: str) -> str:
        return "'" + path.replace("'", "''") + "'"

    return PLUTO_LITE_SQL.format(
        dof_pts=quoted(dof_pts),
        zoning_lots=quoted(zoning_lots),
        dob_jobs=quoted(dob_jobs),
        landmarks=quoted(landmarks),
    )
