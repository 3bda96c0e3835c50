"""`lake show` in a narrow terminal shows whole values: the columns that fit, and says how many
more there are, instead of splitting numbers across lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse

COLUMNS = [f"measure_{i:02d}" for i in range(12)]


def test_a_wide_table_in_80_columns_shows_whole_values_and_names_the_rest(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "wide.csv"
    rows = [[str(1234567890 + 1000 * row + column) for column in range(12)] for row in range(3)]
    source.write_text(
        ",".join(COLUMNS) + "\n" + "".join(",".join(row) + "\n" for row in rows),
        encoding="utf-8",
    )
    lake.ingest("wide", file=source)
    monkeypatch.chdir(project_dir)
    result = CliRunner().invoke(app, ["show", "wide"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line[:1] in "┏┃┡│└"]  # the table
    assert lines and max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.startswith("┃"))
    shown = [name for name in COLUMNS if name in header]
    assert 2 <= len(shown) < len(COLUMNS)
    for row in rows:  # every value of a shown column is there whole, on one line
        for value in row[: len(shown)]:
            assert any(value in line for line in lines), value
    assert f"and {len(COLUMNS) - len(shown)} more column(s)" in result.output
