"""A later version's source QA at ingest: its stored profile is exactly the profile of the
data archived (with the histograms its report drew, which the next version's report draws
again when its numbers fit their bins), its keys are compared by the contract's unique key; a
contract that fails archives nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from lakehouse.archive.source_qa import (
    drift_histograms,
    key_proven_unique,
    parquet_source,
    version_profile,
)
from lakehouse.archive.template import IngestTemplate
from lakehouse.contracts.raw import check_raw
from lakehouse.errors import ContractFailed
from lakehouse.project import Lakehouse
from lakehouse.qa.drift import Thresholds, compare
from lakehouse.qa.profile import ColumnProfile, Histogram, TableProfile, profile_table
from lakehouse.qa.records import DriftRecord
from tests.conftest import write_template

TEMPLATE = """name: lots
source: {{type: file, path: {path}}}
format: {{type: csv}}
contract:
  unique: [bbl]
  parse:
    bbl: {{as: integer, required: true}}
    units: {{as: integer}}
"""
FIRST = "bbl,units,owner\n1000010001,3,SMITH\n1000010002,,ACME\n1000010003,12,N/A\n"
SECOND = "bbl,units,owner\n1000010001,4,SMITH\n1000010003,12,N/A\n1000010004,7,  LEE \n"


def ingest(lake: Lakehouse, project_dir: Path, path: Path, text: str):  # type: ignore[no-untyped-def]
    path.write_text(text)
    write_template(project_dir, "lots", TEMPLATE.format(path=path))
    return lake.ingest("lots")


def test_a_later_versions_profile_is_its_archived_datas(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    ingest(lake, project_dir, tmp_path / "lots.csv", FIRST)
    second = ingest(lake, project_dir, tmp_path / "lots.csv", SECOND).manifest
    assert second.contract is not None and second.contract.summary == "5/5 checks passed"
    stored = version_profile(lake.store, second)  # written at ingest
    with duckdb.connect() as con:
        lake.store.register_in_duckdb(con)
        computed = profile_table(con, parquet_source(lake.store, second))
    drawn = stored.columns["units"].histogram  # the report's new side, kept for the next version
    stored.columns["units"].histogram = None
    assert stored.to_dict() == computed.to_dict()
    assert stored.columns["units"].mean == pytest.approx(23 / 3)
    # units 4, 12, 7 over both versions' range, 3 to 12, in 20 bins of 0.45
    assert drawn is not None and (drawn.low, drawn.high) == (3.0, 12.0)
    assert {place: n for place, n in enumerate(drawn.counts) if n} == {2: 1, 8: 1, 19: 1}
    drift = DriftRecord.from_json(lake.store.read_bytes(f"{second.run_folder}/qa/drift.json"), "")
    assert drift.keys is not None  # the contract's unique key, compared at ingest
    assert (drift.keys.kept, drift.keys.added, drift.keys.removed) == (2, 1, 1)
    assert drift.keys.added_sample == [{"bbl": "1000010004"}]
    assert drift.keys.removed_sample == [{"bbl": "1000010002"}]


def test_a_later_version_failing_its_contract_is_not_archived(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    ingest(lake, project_dir, tmp_path / "lots.csv", FIRST)
    repeated = SECOND + "1000010004,8,LEE\n"
    with pytest.raises(ContractFailed, match=r"bbl: unique: 1 row"):
        ingest(lake, project_dir, tmp_path / "lots.csv", repeated)
    assert len(lake.versions("lots")) == 1


def _units(values: list[float], histogram: Histogram | None = None) -> TableProfile:
    """The profile of a table of one text column of numbers, `units`, holding `values`."""
    column = ColumnProfile("units", "VARCHAR", len(values), len(set(values)), True,
                           min(values), max(values), sum(values) / len(values), 1, 2,
                           histogram=histogram)  # fmt: skip
    return TableProfile(len(values), {"units": column})


def _places(counts: list[int]) -> dict[int, int]:
    return {place: n for place, n in enumerate(counts) if n}


def _units_table(con: duckdb.DuckDBPyConnection, name: str, values: list[float]) -> None:
    rows = ", ".join(f"('{v:g}')" for v in values)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM (VALUES {rows}) AS t(units)")


def test_the_report_draws_the_version_befores_histogram_without_reading_it() -> None:
    """The version before drew 2, 5 and 10 over bins 0 to 10 (20 of 0.5); the new numbers, 4,
    6 and 9, lie within: the new version alone is counted over those bins (the old one's
    relation does not even exist here), and its profile keeps its side."""
    old_bins = Histogram(0.0, 10.0, [1 if place in (4, 10, 19) else 0 for place in range(20)])
    old, new = _units([2, 5, 10], old_bins), _units([4, 6, 9])
    drift = compare("lots", "v1", "v2", old, new, Thresholds())
    con = duckdb.connect()
    _units_table(con, "new", [4, 6, 9])
    found = drift_histograms(con, "no_such_relation", "new", drift)
    low, high, old_counts, new_counts = found["units"]
    assert (low, high) == (0.0, 10.0)
    assert old_counts == old_bins.counts
    assert _places(new_counts) == {8: 1, 12: 1, 18: 1}
    kept = new.columns["units"].histogram
    assert kept is not None and (kept.low, kept.high, kept.counts) == (0.0, 10.0, new_counts)


def test_numbers_outside_the_stored_bins_or_much_narrower_get_bins_fitted_to_both() -> None:
    """New numbers beyond the stored bins (12 > 10), or both versions' numbers spanning less
    than half of them (2 to 10 of 0 to 100): both versions are counted again, over bins from
    the lowest to the highest number of either."""
    con = duckdb.connect()
    _units_table(con, "old", [2, 5, 10])
    for new_values, stored, bounds, old_places, new_places in (
        ([4, 6, 12], (0.0, 10.0), (2.0, 12.0), {0: 1, 6: 1, 16: 1}, {4: 1, 8: 1, 19: 1}),
        ([4, 5, 6], (0.0, 100.0), (2.0, 10.0), {0: 1, 7: 1, 19: 1}, {5: 1, 7: 1, 10: 1}),
    ):
        _units_table(con, "new", new_values)
        old = _units([2, 5, 10], Histogram(*stored, [0] * 20))
        new = _units(new_values)
        found = drift_histograms(con, "old", "new", compare("lots", "v1", "v2", old, new,
                                                            Thresholds()))  # fmt: skip
        low, high, old_counts, new_counts = found["units"]
        assert (low, high) == bounds
        assert (_places(old_counts), _places(new_counts)) == (old_places, new_places)
        con.execute("DROP TABLE new")


def test_a_third_version_within_the_seconds_bins_is_drawn_over_them(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    """Ingested: the second version's report fits bins to 3..12 (both versions' units) and
    keeps its side; the third's units (5, 8, 11) lie within, so its report draws over the same
    bins, the second version's counts as stored."""
    ingest(lake, project_dir, tmp_path / "lots.csv", FIRST)
    second = ingest(lake, project_dir, tmp_path / "lots.csv", SECOND).manifest
    third_text = "bbl,units,owner\n1000010001,5,SMITH\n1000010003,8,N/A\n1000010004,11,LEE\n"
    third = ingest(lake, project_dir, tmp_path / "lots.csv", third_text).manifest
    before = version_profile(lake.store, second).columns["units"].histogram
    after = version_profile(lake.store, third).columns["units"].histogram
    assert before is not None and after is not None
    assert (before.low, before.high) == (after.low, after.high) == (3.0, 12.0)
    # 5, 8 and 11 in bins of 0.45 from 3
    assert _places(after.counts) == {4: 1, 11: 1, 17: 1}


