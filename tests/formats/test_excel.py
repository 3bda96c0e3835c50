"""Excel workbooks: one sheet, every value kept as text, headers checked like CSV's. Each through a
real ingest."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import FormatError
from lakehouse.project import Lakehouse
from tests.conftest import write_template


def test_excel_sheet_is_archived_as_text(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "intro"
    sheet = workbook.create_sheet("lots")
    sheet.append(["bbl", "zip", "area"])
    sheet.append(["1000010001", "00123", 12.5])
    sheet.append(["2000020002", None, 3])
    path = tmp_path / "lots.xlsx"
    workbook.save(path)
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: {path}}}\nformat: {{type: excel, sheet: lots}}\n",
    )
    manifest = lake.ingest("lots").manifest
    assert {c.type for c in manifest.columns} == {"VARCHAR"}
    assert lake.read("lots").to_pydict() == {
        "bbl": ["1000010001", "2000020002"],
        "zip": ["00123", None],
        "area": ["12.5", "3"],
    }


def test_a_missing_excel_sheet_is_a_clear_error(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    path = tmp_path / "w.xlsx"
    Workbook().save(path)
    write_template(
        project_dir,
        "w",
        f"name: w\nsource: {{type: file, path: {path}}}\nformat: {{type: excel, sheet: nope}}\n",
    )
    with pytest.raises(FormatError, match=r"format\.sheet"):
        lake.ingest("w")
    assert lake.versions("w") == []


def test_repeated_excel_headers_are_refused_like_csv(lake: Lakehouse, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["a", "a", None])
    workbook.active.append(["1", "2", "3"])
    path = tmp_path / "d.xlsx"
    workbook.save(path)
    with pytest.raises(FormatError, match="repeats column"):
        lake.ingest("d", file=path)


def test_a_formula_without_a_saved_value_is_refused_not_emptied(
    lake: Lakehouse, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    workbook = Workbook()  # openpyxl, like many exporters, saves formulas without values
    workbook.active.append(["lot", "area", "double"])
    workbook.active.append(["1", 100, "=B2*2"])
    path = tmp_path / "d.xlsx"
    workbook.save(path)
    with pytest.raises(FormatError, match=r"cell C2 holds the formula =B2\*2 with no saved value"):
        lake.ingest("d", file=path)
    assert lake.datasets() == []  # nothing archived


def test_a_formula_with_its_saved_value_is_archived_as_that_value(
    lake: Lakehouse, tmp_path: Path
) -> None:
    import zipfile

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["lot", "area", "double"])
    workbook.active.append(["1", 100, "=B2*2"])
    plain = tmp_path / "plain.xlsx"
    workbook.save(plain)
    # what Excel writes when it saves: the formula and its cached value, <v>200</v>
    path = tmp_path / "d.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>B2*2</f><v />", b"<f>B2*2</f><v>200</v>")
                assert b"<v>200</v>" in data
            target.writestr(item, data)
    lake.ingest("d", file=path)
    assert lake.read("d").to_pylist() == [{"lot": "1", "area": "100", "double": "200"}]
