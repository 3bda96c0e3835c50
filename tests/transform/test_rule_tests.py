"""Rule tests (`lake test`): hand-written tables through a product's models, compared with the
expected rows; on the repo's PLUTO-lite and on small products written here, right and wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import init_project
from lakehouse.errors import ConfigError, NotFoundError
from lakehouse.transform.models import load_models
from lakehouse.transform.rule_tests import (
    RuleTestResult,
    given_table,
    load_rule_tests,
    run_rule_tests,
)

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

RIGHT_ZIPCODE = 'raw.zipcode.strip().re_replace("-.*$", "").re_replace("^0+", "").lpad(5, "0")'
WRONG_ZIPCODE = 'raw.zipcode.strip().re_replace("-.*$", "")'  # keeps leading zeros
ZIPS = """
from lakehouse.transform import model


@model(layer="staging")
def stg_addresses(addresses):
    raw = addresses
    return raw.select(id=raw.id.strip().cast("int64"), zipcode={zipcode})


@model(layer="product")
def zip_counts(stg_addresses):
    t = stg_addresses
    return t.group_by("zipcode").aggregate(addresses=t.count()).order_by("zipcode")
"""
ZIP_TESTS = """
tests:
  - name: zipcode_cleaning
    description: leading zeros go, ZIP+4 is cut
    model: stg_addresses
    given:
      addresses:
        - {id: "1", zipcode: "011201"}
        - {id: "2", zipcode: "10004-1234"}
    expect:
      - {id: 1, zipcode: "11201"}
      - {id: 2, zipcode: "10004"}
  - name: counts_per_zipcode
    model: zip_counts
    given:
      addresses:
        - {id: "1", zipcode: "11201"}
        - {id: "2", zipcode: "011201"}
        - {id: "3", zipcode: "10004"}
    expect:
      order: as_given
      rows:
        - {zipcode: "10004", addresses: 1}
        - {zipcode: "11201", addresses: 2}
"""
MEASURES = """
from lakehouse.transform import model


@model(layer="product")
def measures(readings):
    return readings


@model(layer="product")
def broken(readings):
    return readings.select(readings.no_such_column)
