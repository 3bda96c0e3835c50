"""DuckDB's spatial extension, offline: installed once into a local folder from the
duckdb-extension-spatial wheel (signed by DuckDB; nothing is downloaded), then loaded, for the
builds and explorations that use geometry; or loaded straight from the wheel, for ingests and
source QA, whose connections are their own. And the short label of a GEOMETRY type's CRS."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from lakehouse.errors import BuildError, ConfigError
from lakehouse.sql import sql_string

EXTENSION_FOLDER = "duckdb-extensions"  # in the workspace: spatial, installed from its wheel
SPATIAL_WHEEL = "duckdb_extension_spatial"
MISSING_WHEEL = (
    "install duckdb-extension-spatial==1.5.5 (it is in requirements.lock; `make setup`)."
)


def _packaged_extension() -> Path | None:
    """The spatial extension file the wheel carries, if it is installed."""
    spec = importlib.util.find_spec(SPATIAL_WHEEL)
    packaged = (
        sorted(Path(spec.submodule_search_locations[0]).glob("extensions/*/spatial.*"))
        if spec is not None and spec.submodule_search_locations
        else []
    )
    return packaged[0] if packaged else None


def _spatial_loaded(con: Any) -> bool:
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'"
    ).fetchone()
    return bool(loaded and loaded[0])


def load_spatial(con: Any, workspace: Path) -> None:
    """Load DuckDB's spatial extension into `con` (a DuckDB connection) offline: installed once
    into <workspace>/duckdb-extensions from the duckdb-extension-spatial wheel (signed by
    DuckDB; nothing is downloaded), then loaded."""
    folder = workspace / EXTENSION_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    con.execute("SET autoinstall_known_extensions = false")
    con.execute(f"SET extension_directory = {sql_string(str(folder))}")
    installed = con.execute(
        "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'spatial'"
    ).fetchone()
    if not (installed and installed[0]):
        packaged = _packaged_extension()
        if packaged is None:
            raise BuildError(f"This build uses geometry, which needs DuckDB's spatial extension: "
                             f"{MISSING_WHEEL}")  # fmt: skip
        con.execute(f"INSTALL {sql_string(str(packaged))}")
    con.execute("LOAD spatial")


def ensure_spatial(con: Any) -> None:
    """Load DuckDB's spatial extension into `con` straight from the duckdb-extension-spatial
    wheel (no install, no folder; DuckDB checks its signature), unless it is loaded: for an
    ingest or a source QA that meets geometry, on a connection of its own."""
    if _spatial_loaded(con):
        return
    packaged = _packaged_extension()
    if packaged is None:
        raise ConfigError(f"This source has geometry, which needs DuckDB's spatial extension: "
                          f"{MISSING_WHEEL}")  # fmt: skip
    con.execute("SET autoinstall_known_extensions = false")
    con.execute(f"LOAD {sql_string(str(packaged))}")


def is_geometry_type(type_name: str) -> bool:
    """Whether a DuckDB type name is GEOMETRY, with or without its CRS (GEOMETRY('EPSG:2263'))."""
    return str(type_name).upper().startswith("GEOMETRY")


def crs_label(geometry_type: str) -> str | None:
    """A short CRS label ('EPSG:2263', or the CRS's name) from DuckDB's GEOMETRY('<crs>') type
    (the CRS written as a label or as PROJJSON); None for a GEOMETRY without one."""
    inside = geometry_type.removeprefix("GEOMETRY").strip()
    if not inside.startswith("("):
        return None
    text = inside[1:-1].strip().strip("'").replace("''", "'")
    try:
        crs = json.loads(text)
    except ValueError:
        return text or None
    identifier = crs.get("id") if isinstance(crs, dict) else None
    if isinstance(identifier, dict) and "authority" in identifier:
        return f"{identifier['authority']}:{identifier['code']}"
    return crs.get("name") if isinstance(crs, dict) else None


CRS_PATTERN = r"^[A-Za-z]+:[0-9A-Za-z.]+$"  # AUTHORITY:CODE, e.g. EPSG:2263


def check_crs(crs: str) -> str:
    """`crs` if it is AUTHORITY:CODE and PROJ knows it, else a ValueError saying so."""
    import re

    import pyproj

    if not re.match(CRS_PATTERN, crs):
        raise ValueError(
            f"{crs!r} is not written as AUTHORITY:CODE; name the CRS like EPSG:2263 (or "
            "EPSG:4326 for longitude/latitude)"
        )
    try:
        pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(
            f"{crs!r} is not a coordinate reference system PROJ knows; use one like EPSG:4326"
        ) from exc
    return crs


AREA_MARGIN = 0.05  # of the area's width and height, on every side: areas of use are approximate


def area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    """Where a CRS is meant to be used, as [xmin, ymin, xmax, ymax] in its own coordinates,
    widened by AREA_MARGIN; None when PROJ gives no area. A geometry far outside it is almost
    always in another CRS than the one it is labelled with (State Plane feet called EPSG:4326,
    or longitude/latitude called EPSG:2263)."""
    from pyproj import CRS, Transformer

    target = CRS.from_user_input(crs)
    area = target.area_of_use
    if area is None:
        return None
    to_crs = Transformer.from_crs("EPSG:4326", target, always_xy=True)
    xmin, ymin, xmax, ymax = to_crs.transform_bounds(
        area.west, area.south, area.east, area.north, densify_pts=21
    )
    dx, dy = (xmax - xmin) * AREA_MARGIN, (ymax - ymin) * AREA_MARGIN
    return (xmin - dx, ymin - dy, xmax + dx, ymax + dy)
