"""Seeds: small lookup tables kept in the repo as CSV files (`seeds/<name>.csv`, the folder is
`[paths] seeds`), read by a product as an input without an ingest.

A recipe names one as `boroughs: {seed: boroughs}` (optionally with `types: {code: string}`, ibis
type names for columns DuckDB should not guess: a ZIP code read as a number loses its leading
zero). `lake lock` pins it like any input: by the sha256 of the file's bytes, and keeps a copy
of those bytes in the store (`seeds/<name>/<sha256>.csv`, never changed), so a build of the
lock reads exactly the pinned bytes even after the repo's file is edited; `lake plan` flags a
lock whose seed file has changed since as stale. The CSV has a header row; other columns' types
are DuckDB's guess, which depends only on the pinned bytes.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError, IntegrityError, LockError, NotFoundError
from lakehouse.names import check_dataset_name
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store

SEEDS_AREA = "seeds"
SEED_SUFFIX = ".csv"
SEED_VERSION_DIGITS = 12  # a pinned seed's version: the first hex digits of its sha256
MAX_SEED_BYTES = 50 * 1024 * 1024  # a lookup table kept in git; larger data is ingested


def seed_file(seeds_dir: Path, name: str) -> Path:
    return seeds_dir / f"{check_dataset_name(name)}{SEED_SUFFIX}"


def seed_display_name(name: str) -> str:
    """How a seed is named in locks, plans and lineage."""
    return f"{SEEDS_AREA}/{name}{SEED_SUFFIX}"


def seed_copy_path(name: str, sha256: str) -> str:
    """Where the store keeps the bytes of a seed a lock pinned."""
    return f"{SEEDS_AREA}/{name}/{sha256}{SEED_SUFFIX}"


def hash_seed(seeds_dir: Path, name: str) -> str:
    """The sha256 of the seed's file as it is in the repo now."""
    return hashlib.sha256(_read_seed(seeds_dir, name)).hexdigest()


def _read_seed(seeds_dir: Path, name: str) -> bytes:
    path = seed_file(seeds_dir, name)
    if not path.is_file():
        found = sorted(p.stem for p in seeds_dir.glob(f"*{SEED_SUFFIX}"))
        close = difflib.get_close_matches(name, found, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"write {path} (a CSV with a header)."
        raise NotFoundError(f"No seed file {path}; {hint}")
    if path.stat().st_size > MAX_SEED_BYTES:
        raise ConfigError(
            f"{path} is over {MAX_SEED_BYTES // 2**20} MiB: a seed is a small lookup table "
            "kept in the repo; ingest a file this large with a template instead."
        )
    return path.read_bytes()


def keep_seed(store: Store, seeds_dir: Path, name: str, sha256: str, product: str) -> str:
    """The store's copy of the seed bytes a lock pinned, copied from the repo's file if the
    store has none yet (that file must still hash as pinned)."""
    path = seed_copy_path(name, sha256)
    if store.exists(path):
        return path
    data = _read_seed(seeds_dir, name)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise LockError(
            f"{seed_file(seeds_dir, name)} changed since the lock pinned it (sha256 "
            f"{sha256[:12]}) and the store has no copy of the pinned bytes; run "
            f"`lake lock {product}` to pin the file as it is now."
        )
    store.write_bytes(path, data)
    return path


def check_seed_copy(store: Store, name: str, sha256: str) -> str:
    """The store's copy of a pinned seed, checked against its sha256 before a build reads it."""
    path = seed_copy_path(name, sha256)
    try:
        found, _ = store.sha256(path)
    except FileNotFoundError:
        raise IntegrityError(
            f"{store.url(path)} is missing; nothing was built: run `lake lock` again to copy "
            "the seed from the repo."
        ) from None
    if found != sha256:
        raise IntegrityError(
            f"{store.url(path)} does not hash as its name says (the stored file was changed); "
            "nothing was built: run `lake verify`, and restore it or run `lake lock` again."
        )
    return path


def duckdb_types(types: Mapping[str, str]) -> dict[str, str]:
    """The recipe's ibis type names as DuckDB's, for `read_csv(types=...)`."""
    import ibis
    from ibis.backends.sql.datatypes import DuckDBType

    return {column: DuckDBType.to_string(ibis.dtype(name)) for column, name in types.items()}


def check_seed_types(types: Mapping[str, str]) -> None:
    """Each type must be one ibis knows (`string`, `int64`, `float64`, `date`, `decimal(9, 2)`)."""
    import ibis

    for column, name in types.items():
        try:
            ibis.dtype(name)
        except Exception:  # ibis raises several kinds for a name it cannot parse
            raise ValueError(
                f"column {column!r}: {name!r} is not a type; use an ibis type name such as "
                "string, int64, float64, boolean, date or decimal(9, 2)"
            ) from None


def read_seed_sql(url: str, types: Mapping[str, str]) -> str:
    """DuckDB's SELECT of a seed's CSV at `url` with the recipe's column types."""
    typed = ""
    if types:
        pairs = ", ".join(
            f"{sql_string(c)}: {sql_string(t)}" for c, t in duckdb_types(types).items()
        )
        typed = f", types = {{{pairs}}}"
    return f"SELECT * FROM read_csv({sql_string(url)}, header = true{typed})"


def seed_to_parquet(store: Store, path: str, types: Mapping[str, str], local: Path) -> Path:
    """The seed's stored CSV as a Parquet file at `local`, typed as the recipe says (any
    engine reads Parquet)."""
    url = store.url(path)
    _run_on_seed(store, url, f"COPY ({read_seed_sql(url, types)}) TO {sql_string(str(local))} "
                 "(FORMAT parquet)")  # fmt: skip
    return local


def seed_schema(store: Store | None, url: str, types: Mapping[str, str]) -> dict[str, str]:
    """The columns and DuckDB types of the seed CSV at `url` (in the store, or a local file
    when `store` is None), without a build."""
    rows = _run_on_seed(store, url, f"DESCRIBE {read_seed_sql(url, types)}")
    return {row[0]: row[1] for row in rows}


def _run_on_seed(store: Store | None, url: str, statement: str) -> list[tuple[Any, ...]]:
    import duckdb

    with duckdb.connect() as con:
        if store is not None:
            store.register_in_duckdb(con)
        try:
            return con.execute(statement).fetchall()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(
                f"The seed {url} could not be read as CSV with the types the recipe gives: "
                f"{first}; fix the file or its `types:`."
            ) from None