"""


def write_product(transforms: Path, name: str, files: dict[str, str]) -> Path:
    """transforms/<name>/ with its files (and transforms/__init__.py); returns transforms."""
    for relative, text in {"__init__.py": "", f"{name}/__init__.py": "", **files}.items():
        path = transforms / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return transforms


def zips(tmp_path: Path, zipcode: str = RIGHT_ZIPCODE, tests: str = ZIP_TESTS) -> Path:
    return write_product(
        tmp_path / "transforms",
        "zips",
        {"zips/models.py": ZIPS.format(zipcode=zipcode), "zips/tests/zips.yml": tests},
    )


def measures(tmp_path: Path, tests: str) -> Path:
    return write_product(
        tmp_path / "transforms",
        "measures",
        {"measures/models.py": MEASURES, "measures/tests/measures.yml": tests},
    )


def by_name(results: list[RuleTestResult]) -> dict[str, RuleTestResult]:
    return {result.test.name: result for result in results}


def only_error(results: list[RuleTestResult]) -> str:
    (result,) = results
    assert result.status == "error", result
    assert result.message is not None
    return result.message


# -- the repo's PLUTO-lite --------------------------------------------------------------------


def test_pluto_lites_rule_tests_pass() -> None:
    results = run_rule_tests(REPO / "transforms", "pluto_lite")
    assert {r.test.name: r.status for r in results} == {
        "zipcode_cleaning": "passed",
        "text_and_number_cleaning": "passed",
        "condo_flag": "passed",
        "latest_record_of_a_bbl_wins_whole": "passed",
        "one_row_per_lot_sorted_by_bbl": "passed",
        "far_rounds_half_away_from_zero": "passed",
        "building_age": "passed",
        "lots_without_zoning_are_not_split": "passed",
        "landmark_flag": "passed",
        "dob_job_counts": "passed",
        "zoning_district_ranking": "passed",
        "zoning_ties_from_a_csv_file": "passed",
    }


def test_a_tests_folder_of_yaml_is_not_taken_for_models() -> None:
    assert (REPO / "transforms" / "pluto_lite" / "tests").is_dir()
    assert sorted(load_models(REPO / "transforms", "pluto_lite")) == [
        "dob_by_lot",
        "lots",
        "pluto_lite",
        "stg_dob_jobs",
        "stg_dof_pts",
        "stg_landmarks",
        "stg_zoning_lots",
        "zoning_by_lot",
    ]


# -- passing and failing ----------------------------------------------------------------------


def test_right_rules_pass(tmp_path: Path) -> None:
    results = run_rule_tests(zips(tmp_path), "zips")
    assert [(r.test.name, r.test.model, r.status) for r in results] == [
        ("zipcode_cleaning", "stg_addresses", "passed"),
        ("counts_per_zipcode", "zip_counts", "passed"),
    ]


def test_a_wrong_rule_fails_with_the_wrong_rows_in_the_diff(tmp_path: Path) -> None:
    results = by_name(run_rule_tests(zips(tmp_path, WRONG_ZIPCODE), "zips"))
    cleaning = results["zipcode_cleaning"]
    assert cleaning.status == "failed" and cleaning.diff is not None
    assert cleaning.diff.missing == [(1, "11201")]
    assert cleaning.diff.unexpected == [(1, "011201")]
    assert cleaning.diff.lines() == [
        "expected 2 rows, the model produced 2: 1 expected not produced (-), 1 produced not "
        "expected (+)",
        "  id  zipcode",
        '- 1   "11201"',
        '+ 1   "011201"',
    ]
    counts = results["counts_per_zipcode"].diff  # computed through the wrong staging model
    assert counts is not None
    assert counts.missing == [("11201", 2)]
    assert counts.unexpected == [("011201", 1), ("11201", 1)]


def test_rows_in_another_order_fail_only_when_order_is_as_given(tmp_path: Path) -> None:
    reordered = ZIP_TESTS.replace(
        '        - {zipcode: "10004", addresses: 1}\n        - {zipcode: "11201", addresses: 2}',
        '        - {zipcode: "11201", addresses: 2}\n        - {zipcode: "10004", addresses: 1}',
    )
    result = by_name(run_rule_tests(zips(tmp_path, tests=reordered), "zips"))["counts_per_zipcode"]
    assert result.status == "failed" and result.diff is not None
    assert result.diff.lines() == [
        "the right rows in another order (order: as_given); expected:",
        "  zipcode  addresses",
        '  "11201"  2',
        '  "10004"  1',
        "produced:",
        "  zipcode  addresses",
        '  "10004"  1',
        '  "11201"  2',
    ]
    any_order = reordered.replace("order: as_given", "order: any")
    again = by_name(run_rule_tests(zips(tmp_path / "again", tests=any_order), "zips"))
    assert again["counts_per_zipcode"].status == "passed"


def test_a_failure_shows_at_most_ten_rows_of_each_kind(tmp_path: Path) -> None:
    rows = "\n".join(f'        - {{id: "{n}", zipcode: "0{10000 + n}"}}' for n in range(12))
    expected = "\n".join(f'      - {{id: {n}, zipcode: "0{10000 + n}"}}' for n in range(12))
    tests = f"""
tests:
  - name: many
    model: stg_addresses
    given:
      addresses:
{rows}
    expect:
{expected}
"""
    (result,) = run_rule_tests(zips(tmp_path, tests=tests), "zips")
    assert result.diff is not None
    assert (result.diff.missing_count, len(result.diff.missing)) == (12, 10)
    assert result.diff.lines()[-2:] == [
        "... and 2 more expected rows not produced",
        "... and 2 more unexpected rows",
    ]


def test_a_given_table_from_csv_is_text_with_empty_fields_null(tmp_path: Path) -> None:
    tests = """
tests:
  - name: from_csv
    model: stg_addresses
    given:
      addresses: {csv: addresses.csv}
    expect:
      - {id: 1, zipcode: "11201"}
      - {id: 2, zipcode: null}
      - {id: 3, zipcode: "00000"}
"""
    transforms = zips(tmp_path, tests=tests)
    # an empty field is null, as the archive reads CSV; a quoted "" is empty text
    (transforms / "zips" / "tests" / "addresses.csv").write_text(
        'id,zipcode\n1,011201\n2,\n3,""\n', encoding="utf-8"
    )
    (result,) = run_rule_tests(transforms, "zips")
    assert result.status == "passed", result


def test_values_compare_by_the_output_columns_type(tmp_path: Path) -> None:
    tests = """
tests:
  - name: typed
    model: measures
    given:
      readings:
        types: {share: "decimal(7, 2)", day: date}
        rows:
          - {id: 1, share: "50.5", ratio: 0.5, n: 3, day: "2024-01-31", at: 2024-01-01 10:00:00,
             flag: true, note: null}
          - {id: 2, share: 7, ratio: 1.25, n: 4, day: 2024-02-01, at: 2024-01-02 00:00:00,
             flag: false, note: null}
    expect:
      - {id: 1, share: 50.50, ratio: 0.50, n: 3.0, day: 2024-01-31, at: "2024-01-01T10:00:00",
         flag: true, note: null}
      - {id: 2.0, share: 7, ratio: 1.25, n: 4, day: "2024-02-01", at: 2024-01-02,
         flag: false, note: null}
