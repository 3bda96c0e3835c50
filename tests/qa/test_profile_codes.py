"""Source profiles: codes written in digits (zip codes, BBLs, ids) are text, not numbers; a zip
code's mean (`mean 10,234.8`) says nothing."""

from __future__ import annotations

import duckdb
import pytest

from lakehouse.qa.profile import is_code_name, profile_table

ARCHIVED = """SELECT * FROM (VALUES
    ('10001', '1000010001', 'F-1', '12', '02134', '7'),
    ('10453', '2000020002', 'F-2', '30', '10001', '8'),
    ('11201', '3000030003', 'F-3', '45', '60601', '9')
) AS t(zipcode, bbl, facility_id, capacity, postal_area, facilityId)"""


def profile():  # type: ignore[no-untyped-def]
    return profile_table(duckdb.connect(), f"({ARCHIVED})").columns


def test_a_zip_code_column_of_digits_gets_no_numeric_statistics() -> None:
    zipcode = profile()["zipcode"]
    assert (zipcode.numeric, zipcode.minimum, zipcode.maximum, zipcode.mean) == (
        False, None, None, None,
    )  # fmt: skip
    assert (zipcode.min_length, zipcode.max_length, zipcode.distinct) == (5, 5, 3)


def test_an_id_like_name_keeps_digits_as_text() -> None:
    columns = profile()
    assert not columns["bbl"].numeric and columns["bbl"].mean is None
    assert not columns["facilityId"].numeric


def test_quantities_written_as_text_still_get_numeric_statistics() -> None:
    capacity = profile()["capacity"]
    assert (capacity.numeric, capacity.minimum, capacity.maximum, capacity.mean) == (
        True, 12, 45, 29,
    )  # fmt: skip


def test_a_number_typed_column_is_numbers_whatever_its_name() -> None:
    con = duckdb.connect()
    found = profile_table(con, "(SELECT 10001 AS zipcode UNION ALL SELECT 10003)").columns
    assert found["zipcode"].numeric and found["zipcode"].mean == 10002


@pytest.mark.parametrize(
    ("name", "code"),
    [("zip", True), ("ZIP Code", True), ("zipcode", True), ("postcode", True), ("bbl", True),
     ("BIN", True), ("facility_id", True), ("FacilityID", True), ("borocode", True), ("id", True),
     ("capacity", False), ("bins_count", False), ("paid", False), ("valid", False),
     ("zoning", False), ("lot_area", False)],
)  # fmt: skip
def test_code_names_are_told_by_their_words(name: str, code: bool) -> None:
    assert is_code_name(name) is code
