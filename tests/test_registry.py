"""One extension pattern (lakehouse.registry) for source types, formats and engines: members
from the entry points of a package that is not the lakehouse (the toy plugin of
tests/plugins/lakehouse_toy_plugin, made visible for one test by a generated `*.dist-info` on
`sys.path`), members registered at run time, clear errors for broken plugins, and a test
module for every built-in member."""

from __future__ import annotations

import ast
import importlib
import json
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakehouse.archive.template import load_template
from lakehouse.errors import ConfigError, NotFoundError
from lakehouse.formats import FORMATS, Format, FormatSpec, format_for_suffix, load_source
from lakehouse.formats.csv import FORMAT as CSV
from lakehouse.project import Lakehouse
from lakehouse.registry import Registry
from lakehouse.sources import SOURCE_TYPES
from lakehouse.transform.engines import ENGINES
from tests.conftest import write_template

TESTS = Path(__file__).parent
PLUGIN = TESTS / "plugins" / "lakehouse_toy_plugin"
REGISTRIES: list[Registry[Any]] = [SOURCE_TYPES, FORMATS, ENGINES]


def make_visible(site: Path, name: str, version: str, groups: dict[str, dict[str, str]]) -> Path:
    """Write the `*.dist-info` that installing the distribution would write, as far as entry
    points go (METADATA and entry_points.txt), into `site`; put `site` on sys.path to use it."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{key} = {target}\n" for key, target in entries.items())
            for group, entries in groups.items()
        )
    )
    return site


@pytest.fixture
def fresh_registries() -> Iterator[None]:
    """Entry points looked for anew in the test, and forgotten after it (with the plugin)."""
    for registry in REGISTRIES:
        registry.reload_entry_points()
    yield
    for registry in REGISTRIES:
        registry.reload_entry_points()
    for module in [m for m in sys.modules if m.split(".")[0] == "lakehouse_toy_plugin"]:
        del sys.modules[module]


@pytest.fixture
def toy_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registries: None
) -> dict[str, dict[str, str]]:
    """The toy plugin as if installed: its distribution's entry points (from its pyproject.toml)
    found, its package importable. Returns the entry points by group."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    groups: dict[str, dict[str, str]] = project["entry-points"]
    site = make_visible(tmp_path / "site", project["name"], project["version"], groups)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PLUGIN))
    return groups


# -- a plugin from outside -------------------------------------------------------------------


def test_the_plugins_entry_points_are_members_of_their_registries(
    toy_plugin: dict[str, dict[str, str]],
) -> None:
    by_group = {registry.group: registry for registry in REGISTRIES}
    assert set(toy_plugin) == {"lakehouse.source_types", "lakehouse.formats", "lakehouse.engines"}
    for group, entries in toy_plugin.items():
        registry = by_group[group]
        for name, target in entries.items():
            module, _, attribute = target.partition(":")
            assert name in registry.names()
            assert registry.get(name) is getattr(importlib.import_module(module), attribute)
    assert SOURCE_TYPES.names() == ["file", "http", "socrata", "arcgis", "s3", "toy"]
    assert "toyfmt" in FORMATS and "toyduck" in ENGINES


def test_a_template_with_the_plugins_source_type_is_archived(
    lake: Lakehouse, project_dir: Path, toy_plugin: dict[str, dict[str, str]]
) -> None:
    write_template(
        project_dir,
        "made_up",
        "name: made_up\nsource: {type: toy, count: 4, greeting: hi}\nsteps: [clean_column_names]\n",
    )  # the toy source type decides its format: no `format:` needed
    manifest = lake.ingest("made_up").manifest
    assert (manifest.source.type, manifest.source.format) == ("toy", "toyfmt")
    assert manifest.source.location == "toy:hi"
    assert manifest.version.startswith("20240102")  # the source's own version
    assert lake.read("made_up").to_pydict() == {
        "n": ["1", "2", "3", "4"],
        "greeting": ["hi 1", "hi 2", "hi 3", "hi 4"],
    }
    path = write_template(project_dir, "typo", "name: typo\nsource: {type: toy, cuont: 2}\n")
    with pytest.raises(ConfigError) as error:
        load_template(path)
    assert str(error.value) == f"{path}: unknown field 'source.cuont' (check the spelling)"


