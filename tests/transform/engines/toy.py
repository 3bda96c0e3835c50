"""A toy engine, written as another package would write one (see `lakehouse.transform.engines`):
DuckDB underneath, in a database of its own in the build's scratch folder (so it leaves no
database for `lake sql`: `provides_database` is False), recording what the builder asked of it.

Register it with `ENGINES.register(TOY)` and remove it after with `ENGINES.unregister("toy")`;
`TOY_PARTS` is the same engine writing its results in parts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from lakehouse.transform.engines import EngineContext, EngineType
from lakehouse.transform.engines.duckdb import DuckDBEngine


class ToyEngine:
    name = "toy"
    calls: ClassVar[list[tuple[str, str]]] = []  # (what, model) for every engine opened

    def __init__(self, context: EngineContext) -> None:
        self.calls.append(("open", ""))
        self.store, self.scratch = context.store, context.scratch
        own = dataclasses.replace(context, database=context.scratch / "toy.duckdb")
        self.duckdb = DuckDBEngine(own)

    def parquet_table(self, name: str, urls: list[str], schema: dict[str, Any] | None) -> Any:
        self.calls.append(("read", name))
        return self.duckdb.parquet_table(name, urls, schema)

    def view(self, name: str, expression: Any) -> Any:
        self.calls.append(("view", name))
        return self.duckdb.view(name, expression)

    def write_parquet(
        self, expression: Any, local_path: Path, codec: str, crs: dict[str, str] | None = None
    ) -> int:
        self.calls.append(("write", local_path.stem))  # the builder names it after the model
        return self.duckdb.write_parquet(expression, local_path, codec, crs)

    def close(self) -> None:
        self.calls.append(("close", ""))
        self.duckdb.close()

    @classmethod
    def ran(cls, what: str) -> list[str]:
        """The models it was asked to `what` ("view", "write", "read"), in order."""
        return [model for kind, model in cls.calls if kind == what]


TOY = EngineType(name="toy", open=ToyEngine, packages=("pytest",), provides_database=False)


class ToyPartsEngine(ToyEngine):
    """The toy engine as an engine that writes its results into the store itself, in parts
    (`writes_parts`, as Spark does): each table model as three ordered part files, cut from
    DuckDB's result by row number (a local store only)."""

    name = "toy_parts"
    PARTS = 3

    def write_parts(
        self, expression: Any, folder: str, codec: str, crs: dict[str, str] | None = None
    ) -> list[str]:
        self.calls.append(("write", folder.split("/")[-2]))  # cache/<product>/<model>/<folder>
        whole = self.scratch / "whole.parquet"
        rows = self.duckdb.write_parquet(expression, whole, codec, crs)
        target = self.store.local_path(folder)
        target.mkdir(parents=True)
        size = -(-rows // self.PARTS)  # rows per part, rounded up
        written = []
        for index in range(self.PARTS):
            part = f"part-{index:05d}-toy.parquet"
            self.duckdb.con.con.execute(
                f"COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet('{whole}', "
                f"file_row_number = true) WHERE file_row_number >= {index * size} AND "
                f"file_row_number < {(index + 1) * size} ORDER BY file_row_number) "
                f"TO '{target / part}' (FORMAT parquet, COMPRESSION {codec})"
            )
            written.append(f"{folder}/{part}")
        whole.unlink()
        return written


TOY_PARTS = EngineType(
    name="toy_parts", open=ToyPartsEngine, packages=("pytest",), writes_parts=True
)
