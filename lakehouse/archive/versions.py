"""Reading the archive back: its datasets, their committed versions (`raw/<dataset>/<version>/`
with a `manifest.json`), each version's manifest and its data, whatever one damaged manifest
says.

A version whose manifest is damaged is left out of the readable versions, named in a
`DamagedRecordWarning`, so that every other version keeps working; asked for by its name, it
is refused in a sentence that says where to restore it from (the copy its run folder keeps,
when there is a sound one). While a version is damaged, `latest` is refused, since that
version could be the newest. A manifest written by a newer lakehouse is refused (upgrade).

Nothing here writes: ingesting (archive.py) builds on these.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakehouse.archive import delta
from lakehouse.archive.manifest import (
    Manifest,
    committed_record_path,
    dataset_folder,
    manifest_path,
    version_folder,
)
from lakehouse.errors import IntegrityError, NewerRecordError, NotFoundError
from lakehouse.names import LATEST, check_dataset_name, check_version_name, is_dataset_name
from lakehouse.records import DamagedRecordWarning, parse_stored
from lakehouse.store.storage import Store

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


@dataclass(frozen=True)
class DamagedVersion:
    """A committed version whose manifest cannot be read: the manifest (relative to the store
    root) and the error saying so."""

    dataset: str
    version: str
    path: str
    reason: str  # what is wrong with it, naming the file
    error: IntegrityError  # that, and what to do

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass
class VersionScan:
    """A dataset's committed versions: those whose manifest reads, oldest first, and those
    whose manifest is damaged."""

    dataset: str
    manifests: list[Manifest] = field(default_factory=list)
    damaged: list[DamagedVersion] = field(default_factory=list)
    # the archive's datasets, listed when this one has no version (to tell a typo by)
    archived: list[str] = field(default_factory=list)

    def missing_message(self, templates: Iterable[str] | None = None) -> str:
        """The sentence for a dataset without a version: `no_versions_message` with the
        archive's datasets and, when the caller knows them, the project's templates."""
        return no_versions_message(self.dataset, self.archived, templates)

    def warn(self, stacklevel: int = 2) -> None:
        """A `DamagedRecordWarning` for each damaged version, naming its manifest."""
        for damaged in self.damaged:
            warnings.warn(damaged.message, DamagedRecordWarning, stacklevel=stacklevel + 1)

    def latest(self) -> Manifest:
        """The newest version; refused while a version is damaged (it could be the newest:
        its extraction time is in the manifest that does not read)."""
        if self.damaged:
            first = self.damaged[0]
            raise IntegrityError(
                f"{first.reason}, so the latest version of {self.dataset!r} cannot "
                f"be told (version {first.version}'s manifest is unreadable or damaged); run "
                "`lake verify` and restore it, or ask for another version by name."
            ) from first.error
        if not self.manifests:
            raise NotFoundError(self.missing_message())
        return self.manifests[-1]


def no_versions_message(
    dataset: str, archived: Iterable[str], templates: Iterable[str] | None = None
) -> str:
    """What to do about `dataset`, which has no archived version: a name close to an archived
    dataset's or a template's (difflib) is taken for a typo of it (`No dataset 'nypl_library';
    did you mean 'nypl_libraries'?`); a dataset with a template is to be ingested; one with
    neither (when `templates` are known) needs a template first."""
    known = set(archived) | set(templates or ())
    if dataset not in known:
        close = difflib.get_close_matches(dataset, sorted(known), n=1)
        if close:
            return (
                f"No dataset {dataset!r}; did you mean {close[0]!r}? (A new dataset needs a "
                f"template, then `lake ingest {dataset}`.)"
            )
        if templates is not None:
            return (
                f"No dataset {dataset!r}: nothing is archived under that name and it has no "
                f"template; write one, then run `lake ingest {dataset}`."
            )
    return f"Dataset {dataset!r} has no archived versions; run `lake ingest {dataset}`."


def dataset_names(store: Store) -> list[str]:
    """Datasets with a folder in the archive (folders with other names are not datasets)."""
    return [name for name in store.list_folders("raw") if is_dataset_name(name)]


def version_names(store: Store, dataset: str) -> list[str]:
    """Names of the version folders that hold a manifest (committed versions), unordered."""
    check_dataset_name(dataset)
    return [
        version
        for version in store.list_folders(dataset_folder(dataset))
        if store.exists(manifest_path(dataset, version))
    ]


def read_manifest(store: Store, dataset: str, version: str) -> Manifest:
    """One committed version's manifest; an unreadable or damaged one is an IntegrityError
    that names it and says what to do (one of a newer lakehouse: NewerRecordError)."""
    try:
        return _parse_manifest(store, dataset, version)
    except NewerRecordError:
        raise
    except IntegrityError as exc:
        raise IntegrityError(_damaged(store, dataset, version, str(exc))) from exc


def _parse_manifest(store: Store, dataset: str, version: str) -> Manifest:
    """The manifest, or an IntegrityError that says only what is wrong with it."""
    path = manifest_path(dataset, version)
    url = store.url(path)
    manifest = parse_stored(Manifest, lambda: store.read_bytes(path), url)
    if (manifest.dataset, manifest.version) != (dataset, version):
        raise IntegrityError(
            f"{url} is the manifest of {manifest.dataset} {manifest.version}, not of "
            f"{dataset} {version}"
        )
    return manifest


def _damaged(store: Store, dataset: str, version: str, reason: str) -> str:
    """The sentence for a version whose manifest cannot be read: what is wrong, and where
    to restore it from (the copy its run folder keeps, when there is a sound one)."""
    copy = _manifest_copy(store, dataset, version)
    source = f"its copy {store.url(copy)} or a backup" if copy else "a backup"
    return (
        f"{reason}, so version {version} of {dataset!r} cannot be used (its other versions "
        f"can): the manifest is unreadable or damaged; run `lake verify` and restore it "
        f"from {source}."
    )


def _manifest_copy(store: Store, dataset: str, version: str) -> str | None:
    """The copy of the version's manifest written into its run folder at commit
    (`committed.json`), when exactly one run folder holds a copy that reads as this
    version's manifest."""
    found = []
    for run in store.list_folders(version_folder(dataset, version)):
        path = committed_record_path(f"{version_folder(dataset, version)}/{run}")
        try:
            copy = Manifest.from_json(store.read_bytes(path), store.url(path))
        except (OSError, IntegrityError, RecursionError):
            continue
        if (copy.dataset, copy.version) == (dataset, version):
            found.append(path)
    return found[0] if len(found) == 1 else None


