"""DuckDB's spatial extension, offline: installed once into a local folder from the
duckdb-extension-spatial wheel (signed by DuckDB; nothing is downloaded), then loaded, for the
builds, explorations and ingests that use geometry."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from lakehouse.errors import BuildError
from lakehouse.sql import sql_string

EXTENSION_FOLDER = "duckdb-extensions"  # in the workspace: spatial, installed from its wheel
SPATIAL_WHEEL = "duckdb_extension_spatial"


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
        spec = importlib.util.find_spec(SPATIAL_WHEEL)
        packaged = (
            sorted(Path(spec.submodule_search_locations[0]).glob("extensions/*/spatial.*"))
            if spec is not None and spec.submodule_search_locations
            else []
        )
        if not packaged:
            raise BuildError(
                "This build uses geometry, which needs DuckDB's spatial extension: install "
                "duckdb-extension-spatial==1.5.5 (it is in requirements.lock; `make setup`)."
            )
        con.execute(f"INSTALL {sql_string(str(packaged[0]))}")
    con.execute("LOAD spatial")
