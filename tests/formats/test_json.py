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


def test_a_json_file_over_max_file_bytes_is_refused_before_it_is_read(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"id": i, "name": "x" * 20} for i in range(100)]))
    size = path.stat().st_size
    text = f"name: big\nsource: {{type: file, path: {path}}}\nformat: {{type: json"
    write_template(project_dir, "big", text + ", max_file_bytes: 1000}\n")
    with pytest.raises(
        FormatError,
        match=rf"^big\.json is {size:,} bytes of JSON, more than the 1,000 read into memory at "
        r"once \(format\.max_file_bytes\); if there is memory for it, raise "
        r"format\.max_file_bytes in the template, else get the data in smaller files",
    ):
        lake.ingest("big")
    write_template(project_dir, "big", text + f", max_file_bytes: {size}}}\n")
    assert lake.ingest("big").manifest.row_count == 100


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b'[{"a": 1', r"^x\.json is not valid JSON \(Expecting ',' delimiter: line 1 column 9\)"),
        (b'[{"a": "\xff"}]', r"^x\.json is not valid JSON \(not UTF-8 text"),
        (b'[{"a": 1' + b"0" * 5000 + b"}]", r"^x\.json is JSON with a number of more than 4,300"),
    ],
    ids=["cut", "not utf-8", "5,000 digits"],
)
def test_json_is_called_not_valid_only_when_it_is_not(
    lake: Lakehouse, tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=said):
        lake.ingest("x", file=path)
