"""lakehouse: a versioned raw archive, reproducible builds and QA on DuckDB and Parquet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse

__all__ = ["Lakehouse", "__version__", "open"]


def open(path: Any = None) -> Lakehouse:
    """Open the project of `path` (a lakehouse.toml), or of the nearest one above here."""
    from pathlib import Path

    from lakehouse.project import open_lakehouse

    return open_lakehouse(Path(path) if path is not None else None)


def __getattr__(name: str) -> Any:
    if name == "Lakehouse":
        from lakehouse.project import Lakehouse

        return Lakehouse
    raise AttributeError(name)
