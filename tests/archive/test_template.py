import json
from pathlib import Path

import pytest

from lakehouse.archive.template import (
    FilterRows,
    IngestTemplate,
    RenameColumns,
    load_template,
    template_for_local_file,
)
from lakehouse.errors import (
    ConfigError,
)
from lakehouse.formats.csv import CsvFormat
from tests.conftest import write_template

GOOD = """
name: lots
description: tax lots
source: {type: http, url: "https://example.org/lots.csv", timeout_seconds: 5}
format: {type: csv, delimiter: ";"}
version: 25v1
steps:
  - clean_column_names
  - rename_columns: {owner_name: owner}
  - filter_rows: {column: boro, one_of: ["1", "2"]}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    return path


def test_a_valid_template_loads_with_its_steps(tmp_path: Path) -> None:
    template = load_template(_write(tmp_path, "lots", GOOD))
    assert template.source.type == "http"
    assert template.format == CsvFormat(type="csv", delimiter=";")
    assert template.version == "25v1"
    assert isinstance(template.steps[1], RenameColumns)
    assert template.steps[1].columns == {"owner_name": "owner"}
    assert isinstance(template.steps[2], FilterRows)
    assert template.steps[2].one_of == ["1", "2"]


def test_a_typo_in_a_key_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "lots", GOOD.replace("timeout_seconds", "timout_seconds"))
    with pytest.raises(ConfigError) as error:
        load_template(path)
    message = str(error.value)
    assert str(path) in message
    assert "source.timout_seconds" in message
    assert "unknown field" in message


def test_a_typo_in_a_top_level_key_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown field 'steeps'"):
        load_template(_write(tmp_path, "lots", GOOD.replace("steps:", "steeps:")))


def test_an_unknown_step_lists_the_allowed_ones(tmp_path: Path) -> None:
    text = GOOD.replace("clean_column_names", "clean_colum_names")
    with pytest.raises(
        ConfigError, match="unknown step 'clean_colum_names'; allowed: clean_column"
    ):
        load_template(_write(tmp_path, "lots", text))


def test_an_unknown_source_type_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "lots", GOOD.replace("type: http", "type: ftp"))
    with pytest.raises(ConfigError) as error:
        load_template(path)
    assert str(error.value) == (
        f"{path}: field 'source': Unknown source type 'ftp'; "
        "use one of: file, http, socrata, arcgis, s3."
    )


def test_an_unknown_format_or_a_missing_type_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "lots", GOOD.replace("type: csv", "type: xml"))
    with pytest.raises(ConfigError) as error:
        load_template(path)
    assert str(error.value) == (
        f"{path}: field 'format': Unknown format 'xml'; "
        "use one of: csv, excel, json, geojson, shapefile, filegdb, parquet."
    )
    path = _write(tmp_path, "lots", GOOD.replace("type: http, ", ""))
    with pytest.raises(ConfigError, match=r"field 'source': needs a type \(one of: file, http"):
        load_template(path)
    with pytest.raises(ConfigError, match="field 'format': must be a mapping with a type"):
        load_template(_write(tmp_path, "lots", GOOD.replace('{type: csv, delimiter: ";"}', "csv")))


def test_a_dump_keeps_every_field_of_the_source_and_format(tmp_path: Path) -> None:
    template = load_template(_write(tmp_path, "lots", GOOD))
    dumped = template.model_dump(mode="json")
    # in the order they always had: the hash of this dump is recorded with every version
    assert json.dumps(dumped["source"], separators=(",", ":")) == (
        '{"timeout_seconds":5.0,"retries":3,"backoff_seconds":1.0,'
        '"type":"http","url":"https://example.org/lots.csv"}'
    )
    assert dumped["format"] == {
        "type": "csv", "delimiter": ";", "encoding": "utf-8", "max_line_bytes": 2_097_152
    }  # fmt: skip
    for source, fmt in [(dumped["source"], dumped["format"]), (template.source, template.format)]:
        again = IngestTemplate.model_validate({"name": "lots", "source": source, "format": fmt})
        assert (again.source, again.format) == (template.source, template.format)


def test_a_filter_needs_exactly_one_condition(tmp_path: Path) -> None:
    text = GOOD.replace('one_of: ["1", "2"]', 'one_of: ["1"], equals: "2"')
    with pytest.raises(ConfigError, match="exactly one of"):
        load_template(_write(tmp_path, "lots", text))


def test_the_name_must_match_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="make them match"):
        load_template(_write(tmp_path, "other", GOOD))


def test_path_tricks_in_names_and_versions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name"):
        load_template(_write(tmp_path, "lots", GOOD.replace("name: lots", "name: ../lots")))
    with pytest.raises(ConfigError, match="version"):
        load_template(_write(tmp_path, "lots", GOOD.replace("25v1", "../../x")))


def test_invalid_yaml_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_template(_write(tmp_path, "lots", "name: [unclosed"))


def test_a_local_file_without_template_gets_its_format_from_the_suffix(tmp_path: Path) -> None:
    assert template_for_local_file("x", tmp_path / "a.xlsx").format.type == "excel"
    assert template_for_local_file("x", tmp_path / "a.zip").format.type == "shapefile"
    assert template_for_local_file("x", tmp_path / "A.CSV").format == CsvFormat(type="csv")
    with pytest.raises(ConfigError, match="Cannot tell the format"):
        template_for_local_file("x", tmp_path / "a.dat")


def test_a_numeric_filter_value_is_taken_as_text(project_dir: Path) -> None:
    from lakehouse.archive.template import FilterRows, load_template

    path = write_template(
        project_dir,
        "f",
        "name: f\nsource: {type: file, path: x.csv}\nformat: {type: csv}\n"
        "steps:\n  - filter_rows: {column: zip, equals: 10001}\n",
    )
    step = load_template(path).steps[0]
    assert isinstance(step, FilterRows) and step.equals == "10001"


def test_socrata_and_arcgis_templates_need_no_format(project_dir: Path) -> None:
    from lakehouse.archive.template import load_template

    path = write_template(
        project_dir,
        "s",
        "name: s\nsource: {type: socrata, domain: 'https://data.example.org', "
        "dataset_id: abcd-1234}\n",
    )
    assert load_template(path).format is None
    path = write_template(project_dir, "f", "name: f\nsource: {type: file, path: x.csv}\n")
    with pytest.raises(ConfigError, match="'format' is required"):
        load_template(path)
