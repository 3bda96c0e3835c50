"""The raw layer's gate: a template's contract checked at ingest; a failure archives nothing."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse.errors import ContractFailed
from lakehouse.project import Lakehouse
from tests.conftest import write_template

CONTRACT = """
contract:
  columns: [bbl, units, day]
  min_rows: 2
  max_rows: 100
  unique: [bbl]
  parse:
    bbl: {as: integer, required: true}
    units: {as: integer}
    ratio: {as: decimal}
    day: {as: date, format: '%m/%d/%Y'}
"""


def ingest(lake: Lakehouse, project_dir: Path, tmp_path: Path, text: str, contract: str = CONTRACT):
    path = tmp_path / "lots.csv"
    path.write_text(text)
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\n{contract}",
    )
    return lake.ingest("lots")


GOOD = "bbl,units,ratio,day\n1000010001,3,1.5,01/31/2020\n1000010002,,N/A,\n"


def test_a_clean_source_is_archived_with_the_contract_summary(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    manifest = ingest(lake, project_dir, tmp_path, GOOD).manifest
    report = f"{manifest.run_folder}/contract/report.txt"
    assert manifest.contract is not None
    assert manifest.contract.model_dump() == {
        "summary": "8/8 checks passed",
        "report": report,
        "warnings": [],
    }
    text = (Path(lake.store.root) / report).read_text()
    assert text.startswith("contract report (raw): 8/8 checks passed")
    assert "pass  lots.bbl: parses as integer (integer)" in text
    rows = pq.read_table(Path(lake.store.root) / report.replace(".txt", ".parquet")).to_pylist()
    assert len(rows) == 8 and all(row["passed"] for row in rows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("1000010002,,", "10000x0002,,"),
         r"bbl: parses as integer: 1 row\(s\), e\.g\. \{'bbl': '10000x0002'\}"),
        (GOOD.replace(",3,", ",2.5,"), "units: parses as integer: 1 row"),  # no silent rounding
        (GOOD.replace("01/31/2020", "31/01/2020"), "day: parses as date"),
        (GOOD.replace("1000010002,,", " ,,"), "bbl: required: 1 row"),
        (GOOD.replace("1000010002", "1000010001"), "bbl: unique: 1 row"),
        ("bbl,units,ratio,day\n1,2,3,01/01/2020\n", "rows: 1 row"),
        (GOOD.replace("units,", "unit,"), r"columns: 1 row\(s\), e\.g\. \{'missing': 'units'\}"),
    ],
)  # fmt: skip
def test_a_broken_source_archives_nothing_and_says_why(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ContractFailed, match=message) as error:
        ingest(lake, project_dir, tmp_path, text)
    assert "nothing was archived" in str(error.value)
    assert lake.versions("lots") == []
    assert not (Path(lake.store.root) / "raw" / "lots").exists() or not any(
        (Path(lake.store.root) / "raw" / "lots").rglob("*.parquet")
    )
    (rejected,) = (Path(lake.store.root) / "rejected" / "lots").iterdir()
    assert str(rejected / "report.txt") in str(error.value)
    assert "FAIL  lots." in (rejected / "report.txt").read_text()
    rows = pq.read_table(rejected / "report.parquet").to_pylist()
    assert any(not row["passed"] and row["failing_rows"] >= 1 for row in rows)


def test_a_warning_contract_archives_and_records_the_warning(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    contract = CONTRACT + "  severity: warn\n"
    manifest = ingest(lake, project_dir, tmp_path, GOOD.replace(",3,", ",2.5,"), contract).manifest
    assert manifest.contract is not None
    assert manifest.contract.summary == "7/8 checks passed, 1 warning(s)"
    assert [w.model_dump() for w in manifest.contract.warnings] == [
        {"rule": "units: parses as integer", "failing_rows": 1, "sample_keys": [{"units": "2.5"}]}
    ]


def test_a_contract_typo_names_the_field(project_dir: Path) -> None:
    from lakehouse.archive.template import load_template
    from lakehouse.errors import ConfigError

    path = write_template(
        project_dir,
        "x",
        "name: x\nsource: {type: file, path: a.csv}\nformat: {type: csv}\n"
        "contract:\n  parse:\n    bbl: {as: integr}\n",
    )
    with pytest.raises(ConfigError, match=r"contract\.parse\.bbl\.as"):
        load_template(path)


SOURCE_CONTRACT = """
import ibis
import pandera.ibis as pa

CONTRACT = pa.DataFrameSchema(
    {
        "bbl": pa.Column(ibis.dtype("string"), pa.Check.str_matches(r"^[1-5][0-9]{9}$")),
        "units": pa.Column(ibis.dtype("string"), pa.Check.str_length(max_value=3), nullable=True),
    },
    unique=["bbl"],
)
"""


def test_a_pandera_source_contract_gates_the_ingest_too(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    folder = project_dir / "contracts" / "sources"
    folder.mkdir(parents=True)
    (folder / "lots.py").write_text(SOURCE_CONTRACT)
    bad = GOOD.replace("1000010002,,", "6000010002,1234,")
    with pytest.raises(ContractFailed, match=r"bbl: regex: 1 row\(s\).*units: length: 1 row") as e:
        ingest(lake, project_dir, tmp_path, bad, contract="")
    assert "6000010002" in str(e.value)
    assert lake.versions("lots") == []
    manifest = ingest(lake, project_dir, tmp_path, GOOD).manifest
    assert manifest.contract is not None
    # the template's 8 rules and the pandera contract's 6 (columns, types, bbl not null, regex,
    # length, unique)
    assert manifest.contract.summary == "14/14 checks passed"


def test_a_broken_source_contract_module_is_named(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from lakehouse.errors import ConfigError

    folder = project_dir / "contracts" / "sources"
    folder.mkdir(parents=True)
    (folder / "lots.py").write_text("CONTRACT = 'not a schema'\n")
    with pytest.raises(ConfigError, match=r"contracts/sources/lots.py: CONTRACT is a str"):
        ingest(lake, project_dir, tmp_path, GOOD)
