"""A toy lakehouse plugin: one source type, one format and one engine, each registered by an
entry point in pyproject.toml (nothing in the lakehouse names them).

- format `toyfmt`: records as stanzas of `name: value` lines, separated by blank lines (files
  ending in .toy); every value kept as text.
- source type `toy`: makes up `count` records in that format; it decides its format, so a
  template needs no `format:`.
- engine `toyduck`: DuckDB under another name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field

from lakehouse.errors import FormatError
from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.view import checked_column_names, register_tables
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType
from lakehouse.transform.engines import EngineType
from lakehouse.transform.engines.duckdb import DuckDBEngine

# -- the format ------------------------------------------------------------------------------


class ToyFormat(FormatSpec):
    type: Literal["toyfmt"]
    separator: str = Field(default=":", min_length=1)


def read_stanzas(path: Path, separator: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = [{}]
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            records.append({})
            continue
        name, found, value = line.partition(separator)
        if not found:
            raise FormatError(
                f"Line {number} of {path.name} has no {separator!r}; write `name{separator} value`."
            )
        records[-1][name.strip()] = value.strip()
    return [record for record in records if record]


def load(con: Any, files: list[Path], fmt: ToyFormat) -> None:
    tables = []
    for path in files:
        records = read_stanzas(path, fmt.separator)
        names = checked_column_names(list(dict.fromkeys(k for r in records for k in r)), path.name)
        columns = {name: pa.array([r.get(name) for r in records], pa.string()) for name in names}
        tables.append(pa.table(columns))
    register_tables(con, tables)


FORMAT = Format(name="toyfmt", spec=ToyFormat, load=load, suffixes=(".toy",))

# -- the source type -------------------------------------------------------------------------


class ToySource(SourceSpec):
    type: Literal["toy"]
    count: int = Field(default=3, ge=1, le=10_000)
    greeting: str = "hello"


def fetch(source: ToySource, landing_dir: Path, progress: Progress) -> Fetched:
    path = landing_dir / "made_up.toy"
    path.write_text(
        "\n".join(f"n: {n}\ngreeting: {source.greeting} {n}\n" for n in range(1, source.count + 1)),
        encoding="utf-8",
    )
    progress(f"made up {source.count} records", source.count, source.count)
    return Fetched(
        files=[path],
        location=f"toy:{source.greeting}",
        source_version="20240102",
        format_override=ToyFormat(type="toyfmt"),
        details={"count": source.count},
    )


SOURCE = SourceType(name="toy", spec=ToySource, fetch=fetch, decides_format=True)

# -- the engine ------------------------------------------------------------------------------


class ToyDuckEngine(DuckDBEngine):
    name = "toyduck"


ENGINE = EngineType(name="toyduck", open=ToyDuckEngine, provides_database=True)