def test_the_key_is_proven_unique_only_by_a_passing_unique_rule_within_it(tmp_path: Path) -> None:
    """The raw contract's unique rule proves the QA key unique (so its comparison can be one
    full join) when it passed on columns all in the key; not when it found a repeat (a
    warning lets the version in), nor when the key lacks one of its columns."""
    data = tmp_path / "lots.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM (VALUES ('1', 'a'), ('1', 'b')) AS t(bbl, unit)) "
                f"TO '{data}' (FORMAT parquet)")  # fmt: skip

    def proven(unique: list[str], key: list[str] | None) -> bool:
        template = IngestTemplate.model_validate({
            "name": "lots", "source": {"type": "file", "path": "lots.csv"},
            "format": {"type": "csv"}, "contract": {"unique": unique, "severity": "warn"},
            **({"qa": {"key": key}} if key is not None else {}),
        })  # fmt: skip
        assert template.contract is not None
        return key_proven_unique(template, check_raw(con, data, "lots", template.contract))

    assert proven(["bbl", "unit"], None)  # the key: the contract's unique columns
    assert proven(["bbl", "unit"], ["unit", "bbl"])
    assert not proven(["bbl"], None)  # 1 repeats: a warning, not proof
    assert not proven(["bbl", "unit"], ["bbl"])