"""
    transforms = measures(tmp_path, tests)
    (result,) = run_rule_tests(transforms, "measures")
    assert result.status == "passed", result
    (test,) = load_rule_tests(transforms, "measures")
    types = {name: str(dtype) for name, dtype in given_table(test, "readings").schema().items()}
    assert types == {
        "id": "int64",
        "share": "decimal(7, 2)",
        "ratio": "float64",
        "n": "int64",
        "day": "date",
        "at": "timestamp(6)",
        "flag": "boolean",
        "note": "string",  # nulls only: text, as raw inputs are
    }
    wrong = measures(tmp_path / "wrong", tests.replace("share: 50.50", "share: 50.49"))
    (failed,) = run_rule_tests(wrong, "measures")
    assert failed.status == "failed" and failed.diff is not None
    assert [row[1] for row in failed.diff.missing] == [50.49]


def test_defaults_fill_the_columns_a_row_leaves_out(tmp_path: Path) -> None:
    tests = """
defaults:
  addresses: {id: "9", zipcode: "10004"}
tests:
  - name: defaults
    model: stg_addresses
    given:
      addresses:
        - {}
        - {id: "1"}
        - {zipcode: "011201"}
    expect:
      - {id: 9, zipcode: "10004"}
      - {id: 1, zipcode: "10004"}
      - {id: 9, zipcode: "11201"}
"""
    (result,) = run_rule_tests(zips(tmp_path, tests=tests), "zips")
    assert result.status == "passed", result


def test_select_runs_a_test_or_a_models_tests(tmp_path: Path) -> None:
    transforms = zips(tmp_path)
    assert [r.test.name for r in run_rule_tests(transforms, "zips", "counts_per_zipcode")] == [
        "counts_per_zipcode"
    ]
    assert [r.test.name for r in run_rule_tests(transforms, "zips", "stg_addresses")] == [
        "zipcode_cleaning"
    ]
    with pytest.raises(NotFoundError, match=r"No rule test or model named 'nope' among zips"):
        run_rule_tests(transforms, "zips", "nope")


def test_geometry_is_given_and_compared_as_wkt(tmp_path: Path) -> None:
    tests = """
tests:
  - name: centroid
    model: centroids
    given:
      shapes:
        types: {geom: geometry}
        rows: [{id: 1, geom: "POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"}]
    expect:
      - {id: 1, centre: "POINT(1 1.5)", area: 4}
