"""Data dictionaries: validated at load, and a build whose output disagrees with one fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakehouse.contracts.dictionary import load_dictionary, schema_differences
from lakehouse.errors import ConfigError
from lakehouse.transform.builder import BuildError
from tests.projects import REPO, make_project

GOOD = """
product: p
tables:
  p:
    description: one row per thing
    primary_key: [id]
    columns:
      - {name: id, type: integer, description: the key, nullable: false, unique: true}
      - {name: kind, type: text, description: what it is, allowed: [a, b]}
      - {name: ratio, type: decimal, precision: [7, 2], description: a share, range: [0, 100]}
"""


def write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "contracts" / "p"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dictionary.yml").write_text(text)
    return tmp_path / "contracts"


def test_a_dictionary_loads_and_gives_storage_types(tmp_path: Path) -> None:
    dictionary = load_dictionary(write(tmp_path, GOOD), "p")
    assert dictionary is not None
    table = dictionary.tables["p"]
    assert table.primary_key == ["id"]
    assert [c.storage_type for c in table.columns] == ["int64", "string", "decimal(7, 2)"]
    assert (
        schema_differences(table, {"id": "!int64", "kind": "string", "ratio": "decimal(7, 2)"})
        == []
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("type: text", "type: txt"), r"columns\.kind \(2nd column\)\.type"),
        (("allowed: [a, b]", "regex: x"), None),
        (("type: integer, description: the key", "type: integer, regex: '^1', description: k"),
         "regex applies to text columns"),
        (("primary_key: [id]", "primary_key: [nope]"), "primary_key names unknown column"),
        (("precision: [7, 2], ", ""), "decimal columns, and only they"),
        (("description: what it is", "descripton: what it is"), "unknown key 'descripton'"),
    ],
)  # fmt: skip
def test_a_bad_dictionary_names_the_file_and_field(
    tmp_path: Path, change: tuple[str, str], message: str | None
) -> None:
    contracts = write(tmp_path, GOOD.replace(*change))
    if message is None:  # a regex on a text column is fine
        assert load_dictionary(contracts, "p") is not None
        return
    with pytest.raises(ConfigError, match=message) as error:
        load_dictionary(contracts, "p")
    assert "dictionary.yml" in str(error.value)


def test_schema_differences_name_each_problem() -> None:
    from lakehouse.contracts.dictionary import TableEntry

    table = TableEntry(
        description="t",
        columns=[
            {"name": "a", "type": "integer", "description": "a"},
            {"name": "b", "type": "text", "description": "b"},
        ],
    )
    assert schema_differences(table, {"b": "string", "a": "int64"}) == [
        "columns out of order: the 1st column is 'b', the dictionary puts 'a' there (2 of 2 "
        "columns are not where the dictionary lists them)"
    ]
    assert schema_differences(table, {"a": "float64", "c": "string"}) == [
        "missing column(s) b",
        "column(s) not in the dictionary: c",
        "column 'a' is float64, the dictionary says integer (int64)",
    ]


def test_the_pluto_lite_dictionary_describes_every_output_column() -> None:
    dictionary = load_dictionary(REPO / "contracts", "pluto_lite")
    assert dictionary is not None
    table = dictionary.tables["pluto_lite"]
    assert table.primary_key == ["bbl"]
    assert len(table.columns) == 27
    assert all(len(column.description) > 20 for column in table.columns)


def test_a_build_whose_output_disagrees_with_its_dictionary_fails(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    path = tmp_path / "p" / "contracts" / "pluto_lite" / "dictionary.yml"
    path.write_text(
        path.read_text().replace(
            "name: far\n        type: float", "name: far\n        type: integer"
        )
    )
    with pytest.raises(BuildError, match=r"'far' is float64, the dictionary says integer") as error:
        lake.build("pluto_lite")
    assert "dictionary.yml" in str(error.value)
    assert lake.builds("pluto_lite") == []
    shutil.copy(REPO / "contracts" / "pluto_lite" / "dictionary.yml", path)
    path.write_text(path.read_text().replace("      - name: bldg_age", "      - name: bldg_ages"))
    with pytest.raises(BuildError, match=r"missing column.*bldg_ages"):
        lake.build("pluto_lite")
    shutil.copy(REPO / "contracts" / "pluto_lite" / "dictionary.yml", path)
    assert lake.build("pluto_lite").outputs["outputs/pluto_lite"].rows == 100
