"""A dictionary's errors name the column (not its position) and say what was meant; a build's
columns in another order are told by their first difference, not two long lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.contracts.dictionary import (
    TableEntry,
    load_dictionary,
    ordinal,
    schema_differences,
)
from lakehouse.errors import ConfigError

FACILITIES = """
product: p
tables:
  facilities:
    description: one row per facility
    primary_key: [bbl]
    columns:
      - {name: bbl, type: bbl, description: the lot, nullabel: false}
      - {name: name, type: text, description: what it is called}
      - {name: zipcode, type: text, description: its zip code, range: [10000, 11999]}
      - {type: text, description: a column without a name}
      - {name: capacity, type: integer, description: beds, colour: red}
"""


def load_error(tmp_path: Path, text: str) -> str:
    folder = tmp_path / "contracts" / "p"
    folder.mkdir(parents=True)
    (folder / "dictionary.yml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_dictionary(tmp_path / "contracts", "p")
    return str(error.value)


def test_a_misspelt_column_key_names_the_column_and_the_key_it_meant(tmp_path: Path) -> None:
    message = load_error(tmp_path, FACILITIES)
    assert (
        "field 'tables.facilities.columns.bbl (1st column)': unknown key 'nullabel' "
        "(did you mean 'nullable'?)"
    ) in message
    assert "columns.0" not in message


def test_a_key_like_no_other_lists_the_keys_a_column_takes(tmp_path: Path) -> None:
    message = load_error(tmp_path, FACILITIES)
    assert "field 'tables.facilities.columns.capacity (5th column)': unknown key 'colour' (a " \
        "column takes name, type, description, nullable" in message  # fmt: skip


def test_a_rule_that_does_not_fit_the_type_names_the_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, FACILITIES)
    assert (
        "field 'tables.facilities.columns.zipcode (3rd column)': range applies to numbers and "
        "dates, not text"
    ) in message


def test_a_column_without_a_name_is_told_by_its_place(tmp_path: Path) -> None:
    message = load_error(tmp_path, FACILITIES)
    assert "field 'tables.facilities.columns.(4th column).name': Field required" in message


@pytest.mark.parametrize(
    ("n", "shown"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")],
)  # fmt: skip
def test_ordinals_read_as_english(n: int, shown: str) -> None:
    assert ordinal(n) == shown


def test_columns_in_another_order_are_told_by_their_first_difference() -> None:
    names = [f"c{i}" for i in range(15)]
    table = TableEntry.model_validate(
        {"description": "t",
         "columns": [{"name": name, "type": "text", "description": name} for name in names]}
    )  # fmt: skip
    swapped = [*names[:4], names[5], names[4], *names[6:]]
    problems = schema_differences(table, dict.fromkeys(swapped, "string"))
    assert problems == [
        "columns out of order: the 5th column is 'c5', the dictionary puts 'c4' there (2 of 15 "
        "columns are not where the dictionary lists them)"
    ]