"""
    centroids = (
        "from lakehouse.transform import model\n\n\n@model(layer='product')\ndef centroids(shapes):"
        "\n    return shapes.select('id', centre=shapes.geom.centroid(), area=shapes.geom.area())\n"
    )
    transforms = write_product(
        tmp_path / "transforms", "geo", {"geo/models.py": centroids, "geo/tests/geo.yml": tests}
    )
    (result,) = run_rule_tests(transforms, "geo")
    assert result.diff is not None
    assert result.diff.lines()[1:] == [
        "  id  centre          area",
        '- 1   "POINT(1 1.5)"  4',
        "+ 1   POINT (1 1)     4.0",
    ]
    (transforms / "geo" / "tests" / "geo.yml").write_text(tests.replace("1 1.5", "1 1"))
    assert run_rule_tests(transforms, "geo")[0].status == "passed"


def test_a_product_without_tests_has_no_results() -> None:
    assert run_rule_tests(REPO / "transforms", "mappluto_lite") == []


# -- errors: one sentence naming the file and the test ----------------------------------------

FILE = "transforms/zips/tests/zips.yml"
GIVEN = '      addresses:\n        - {id: "1", zipcode: "011201"}'
EXPECT = '      - {id: 1, zipcode: "11201"}'


def one_test(given: str, expect: str = EXPECT, model: str = "stg_addresses") -> str:
    """A file of one test, `broken`, with the given and expect blocks as written."""
    return (
        f"tests:\n  - name: broken\n    model: {model}\n    given:\n{given}\n"
        f"    expect:\n{expect}\n"
    )


def test_an_unknown_model_is_an_error_naming_file_test_and_field(tmp_path: Path) -> None:
    tests = one_test(GIVEN, model="stg_adr")
    message = only_error(run_rule_tests(zips(tmp_path, tests=tests), "zips"))
    assert message == (
        f"{FILE}: test 'broken': field 'model': 'stg_adr' is not a model of zips (its models: "
        "stg_addresses, zip_counts); fix the name."
    )


def test_a_missing_input_is_an_error_naming_it(tmp_path: Path) -> None:
    given = '      stg_adresses:\n        - {id: 1, zipcode: "11201"}'  # misspelt: not the model
    tests = one_test(given, expect='      - {zipcode: "11201", addresses: 1}', model="zip_counts")
    message = only_error(run_rule_tests(zips(tmp_path, tests=tests), "zips"))
    assert message == (
        f"{FILE}: test 'broken': model 'stg_addresses' reads 'addresses', which is neither "
        "given nor a model; add 'addresses' under given:."
    )


def test_a_given_table_nothing_reads_is_an_error(tmp_path: Path) -> None:
    given = GIVEN + "\n      adresses: []"
    message = only_error(run_rule_tests(zips(tmp_path, tests=one_test(given)), "zips"))
    assert message == (
        f"{FILE}: test 'broken': field 'given': adresses is read by neither 'stg_addresses' "
        "nor the models it needs; remove it or check the name."
    )


def test_a_misspelt_field_is_refused_when_loading(tmp_path: Path) -> None:
    tests = one_test(GIVEN).replace("    expect:", "    expected:")
    with pytest.raises(ConfigError) as caught:
        load_rule_tests(zips(tmp_path, tests=tests), "zips")
    assert str(caught.value) == (
        f"{FILE}: test 'broken': field 'expect': Field required; unknown field 'expected' "
        "(check the spelling)."
    )


def test_bad_types_and_row_shapes_are_refused_when_loading(tmp_path: Path) -> None:
    typed = '      addresses:\n        types: {id: intt}\n        rows: [{id: "1"}]'
    with pytest.raises(ConfigError, match=r"zips.yml: test 'broken': field 'given.addresses.types'"
                       r": id: 'intt' is not an ibis type"):  # fmt: skip
        load_rule_tests(zips(tmp_path, tests=one_test(typed)), "zips")
    ragged = '      - {id: 1, zipcode: "11201"}\n      - {id: 2}'
    with pytest.raises(ConfigError, match=r"field 'expect': row 2 lists id but row 1 "
                       r"lists id, zipcode; list the same columns in every row"):  # fmt: skip
        load_rule_tests(zips(tmp_path / "2", tests=one_test(GIVEN, ragged)), "zips")
    missing_csv = "      addresses: {csv: nowhere.csv}"
    with pytest.raises(ConfigError, match=r"field 'given.addresses.csv': there is no file "):
        load_rule_tests(zips(tmp_path / "3", tests=one_test(missing_csv)), "zips")


def test_a_test_name_used_twice_is_refused(tmp_path: Path) -> None:
    transforms = zips(tmp_path)
    (transforms / "zips" / "tests" / "more.yml").write_text(ZIP_TESTS, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rule_tests(transforms, "zips")
    assert str(caught.value) == (
        f"{FILE}: the test name 'zipcode_cleaning' is used before, in "
        "transforms/zips/tests/more.yml; rename one."
    )


def test_an_expected_column_the_model_lacks_is_an_error(tmp_path: Path) -> None:
    expect = '      - {id: 1, zip: "11201"}'
    message = only_error(run_rule_tests(zips(tmp_path, tests=one_test(GIVEN, expect)), "zips"))
    assert message == (
        f"{FILE}: test 'broken': expect lists 'zip', which model 'stg_addresses' does not "
        "return (its columns: id, zipcode); fix the column name."
    )


def test_an_unquoted_number_for_a_text_column_is_an_error_not_a_mismatch(tmp_path: Path) -> None:
    expect = "      - {id: 1, zipcode: 11201}"
    message = only_error(run_rule_tests(zips(tmp_path, tests=one_test(GIVEN, expect)), "zips"))
    assert message == (
        f"{FILE}: test 'broken': expect row 1, column 'zipcode': 11201 is not text (quote it), "
        "as the model's column is; fix it."
    )


def test_a_given_column_mixing_text_and_numbers_is_an_error(tmp_path: Path) -> None:
    given = (
        '      addresses:\n        - {id: "1", zipcode: "011201"}\n        - {id: 2, zipcode: "1"}'
    )
    message = only_error(run_rule_tests(zips(tmp_path, tests=one_test(given)), "zips"))
    assert message == (
        f"{FILE}: test 'broken': column 'id' of given 'addresses' mixes integer and text "
        "values; quote them all (raw inputs are text) or give the column's type under types:."
    )


def test_a_model_that_raises_is_an_error_naming_it(tmp_path: Path) -> None:
    tests = """
