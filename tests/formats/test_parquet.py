"""Parquet and GeoParquet: read with their own types. Each through a real ingest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.project import Lakehouse
from tests.conftest import realdata


def test_parquet_keeps_its_types(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"n": pa.array([1, 2], pa.int64()), "s": ["a", None]}), path)
    manifest = lake.ingest("p", file=path).manifest
    assert [(c.name, c.type) for c in manifest.columns] == [("n", "BIGINT"), ("s", "VARCHAR")]


@pytest.mark.realdata
def test_real_geoparquet(lake: Lakehouse) -> None:
    source = realdata("geo.parquet")
    manifest = lake.ingest("geo", file=source).manifest
    assert manifest.row_count == pq.read_metadata(source).num_rows == 5
