"""lakehouse: a versioned raw archive, reproducible builds, contracts, QA and publishing on
DuckDB and Parquet.

In a notebook, any version is one line away (ibis tables, `.to_polars()` / `.to_pandas()`):

    import lakehouse as lh
    lh.source("dof_pts", "20251101")                 # an archived dataset version
    lh.build("pluto_lite", "latest").table()         # a build's output
    lh.published("pluto_lite", "25v1").table()       # a published version's output
    lh.connect(env="prod")                           # another project or environment
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lakehouse.explore.explorer import Explorer, OutputSet
    from lakehouse.project import Lakehouse

__all__ = ["Lakehouse", "__version__", "build", "connect", "open", "published", "source"]

_explorer: Explorer | None = None


def open(path: Any = None, env: str | None = None) -> Lakehouse:
    """Open the project of `path` (a lakehouse.toml), or of the nearest one above here."""
    from pathlib import Path

    from lakehouse.project import open_lakehouse

    return open_lakehouse(Path(path) if path is not None else None, env=env)


def connect(path: Any = None, env: str | None = None) -> Explorer:
    """Explore the project of `path` (default: the nearest lakehouse.toml) in `env`; the
    functions below use the last one connected (or connect on first use)."""
    from lakehouse.explore.explorer import Explorer

    global _explorer
    _explorer = Explorer(open(path, env))
    return _explorer


def _current() -> Explorer:
    return _explorer if _explorer is not None else connect()


def source(dataset: str, version: str = "latest") -> Any:
    """An archived version of a dataset as an ibis table."""
    return _current().source(dataset, version)


def build(product: str, build_id: str = "latest") -> OutputSet:
    """A build's outputs: `.table(name)` is an ibis table."""
    return _current().build(product, build_id)


def published(product: str, version: str = "latest") -> OutputSet:
    """A published version's outputs: `.table(name)` is an ibis table."""
    return _current().published(product, version)


def __getattr__(name: str) -> Any:
    if name == "Lakehouse":
        from lakehouse.project import Lakehouse

        return Lakehouse
    raise AttributeError(name)
