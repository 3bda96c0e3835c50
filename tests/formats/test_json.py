"""JSON records: every value kept as text, at a nested path if need be; no records is an error.
Each through a real ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.errors import FormatError
from lakehouse.project import Lakehouse
from tests.conftest import write_template


def test_json_records_at_a_nested_path(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    records = [{"id": 1, "name": "a", "tags": ["x"]}, {"id": 2, "ok": True}]
    path.write_text(json.dumps({"meta": {}, "data": {"rows": records}}))
    write_template(
        project_dir,
        "r",
        f"name: r\nsource: {{type: file, path: {path}}}\n"
        "format: {type: json, records_path: [data, rows]}\n",
    )
    lake.ingest("r")
    assert lake.read("r").to_pydict() == {
        "id": ["1", "2"],
        "name": ["a", None],
        "tags": ['["x"]', None],
        "ok": [None, "true"],
    }


def test_json_that_is_not_records_is_refused(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(FormatError, match="records_path"):
        lake.ingest("x", file=path)


def test_json_without_records_is_a_clear_error(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    for content in ("[]", "[{}]"):
        path.write_text(content)
        with pytest.raises(FormatError, match="holds no records"):
            lake.ingest("e", file=path)


def test_json_nested_too_deeply_is_refused_in_one_sentence(lake: Lakehouse, tmp_path: Path) -> None:
    source = tmp_path / "deep.json"
    source.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FormatError, match="nests arrays or objects too deeply"):
        lake.ingest("deep", file=source)
    assert lake.datasets() == []
