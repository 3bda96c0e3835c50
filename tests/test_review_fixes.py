"""Edge cases found in review: each once crashed, leaked, or lost something."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from lakehouse.config import init_project, load_config
from lakehouse.errors import (
    ConfigError,
    FormatError,
    IntegrityError,
    InvalidNameError,
    NotFoundError,
)
from lakehouse.project import Lakehouse
from lakehouse.sources.http import file_name_from_url, redact_url
from lakehouse.store.storage import Store
from tests.conftest import write_template


def test_a_damaged_manifest_is_reported_by_verify_not_a_crash(
    lake: Lakehouse, csv_file: Path
) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    path = Path(lake.store.root) / "raw" / "lots" / manifest.version / "manifest.json"
    path.write_text('{"broken":')
    report = lake.verify()
    assert [(p.version, p.reason) for p in report.corrupt] == [
        (manifest.version, "manifest is unreadable")
    ]
    with pytest.raises(IntegrityError, match="unreadable or damaged"):
        lake.versions("lots")


def test_verify_of_an_unknown_dataset_says_so(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match="not in the archive"):
        lake.verify(["nope"])


def test_a_failed_commit_leaves_the_delta_table_at_the_last_committed_version(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable

    path = tmp_path / "d.csv"
    write_template(
        project_dir,
        "d",
        f"name: d\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\nstorage: delta\n",
    )
    path.write_text("a\n1\n")
    lake.ingest("d", version="v1")

    def disk_full(self: Store, rel: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "create_exclusive", disk_full)
    path.write_text("a\nUNCOMMITTED\n")
    with pytest.raises(OSError, match="No space left"):
        lake.ingest("d", version="v2")
    monkeypatch.undo()
    table = DeltaTable(str(Path(lake.store.root) / "raw" / "d" / "_delta"))
    assert table.to_pyarrow_table().to_pydict() == {"a": ["1"]}
    assert [m.version for m in lake.versions("d")] == ["v1"]
    assert lake.verify().ok
    path.write_text("a\n2\n")
    lake.ingest("d", version="v2")
    assert lake.read("d", "v2").to_pydict() == {"a": ["2"]}
    assert lake.read("d", "v1").to_pydict() == {"a": ["1"]}


def test_delta_geo_keeps_its_crs_in_the_manifest(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "p.geojson"
    gpd.GeoDataFrame({"n": [1]}, geometry=[Point(1, 2)], crs="EPSG:4326").to_file(path)
    write_template(
        project_dir,
        "p",
        f"name: p\nsource: {{type: file, path: {path}}}\n"
        "format: {type: geojson}\nstorage: delta\n",
    )
    manifest = lake.ingest("p").manifest
    assert (manifest.geometry_column, manifest.geometry_crs) == ("geom", "EPSG:4326")
    assert ("geom", "GEOMETRY") in [(c.name, c.type) for c in manifest.columns]


def test_a_geojson_attribute_named_geom_keeps_its_name(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "g.geojson"
    gpd.GeoDataFrame({"geom": ["attribute"]}, geometry=[Point(1, 2)], crs="EPSG:4326").to_file(path)
    manifest = lake.ingest("g", file=path).manifest
    assert manifest.geometry_column == "geometry"
    assert lake.read("g").column("geom").to_pylist() == ["attribute"]


def test_secrets_in_query_strings_are_masked() -> None:
    url = "http://u:pw@h:81/a.csv?$$app_token=SECRET&access_token=T&limit=5&X-Amz-Signature=abc"
    shown = redact_url(url)
    assert "SECRET" not in shown and "pw" not in shown and "abc" not in shown
    assert "limit=5" in shown and shown.startswith("http://h:81/a.csv?")


@pytest.mark.parametrize(
    "url", ["http://h/a/.", "http://h/a/..", "http://h/", "http://h/x%2F..%2Fy"]
)
def test_odd_url_paths_never_name_a_file_outside_the_landing_folder(url: str) -> None:
    assert file_name_from_url(url, "download") == "download"


def test_json_without_records_is_a_clear_error(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    for content in ("[]", "[{}]"):
        path.write_text(content)
        with pytest.raises(FormatError, match="holds no records"):
            lake.ingest("e", file=path)


def test_utf16_without_bom_and_cr_only_lines_are_clear_errors(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\r1,2\r")
    write_template(
        project_dir, "u", f"name: u\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\n"
    )
    with pytest.raises(FormatError):
        lake.ingest("u")
    path.write_bytes(b"\xff")
    write_template(
        project_dir,
        "u",
        f"name: u\nsource: {{type: file, path: {path}}}\nformat: {{type: csv, encoding: utf-16}}\n",
    )
    with pytest.raises(FormatError, match="not valid utf-16"):
        lake.ingest("u")


def test_a_quoted_empty_string_is_kept_apart_from_an_empty_field(
    lake: Lakehouse, tmp_path: Path
) -> None:
    path = tmp_path / "q.csv"
    path.write_text('a,b\n"",\n')
    lake.ingest("q", file=path)
    assert lake.read("q").to_pydict() == {"a": [""], "b": [None]}


def test_a_bare_shp_is_refused_with_advice_to_zip(lake: Lakehouse, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zip a Shapefile"):
        lake.ingest("s", file=tmp_path / "s.shp")


def test_s3_source_must_name_one_object(project_dir: Path) -> None:
    from lakehouse.archive.template import load_template

    path = write_template(
        project_dir,
        "s",
        "name: s\nsource: {type: s3, url: 's3://bucket/folder/'}\nformat: {type: csv}\n",
    )
    with pytest.raises(ConfigError, match="must name one object"):
        load_template(path)


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


def test_a_home_relative_template_path_is_expanded(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "h.csv").write_text("a\n1\n")
    write_template(
        project_dir, "h", "name: h\nsource: {type: file, path: '~/h.csv'}\nformat: {type: csv}\n"
    )
    assert lake.ingest("h").manifest.source.location == str(tmp_path / "h.csv")


def test_init_with_a_quote_in_the_root_writes_valid_toml(tmp_path: Path) -> None:
    config_path, created = init_project(tmp_path / "p", root="st'o\"re")
    assert created
    assert load_config(config_path).store.root == "st'o\"re"


def test_s3_keys_in_the_config_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lakehouse.toml"
    path.write_text('[store]\nroot = "s3://b/p"\n[store.s3]\nsecret_access_key = "x"\n')
    with pytest.raises(ConfigError, match=r"must not be written in lakehouse\.toml"):
        load_config(path)


def test_latest_in_any_case_is_not_a_version_name(lake: Lakehouse, csv_file: Path) -> None:
    with pytest.raises(InvalidNameError):
        lake.ingest("lots", file=csv_file, version="LATEST")


def test_a_source_updated_twice_the_same_day_gets_a_suffix(
    lake: Lakehouse, project_dir: Path
) -> None:
    from tests import servers as srv

    with srv.SocrataServer() as portal:
        portal.add_sample_dataset("abcd-1234", n=20, seed=1)
        write_template(
            project_dir,
            "lic",
            f"name: lic\nsource: {{type: socrata, domain: '{portal.base_url}', "
            "dataset_id: abcd-1234, backoff_seconds: 0}\n",
        )
        first = lake.ingest("lic").version
        portal.set_rows("abcd-1234", srv.sample_socrata_rows(5, seed=2))
        second = lake.ingest("lic").version
    assert (first, second) == ("20240412", "20240412-2")


def test_the_unchanged_result_tells_when_the_template_changed(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    text = f"name: lots\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n"
    write_template(project_dir, "lots", text)
    lake.ingest("lots")
    assert lake.ingest("lots").template_changed is False
    write_template(project_dir, "lots", text + "steps: [clean_column_names]\n")
    again = lake.ingest("lots")
    assert (again.status, again.template_changed) == ("unchanged", True)


def test_stray_folders_in_raw_are_not_datasets(lake: Lakehouse, csv_file: Path) -> None:
    lake.ingest("lots", file=csv_file)
    (Path(lake.store.root) / "raw" / "Bad Name").mkdir()
    assert lake.datasets() == ["lots"]
    assert lake.verify().ok


def test_manifest_is_plain_json(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    recorded = json.loads(manifest.to_json())
    assert recorded["source_sha256"] == manifest.source_sha256


def test_a_local_file_changing_while_archived_is_refused(tmp_path: Path) -> None:
    import os

    from lakehouse.archive.archive import _checksum_originals
    from lakehouse.errors import SourceError
    from lakehouse.progress import no_progress

    path = tmp_path / "growing.csv"
    path.write_text("a\n1\n")
    (original,) = _checksum_originals([path], tmp_path / "scratch", no_progress)
    original.check_unchanged()
    path.write_text("a\n1\n2\n")
    os.utime(path, ns=(original.mtime_ns + 1_000_000, original.mtime_ns + 1_000_000))
    with pytest.raises(SourceError, match="changed while it was being archived"):
        original.check_unchanged()


def test_very_long_lines_need_max_line_bytes(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wkt.csv"
    polygon = "POLYGON((" + ", ".join(f"{i} {i}" for i in range(300_000)) + "))"
    path.write_text(f'name,wkt\nbig,"{polygon}"\n')
    text = f"name: wkt\nsource: {{type: file, path: {path}}}\nformat: {{type: csv"
    write_template(project_dir, "wkt", text + "}\n")
    with pytest.raises(FormatError, match=r"raise format\.max_line_bytes"):
        lake.ingest("wkt")
    write_template(project_dir, "wkt", text + ", max_line_bytes: 10000000}\n")
    lake.ingest("wkt")
    assert lake.read("wkt").column("wkt").to_pylist() == [polygon]
    assert lake.versions("wkt")[0].row_count == 1
