"""Raw-contract rules: a `regex` rule per column, and a severity per rule (the contract's
`severity:` stays the default for the rules that give none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.archive.template import load_template
from lakehouse.errors import ConfigError, ContractFailed
from lakehouse.project import Lakehouse
from tests.conftest import write_template

# a lookup file: one row has no zip code
LOOKUP = "name,zip\nCentral,10001\nNorth,10463\nNowhere,no_zip_code\n"


def ingest(lake: Lakehouse, project_dir: Path, tmp_path: Path, contract: str, text: str = LOOKUP):
    path = tmp_path / "lookup.csv"
    path.write_text(text)
    write_template(
        project_dir,
        "lookup",
        f"name: lookup\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\n{contract}",
    )
    return lake.ingest("lookup")


def test_a_regex_rule_refuses_values_that_do_not_match(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    contract = "contract:\n  regex: {zip: '^\\d{5}$'}\n"
    with pytest.raises(ContractFailed, match=r"zip: matches .*: 1 row\(s\), e\.g\. \{'zip': "
                       r"'no_zip_code'\}"):  # fmt: skip
        ingest(lake, project_dir, tmp_path, contract)
    assert lake.versions("lookup") == []


def test_a_regex_rule_passes_matching_and_empty_values(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    contract = "contract:\n  regex: {zip: '\\d{5}'}\n"  # the whole value must match
    text = "name,zip\nCentral,10001\nNorth,\n"
    manifest = ingest(lake, project_dir, tmp_path, contract, text).manifest
    assert manifest.contract is not None and manifest.contract.summary == "2/2 checks passed"
    with pytest.raises(ContractFailed, match="zip: matches"):
        ingest(lake, project_dir, tmp_path, contract, "name,zip\nCentral,100011\n")


def test_a_rule_marked_warn_archives_with_a_warning_under_an_error_contract(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    contract = (
        "contract:\n  columns: [name, zip]\n"
        "  parse:\n    zip: {as: integer, severity: warn}\n  severity: error\n"
    )
    manifest = ingest(lake, project_dir, tmp_path, contract).manifest
    assert manifest.contract is not None
    assert manifest.contract.summary == "1/2 checks passed, 1 warning(s)"
    assert [w.rule for w in manifest.contract.warnings] == ["zip: parses as integer"]


def test_a_regex_rule_with_its_own_severity(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    contract = "contract:\n  regex:\n    zip: {pattern: '^\\d{5}$', severity: warn}\n"
    manifest = ingest(lake, project_dir, tmp_path, contract).manifest
    assert manifest.contract is not None
    assert [(w.rule, w.failing_rows) for w in manifest.contract.warnings] == [
        ("zip: matches ^\\d{5}$", 1)
    ]


def test_a_rule_marked_error_blocks_under_a_warn_contract(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    contract = (
        "contract:\n  parse:\n    zip: {as: integer, severity: error}\n"
        "    name: {as: integer}\n  severity: warn\n"
    )
    with pytest.raises(ContractFailed, match=r"the raw contract failed \(zip: parses as integer"):
        ingest(lake, project_dir, tmp_path, contract)


def test_a_bad_regex_names_the_field(project_dir: Path) -> None:
    path = write_template(
        project_dir,
        "x",
        "name: x\nsource: {type: file, path: a.csv}\nformat: {type: csv}\n"
        "contract:\n  regex: {zip: '^[0-9'}\n",
    )
    with pytest.raises(ConfigError, match=r"contract\.regex\.zip"):
        load_template(path)


def test_a_contract_without_the_new_rules_keeps_loading(project_dir: Path) -> None:
    path = write_template(
        project_dir,
        "x",
        "name: x\nsource: {type: file, path: a.csv}\nformat: {type: csv}\n"
        "contract:\n  parse:\n    bbl: {as: integer, required: true}\n  severity: warn\n",
    )
    contract = load_template(path).contract
    assert contract is not None and contract.parse["bbl"].severity is None


def test_a_value_is_cleaned_as_duckdbs_trim_cleans_it_when_trim_is_skipped() -> None:
    """The raw rules skip `trim` for values it leaves as they are (no space at either end,
    only ASCII): every value still comes out as trim, then '' and 'N/A' as empty, make it,
    including those trim changes beyond ASCII spaces (a no-break or ideographic space)."""
    import duckdb

    from lakehouse.contracts.raw import _cleaned

    values = ["1000010001", " 12 ", "12 ", " 12", "", "   ", "N/A", " N/A ", "n/a", "a  b",
              "\u00a012\u00a0", "12\u3000", "caf\u00e9", " caf\u00e9", "\t12\t", None]  # fmt: skip
    expected = ["1000010001", "12", "12", "12", None, None, None, None, "n/a", "a  b",
                "12", "12", "caf\u00e9", "caf\u00e9", "\t12\t", None]  # fmt: skip
    con = duckdb.connect()
    con.execute("CREATE TABLE raw (v VARCHAR)")
    con.executemany("INSERT INTO raw VALUES (?)", [[v] for v in values])
    found = con.execute(f"SELECT {_cleaned('v')} FROM raw ORDER BY rowid").fetchall()
    cleaned = [row[0] for row in found]
    assert cleaned == expected