tests:
  - name: broken_model
    model: broken
    given:
      readings: [{id: 1}]
    expect: []
"""
    message = only_error(run_rule_tests(measures(tmp_path, tests), "measures"))
    assert message.startswith(
        "transforms/measures/tests/measures.yml: test 'broken_model': model 'broken' "
        "(models.py:10) raised AttributeError: "
    )
    assert "no_such_column" in message
    assert message.endswith("; fix the transform or the test's given tables.")


def test_an_engine_failure_is_an_error(tmp_path: Path) -> None:
    given = '      addresses:\n        - {id: "one", zipcode: "011201"}'  # id is cast to int64
    message = only_error(run_rule_tests(zips(tmp_path, tests=one_test(given)), "zips"))
    assert message.startswith(
        f"{FILE}: test 'broken': the engine failed running 'stg_addresses' or a model it reads: "
    )
    assert "one" in message


# -- the command ------------------------------------------------------------------------------


def cli_project(tmp_path: Path, zipcode: str = RIGHT_ZIPCODE) -> Path:
    """A project with the zips product (its recipe, transforms and tests)."""
    folder = tmp_path / "project"
    init_project(folder)
    zips(folder, zipcode)
    (folder / "recipes").mkdir()
    (folder / "recipes" / "zips.yml").write_text(
        "name: zips\nowner: me\ninputs: {addresses: latest}\noutputs: [zip_counts]\n"
    )
    (folder / "recipes" / "other.yml").write_text(
        "name: other\nowner: me\ninputs: {addresses: latest}\noutputs: [x]\n"
    )
    return folder / "lakehouse.toml"


def test_lake_test_passes_on_the_repos_pluto_lite() -> None:
    result = runner.invoke(app, ["--config", str(REPO / "lakehouse.toml"), "test", "pluto_lite"])
    assert result.exit_code == 0, result.output
    assert "pluto_lite: 12 rule tests" in result.output
    assert "✓ far_rounds_half_away_from_zero" in result.output
    assert "12 rule tests: 12 passed, 0 failed, 0 in error" in result.output


def test_lake_test_exits_1_with_the_diff_when_a_rule_is_wrong(tmp_path: Path) -> None:
    config = str(cli_project(tmp_path, WRONG_ZIPCODE))
    result = runner.invoke(app, ["--config", config, "test"])  # every product with tests
    assert result.exit_code == 1, result.output
    assert "zips: 2 rule tests" in result.output
    assert "✗ zipcode_cleaning" in result.output
    assert '      - 1   "11201"\n      + 1   "011201"\n' in result.output
    assert "2 rule tests: 0 passed, 2 failed, 0 in error" in result.output
    passing = runner.invoke(app, ["--config", str(cli_project(tmp_path / "right")), "test"])
    assert passing.exit_code == 0, passing.output
    assert "2 rule tests: 2 passed, 0 failed, 0 in error" in passing.output


def test_lake_test_exits_1_on_an_error_and_names_it(tmp_path: Path) -> None:
    config = cli_project(tmp_path)
    tests = config.parent / "transforms" / "zips" / "tests" / "zips.yml"
    tests.write_text(one_test(GIVEN, model="stg_adr"), encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "test", "zips"])
    assert result.exit_code == 1
    assert "✗ broken" in result.output and "field 'model': 'stg_adr'" in result.output
    assert "1 rule test: 0 passed, 0 failed, 1 in error" in result.output


def test_lake_test_select_and_the_product_without_tests(tmp_path: Path) -> None:
    config = str(cli_project(tmp_path))
    selected = runner.invoke(app, ["--config", config, "test", "zips", "-s", "zip_counts"])
    assert selected.exit_code == 0, selected.output
    assert "counts_per_zipcode" in selected.output and "zipcode_cleaning" not in selected.output
    unknown = runner.invoke(app, ["--config", config, "test", "--select", "nope"])
    assert unknown.exit_code == 1
    assert "No rule test or model named 'nope' in the tests of zips" in unknown.output
    none = runner.invoke(app, ["--config", config, "test", "other"])
    assert none.exit_code == 0
    assert "no rule tests for other: write transforms/other/tests/*.yml" in none.output
    typo = runner.invoke(app, ["--config", config, "test", "zipz"])
    assert typo.exit_code == 1 and "did you mean 'zips'?" in typo.output


def test_lake_test_help_explains_the_file_format() -> None:
    result = runner.invoke(app, ["test", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for words in ("transforms/<product>/tests/*.yml", "given:", "expect:", "as_given", "csv"):
        assert words in result.output