def scan_versions(store: Store, dataset: str) -> VersionScan:
    """Every committed version of `dataset`: those whose manifest reads, oldest first (by
    extraction time), and the damaged ones, each with its sentence. Nothing is warned; a
    manifest of a newer lakehouse is refused (upgrade), as it cannot be placed."""
    scan = VersionScan(dataset)
    for version in version_names(store, dataset):
        try:
            scan.manifests.append(_parse_manifest(store, dataset, version))
        except FileNotFoundError:
            continue  # removed since it was listed
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            error = IntegrityError(_damaged(store, dataset, version, str(exc)))
            error.__cause__ = exc
            path = manifest_path(dataset, version)
            scan.damaged.append(DamagedVersion(dataset, version, path, str(exc), error))
    scan.manifests.sort(key=lambda m: (m.extracted_at, m.version))
    scan.damaged.sort(key=lambda damaged: damaged.version)
    if not scan.manifests and not scan.damaged:
        scan.archived = dataset_names(store)
    return scan


def list_versions(store: Store, dataset: str) -> list[Manifest]:
    """Committed versions of `dataset`, oldest first (by extraction time); a damaged
    manifest is an IntegrityError that names it (`readable_versions` leaves it out)."""
    scan = scan_versions(store, dataset)
    if scan.damaged:
        raise scan.damaged[0].error
    return scan.manifests


def readable_versions(store: Store, dataset: str, stacklevel: int = 2) -> list[Manifest]:
    """The committed versions of `dataset` whose manifest reads, oldest first; each damaged
    one is left out and named in a `DamagedRecordWarning` (attributed `stacklevel` frames up,
    as `warnings.warn` counts them), so that the rest keep working."""
    scan = scan_versions(store, dataset)
    scan.warn(stacklevel=stacklevel + 1)
    return scan.manifests


def versions_since(store: Store, dataset: str, known: list[Manifest]) -> list[Manifest]:
    """`list_versions(dataset)` again, reading only the manifests not in `known` (a manifest
    never changes once written)."""
    have = {manifest.version for manifest in known}
    added = [
        read_manifest(store, dataset, version)
        for version in store.list_folders(dataset_folder(dataset))
        if version not in have and store.exists(manifest_path(dataset, version))
    ]
    return sorted([*known, *added], key=lambda m: (m.extracted_at, m.version))


def with_same_bytes(versions: list[Manifest], source_sha: str) -> Manifest | None:
    """The archived version with these exact original bytes, if there is one."""
    return next((m for m in versions if m.source_sha256 == source_sha), None)


def find_manifest(store: Store, dataset: str, version: str = LATEST) -> Manifest:
    """The manifest of `version` (or the newest, for 'latest': refused while a version's
    manifest is damaged, since that version could be the newest)."""
    check_dataset_name(dataset)
    if version == LATEST:
        return scan_versions(store, dataset).latest()
    check_version_name(version)
    if not store.exists(manifest_path(dataset, version)):
        scan = scan_versions(store, dataset)
        if not scan.manifests and not scan.damaged:
            raise NotFoundError(scan.missing_message())
        known = ", ".join(m.version for m in scan.manifests) or "none"
        if scan.damaged:
            known += f" (and, damaged, {', '.join(d.version for d in scan.damaged)})"
        raise NotFoundError(
            f"Dataset {dataset!r} has no version {version!r}; archived versions: {known}."
        )
    return read_manifest(store, dataset, version)


def version_pair(
    store: Store, dataset: str, version: str = LATEST, against: str | None = None
) -> tuple[Manifest, Manifest]:
    """The manifests of `version` and of `against` (default: the version before it)."""
    new = find_manifest(store, dataset, version)
    if against is None:
        names = [m.version for m in list_versions(store, dataset)]
        position = names.index(new.version)
        if position == 0:
            raise NotFoundError(
                f"{dataset} {new.version} is its first version: there is nothing before it to "
                "compare with; pass --against VERSION."
            )
        against = names[position - 1]
    return find_manifest(store, dataset, against), new


def version_relation(
    store: Store, con: duckdb.DuckDBPyConnection, dataset: str, version: str = LATEST
) -> duckdb.DuckDBPyRelation:
    """The archived data of a version as a DuckDB relation on `con`."""
    found = find_manifest(store, dataset, version)
    if found.storage == "delta":
        assert found.delta_version is not None
        return con.from_arrow(
            delta.read_version(store, dataset, found.delta_version, found.data_files)
        )
    store.register_in_duckdb(con)
    return con.read_parquet(store.url(found.data_files[0].path))


def read_version(
    store: Store, dataset: str, version: str = LATEST, limit: int | None = None
) -> pa.Table:
    """The archived data of a version as an Arrow table (optionally only the first rows)."""
    import duckdb

    with duckdb.connect() as con:
        relation = version_relation(store, con, dataset, version)
        if limit is not None:
            relation = relation.limit(limit)
        return relation.to_arrow_table()