def test_a_file_in_the_plugins_format_is_archived(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, toy_plugin: dict[str, dict[str, str]]
) -> None:
    path = tmp_path / "pets.toy"
    path.write_text("name: Rex\nkind: dog\n\nname: Tom\nkind: cat\nage: 3\n")
    assert lake.ingest("pets", file=path).manifest.source.format == "toyfmt"  # by its suffix
    assert lake.read("pets").to_pydict() == {
        "name": ["Rex", "Tom"],
        "kind": ["dog", "cat"],
        "age": [None, "3"],
    }
    other = tmp_path / "other.txt"
    other.write_text("name = Ada\n")
    write_template(
        project_dir,
        "other",
        f"name: other\nsource: {{type: file, path: {other}}}\n"
        "format: {type: toyfmt, separator: '='}\n",
    )
    assert lake.ingest("other").manifest.row_count == 1
    assert lake.read("other").to_pydict() == {"name": ["Ada"]}


def test_a_product_builds_on_the_plugins_engine(
    tmp_path: Path, toy_plugin: dict[str, dict[str, str]]
) -> None:
    from tests.projects import make_project

    lake = make_project(tmp_path / "p", lots=200)
    result = lake.build("pluto_lite", engine="toyduck")
    assert result.contracts.passed
    build = json.loads((Path(lake.store.root) / result.folder / "build.json").read_text())
    assert build["engine"] == "toyduck"


def test_a_broken_plugin_breaks_only_its_own_names(
    lake: Lakehouse,
    project_dir: Path,
    csv_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_registries: None,
) -> None:
    groups = {
        "lakehouse.source_types": {"broken": "lakehouse_missing_plugin:SOURCE"},
        "lakehouse.formats": {"misnamed": "lakehouse.formats.csv:FORMAT"},
    }
    monkeypatch.syspath_prepend(str(make_visible(tmp_path / "site", "broken", "1.0", groups)))
    path = write_template(
        project_dir, "b", "name: b\nsource: {type: broken}\nformat: {type: csv}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_template(path)
    assert str(error.value) == (
        f"{path}: field 'source': The source type 'broken' (entry point "
        "lakehouse.source_types: lakehouse_missing_plugin:SOURCE) cannot be loaded "
        "(ModuleNotFoundError: No module named 'lakehouse_missing_plugin'); reinstall the "
        "package that provides it."
    )
    with pytest.raises(ConfigError, match="calls itself 'csv', not 'misnamed'; make the names"):
        FORMATS.get("misnamed")
    # every other name works, and the broken ones are listed (listing imports nothing)
    assert lake.ingest("lots", file=csv_file).manifest.row_count == 3
    with pytest.raises(ConfigError, match=r"use one of: file, http, socrata, arcgis, s3, broken\."):
        SOURCE_TYPES.get("ftp")


# -- the registry itself ---------------------------------------------------------------------


@dataclass(frozen=True)
class Widget:
    name: str


def test_members_registered_at_run_time(fresh_registries: None) -> None:
    widgets = Registry[Widget]("widget thing", {}, unknown_error=NotFoundError)
    assert widgets.group == "lakehouse.widget_things"
    with pytest.raises(NotFoundError, match=r"Unknown widget thing 'a'; use one of: \."):
        widgets.get("a")
    first = widgets.register(Widget("a"))
    assert widgets.get("a") is first and list(widgets) == [first] and "a" in widgets
    widgets.register(first)  # the same member again is fine; another of its name is not
    with pytest.raises(ConfigError, match="Two widget things are named 'a'"):
        widgets.register(Widget("a"))
    widgets.unregister("a")
    assert widgets.names() == []


def test_built_ins_load_on_first_use_and_must_be_named_alike() -> None:
    formats = Registry[Any]("format", {"csv": "lakehouse.formats.csv:FORMAT"})
    assert formats.builtin_names() == ["csv"] and formats.get("csv") is CSV
    wrong = Registry[Any]("format", {"tsv": "lakehouse.formats.csv:FORMAT"})
    with pytest.raises(ConfigError, match="calls itself 'csv', not 'tsv'"):
        wrong.get("tsv")
    missing = Registry[Any]("format", {"xml": "lakehouse.formats.xml:FORMAT"})
    with pytest.raises(ConfigError, match=r"The format 'xml' \(built-in: lakehouse.formats.xml"):
        missing.get("xml")


def test_load_source_goes_by_the_registry(tmp_path: Path) -> None:
    class Lines(FormatSpec):
        type: str = "lines"

    def load(con: Any, files: list[Path], spec: Lines) -> None:
        con.execute("CREATE VIEW source_data AS SELECT 'one line' AS line")

    member = FORMATS.register(Format(name="lines", spec=Lines, load=load, suffixes=(".ln",)))
    path = tmp_path / "x.ln"
    path.write_text("one line\n")
    try:
        assert format_for_suffix(".LN") == Lines(type="lines")
        with duckdb.connect() as con:
            load_source(con, [path], Lines())
            assert con.execute("SELECT * FROM source_data").fetchall() == [("one line",)]
            with pytest.raises(ConfigError, match="Unknown format 'xml'"):  # no fallback reader
                load_source(con, [path], FormatSpec(type="xml"))
    finally:
        FORMATS.unregister(member.name)
    assert format_for_suffix(".ln") is None


# -- every built-in member has its tests -----------------------------------------------------

TEST_FOLDERS = {
    "source type": TESTS / "sources",
    "format": TESTS / "formats",
    "engine": TESTS / "transform" / "engines",
}


@pytest.mark.parametrize(
    ("kind", "name"),
    [(registry.kind, name) for registry in REGISTRIES for name in registry.builtin_names()],
)
def test_every_built_in_member_has_its_own_test_module(kind: str, name: str) -> None:
    """Like datasette's test_plugin_hooks_have_tests: tests/<folder>/test_<name>.py exists
    and holds at least one test."""
    module = TEST_FOLDERS[kind] / f"test_{name}.py"
    assert module.is_file(), f"The {kind} {name!r} has no tests: write {module.relative_to(TESTS)}"
    tree = ast.parse(module.read_text())
    tests = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]
    assert tests, f"{module.relative_to(TESTS)} holds no test function"


