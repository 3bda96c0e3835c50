"""Source QA of archived versions: the profile of a new version and its drift from the version
before, computed at ingest (before the commit, stored with the version in its `qa/` folder) or
on demand between any two versions, and the HTML report of a drift."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.archive.manifest import Manifest, SourceQaSummary
from lakehouse.archive.template import IngestTemplate, load_template_for, template_path
from lakehouse.contracts.raw import unique_rule_name
from lakehouse.contracts.report import ContractReport
from lakehouse.errors import ConfigError
from lakehouse.progress import Progress, no_progress
from lakehouse.qa.drift import QaSettings, SourceDrift, source_drift
from lakehouse.qa.profile import (
    HISTOGRAM_BINS,
    ColumnProfile,
    Histogram,
    TableProfile,
    histograms,
    profile_table,
)
from lakehouse.qa.records import DriftRecord, ProfileRecord
from lakehouse.render.qa_reports import (
    MAX_HISTOGRAMS,
    Histograms,
    drift_bounds,
    source_report,
)
from lakehouse.sql import sql_string
from lakehouse.store.storage import Store

QA_FOLDER = "qa"  # a version's profile and its drift from the version before
# a column's stored bins are drawn again while both versions' numbers span at least this share
# of them (beyond, the bins are fitted to the numbers again)
BINS_SPANNED = 0.5


@dataclass
class SourceQa:
    """What the source QA of one ingest found: the new version's profile and, when there was a
    version before, the drift from it."""

    profile: TableProfile | None
    drift: SourceDrift | None
    html: str | None = None
    histograms: Histograms | None = field(default=None, repr=False)  # what the HTML draws

    def named(self, version: str) -> SourceQa:
        """The same QA for the new data archived under another name (an ingest whose first
        choice of name a concurrent ingest took): relabelled, not computed again."""
        if self.drift is None or self.drift.new_version == version:
            return self
        drift = dataclasses.replace(self.drift, new_version=version)
        html = None if self.histograms is None else source_report(drift, self.histograms)
        return SourceQa(self.profile, drift, html, self.histograms)

    def summary(self, folder: str) -> SourceQaSummary:
        if self.drift is None:
            return SourceQaSummary(against=None, flags=[], report=None, html=None)
        return SourceQaSummary(
            against=self.drift.old_version,
            flags=self.drift.flags,
            report=f"{folder}/drift.txt",
            html=f"{folder}/report.html",
        )

    def store(self, store: Store, folder: str) -> None:
        if self.profile is not None:
            profile = ProfileRecord.of(self.profile).to_json(None)
            store.write_bytes(f"{folder}/profile.json", profile)
        if self.drift is not None:
            drift = DriftRecord.of(self.drift).to_json(None)
            store.write_bytes(f"{folder}/drift.json", drift)
            store.write_bytes(f"{folder}/drift.txt", self.drift.to_text().encode())
        if self.html is not None:
            store.write_bytes(f"{folder}/report.html", self.html.encode())


def qa_settings(template: IngestTemplate) -> QaSettings:
    """The template's `qa:` settings; without them, its raw contract's unique key as the key."""
    if template.qa is not None:
        return template.qa
    return QaSettings(key=list(template.contract.unique) if template.contract else [])


def key_proven_unique(template: IngestTemplate, report: ContractReport | None) -> bool:
    """Whether the template's raw contract proved its QA key unique in the data it checked:
    its unique rule, on columns all in the key, passed."""
    contract = template.contract
    if report is None or contract is None or not contract.unique:
        return False
    if not set(contract.unique) <= set(qa_settings(template).key):
        return False
    rule = unique_rule_name(contract.unique)
    return any(r.kind == "unique" and r.rule == rule and r.passed for r in report.results)


def check_qa_settings(template: IngestTemplate, columns: list[str]) -> None:
    """Refuse, in one sentence, a template whose `qa: {key: ...}` names a column that the data
    (after the template's steps) does not have: its key comparison would silently be left out."""
    if template.qa is None:
        return
    missing = template.qa.missing_key_columns(columns)
    if missing:
        names = ", ".join(map(repr, missing))
        raise ConfigError(
            f"Template of {template.name!r}: qa.key names column{'s' if len(missing) > 1 else ''} "
            f"{names}, which the data does not have (after the template's steps); its columns "
            f"are: {', '.join(columns)}."
        )


def parquet_source(store: Store, manifest: Manifest) -> str:
    """A version's data as a DuckDB `read_parquet(...)` expression (the store must be
    registered on the connection). A Delta version written here is plain Parquet files."""
    urls = [store.url(f.path) for f in manifest.data_files if f.path.endswith(".parquet")]
    return "read_parquet([" + ", ".join(sql_string(url) for url in urls) + "])"


def version_profile(store: Store, manifest: Manifest) -> TableProfile:
    """A version's column profile: the one stored at ingest, or computed now."""
    stored = f"{manifest.run_folder}/{QA_FOLDER}/profile.json"
    if store.exists(stored):
        return ProfileRecord.from_json(store.read_bytes(stored), store.url(stored)).table_profile()
    import duckdb

    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        return profile_table(con, parquet_source(store, manifest))


def ingest_qa(
    store: Store,
    template: IngestTemplate,
    version: str,
    data_file: Path,
    before: Manifest | None,
    progress: Progress = no_progress,
    key_unique: bool = False,
) -> SourceQa:
    """Profile the new data and compare it with the latest archived version (a first version
    has nothing to compare with: it is profiled when the next one comes); `key_unique` when
    the new data's raw contract proved its QA key unique (`key_proven_unique`)."""
    import duckdb

    if before is None:
        return SourceQa(None, None)
    new_source = f"read_parquet({sql_string(str(data_file))})"
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        old = (parquet_source(store, before), version_profile(store, before))
        progress("source QA: profiling the new data", 0, None)
        numeric = {name for name, column in old[1].columns.items() if column.numeric}
        new_profile = profile_table(con, new_source, numeric_before=numeric)
        progress("source QA: drift and keys against the version before", 0, None)
        drift = source_drift(con, template.name, before.version, version, old,
                             (new_source, new_profile), qa_settings(template),
                             key_unique)  # fmt: skip
        progress("source QA: histograms of both versions", 0, None)
        found = drift_histograms(con, old[0], new_source, drift)
    return SourceQa(new_profile, drift, source_report(drift, found), found)


def drift_histograms(con: Any, old_source: str, new_source: str, drift: SourceDrift) -> Histograms:
    """The report's histograms: both versions' numbers over shared bins, for the columns
    `drift_bounds` charts first. Where the version before's profile holds its histogram (as
    its own report drew it) over bins that span both versions' numbers and are not much wider
    (`BINS_SPANNED`), the new version is counted over those bins and the old one is not read;
    the other columns are counted in both, over bins fitted to both versions' numbers. The
    new version's profile keeps its side of every chart, for the next version."""
    charted = dict(list(drift_bounds(drift).items())[:MAX_HISTOGRAMS])
    profiles = {column.column: (column.old, column.new) for column in drift.columns}
    kept = {
        name: histogram
        for name, (low, high) in charted.items()
        if (histogram := _reusable(profiles[name][0], low, high)) is not None
    }
    fitted = {name: bounds for name, bounds in charted.items() if name not in kept}
    bounds = {name: (kept[name].low, kept[name].high) if name in kept else fitted[name]
              for name in charted}  # fmt: skip
    old_counts = histograms(con, old_source, fitted)
    new_counts = histograms(con, new_source, bounds)
    found: Histograms = {}
    for name, (low, high) in bounds.items():
        old = kept[name].counts if name in kept else old_counts[name]
        found[name] = (low, high, list(old), new_counts[name])
        new = profiles[name][1]
        if new is not None:
            new.histogram = Histogram(low, high, list(new_counts[name]))
    return found


def _reusable(old: ColumnProfile | None, low: float, high: float) -> Histogram | None:
    """The version before's histogram, when its bins (as many as a chart has) span [low,
    high] (both versions' numbers) and are not much wider; None otherwise."""
    if old is None or old.histogram is None or not old.histogram.covers(low, high):
        return None
    if len(old.histogram.counts) != HISTOGRAM_BINS:
        return None
    if (high - low) < BINS_SPANNED * (old.histogram.high - old.histogram.low):
        return None
    return old.histogram


def compare_manifests(
    store: Store, old: Manifest, new: Manifest, settings: QaSettings
) -> SourceDrift:
    """The drift of one archived version from another."""
    import duckdb

    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        return source_drift(
            con, new.dataset, old.version, new.version,
            (parquet_source(store, old), version_profile(store, old)),
            (parquet_source(store, new), version_profile(store, new)),
            settings,
        )  # fmt: skip


def write_source_report(
    store: Store, old: Manifest, new: Manifest, settings: QaSettings, path: Path
) -> Path:
    """The drift of `new` from `old` as a self-contained HTML report at `path` (a local file:
    archived versions are never touched)."""
    import duckdb

    drift = compare_manifests(store, old, new, settings)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        histograms = drift_histograms(
            con, parquet_source(store, old), parquet_source(store, new), drift
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source_report(drift, histograms), encoding="utf-8")
    return path


def dataset_qa_settings(templates_dir: Path, dataset: str) -> QaSettings | None:
    """The QA settings of the dataset's template in `templates_dir` (None without a
    template)."""
    if template_path(templates_dir, dataset) is None:
        return None
    return qa_settings(load_template_for(templates_dir, dataset))