@dataclass(frozen=True)
class _Holder:
    member: Any


HOLDER = _Holder(CSV)  # an entry point may name an attribute of an attribute


def test_entry_points_load_as_python_loads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registries: None
) -> None:
    # `module:object.attribute` is valid entry-point syntax; so is a name a built-in has
    groups = {"lakehouse.formats": {"csv": "tests.test_registry:HOLDER.member"}}
    monkeypatch.syspath_prepend(str(make_visible(tmp_path / "site", "twin", "1.0", groups)))
    with pytest.raises(ConfigError, match=r"Two formats are named 'csv': the built-in one and"):
        FORMATS.get("csv")
    FORMATS.reload_entry_points()
    groups = {"lakehouse.formats": {"csv2": "tests.test_registry:HOLDER.member"}}
    monkeypatch.syspath_prepend(str(make_visible(tmp_path / "site2", "dotted", "1.0", groups)))
    with pytest.raises(ConfigError, match="calls itself 'csv', not 'csv2'"):
        FORMATS.get("csv2")  # loaded through the dotted target, then checked by name


def test_a_built_in_name_cannot_be_taken_at_run_time(fresh_registries: None) -> None:
    impostor = Format(name="csv", spec=FormatSpec, load=CSV.load, suffixes=(".csv",))
    with pytest.raises(ConfigError, match="Two formats are named 'csv'"):
        FORMATS.register(impostor)
    assert FORMATS.get("csv") is CSV


def test_a_broken_format_plugin_does_not_hide_the_formats_that_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registries: None
) -> None:
    groups = {"lakehouse.formats": {"broken": "lakehouse_missing_plugin:FORMAT"}}
    monkeypatch.syspath_prepend(str(make_visible(tmp_path / "site", "broken", "1.0", groups)))
    spec = format_for_suffix(".csv")
    assert spec is not None and spec.type == "csv"
    # a suffix no working format claims: the broken plugin may have, so its error is shown
    with pytest.raises(ConfigError, match=r"The format 'broken' .* cannot be loaded"):
        format_for_suffix(".dat")
