"""Reading published versions back: where they live (`publish/<product>/<version>/`, its
`publish.json`; `publish/<product>/latest.json`), and their records, whatever one damaged file
says.

A version whose publish.json is damaged is left out of the product's versions, named in a
`DamagedRecordWarning`, so that every other version keeps working; asked for by its name, it is
refused with the same sentence. A latest.json that is damaged, or that names a version that is
not published, gives the product no latest version (each version can still be asked for by
name): asked for, `latest` is refused in a sentence naming the file; listings name it in a
warning. One written by a newer lakehouse is refused (upgrade).

Nothing here writes: publishing and promoting (publish.py) build on these names.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

from lakehouse.errors import IntegrityError, InvalidNameError, NewerRecordError, NotFoundError
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.publish.records import LatestRecord, PublishRecord
from lakehouse.records import DamagedRecordWarning, parse_stored
from lakehouse.store.storage import Store
from lakehouse.transform.records import OUTPUTS_GROUP

PUBLISH_AREA = "publish"
PUBLISH_FILE = "publish.json"
LATEST_FILE = "latest.json"
VERSION_PATTERN = re.compile(r"\d{2}v\d{1,3}(\.\d{1,3})?|\d{4}-\d{2}-\d{2}|\d{8}")


def check_publish_version(version: str) -> str:
    """Published versions are named like 25v1, 25v2 (25v2.1 for a fix) or by a date."""
    if not VERSION_PATTERN.fullmatch(version):
        raise InvalidNameError(
            f"{version!r} is not a version name for publishing; use the year and a number "
            "(25v1, 25v2, 25v2.1) or a date (2026-11-24 or 20261124)."
        )
    return version


def product_folder(product: str) -> str:
    return f"{PUBLISH_AREA}/{check_dataset_name(product)}"


def version_folder(product: str, version: str) -> str:
    return f"{product_folder(product)}/{check_publish_version(version)}"


def latest_path(product: str) -> str:
    return f"{product_folder(product)}/{LATEST_FILE}"


def published_output(product: str, version: str, output: str) -> str:
    """Where an output published as one file lies, relative to the store root (one written in
    parts is a folder: `published_output_file_lists` reads the record to tell)."""
    return f"{version_folder(product, version)}/outputs/{output}.parquet"


def published_output_files(entry: PublishRecord) -> dict[str, str]:
    """Output name -> what DuckDB's `read_parquet` reads for it (`OutputRecord.source`: its
    file, or the glob of its parts), relative to the store root, for a published version."""
    folder = version_folder(entry.product, entry.version)
    return {
        name: f"{folder}/{entry.outputs[f'{OUTPUTS_GROUP}/{name}'].source()}"
        for name in entry.output_names()
    }


def published_output_file_lists(entry: PublishRecord) -> dict[str, list[str]]:
    """Output name -> its Parquet files in order (one, or its parts), relative to the store
    root, for a published version."""
    folder = version_folder(entry.product, entry.version)
    return {
        name: [f"{folder}/{f.path}" for f in entry.outputs[f"{OUTPUTS_GROUP}/{name}"].files()]
        for name in entry.output_names()
    }


# -- one version's record ------------------------------------------------------------------------


def read_published(store: Store, product: str, version: str) -> PublishRecord:
    """The publish.json of one published version, refused in a sentence naming the file if it
    is damaged (one of a newer lakehouse: NewerRecordError)."""
    try:
        return _parse_published(store, product, version)
    except NewerRecordError:
        raise
    except IntegrityError as exc:
        raise IntegrityError(_damaged(product, version, str(exc))) from exc


def _parse_published(store: Store, product: str, version: str) -> PublishRecord:
    """The record, or an IntegrityError that says only what is wrong with it."""
    path = f"{version_folder(product, version)}/{PUBLISH_FILE}"
    url = store.url(path)
    entry = parse_stored(PublishRecord, lambda: store.read_bytes(path), url)
    if (entry.product, entry.version) != (product, version):
        raise IntegrityError(
            f"{url} is the record of {entry.product} {entry.version}, not of {product} {version}"
        )
    return entry


def _damaged(product: str, version: str, reason: str) -> str:
    return (
        f"{reason}; it is damaged, so published version {version} of {product!r} cannot be "
        "used (its other versions can): run `lake verify`, then restore the file from a backup."
    )


# -- every version of a product, and which is the latest ------------------------------------------


@dataclass(frozen=True)
class DamagedPublished:
    """A published version whose publish.json is damaged: the file (relative to the store root)
    and the error saying so."""

    product: str
    version: str
    path: str
    error: IntegrityError

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass
class PublishedScan:
    """A product's published versions whose record reads (oldest first), those whose record is
    damaged, and its latest version: the one latest.json names, or why there is none."""

    product: str
    published: list[PublishRecord] = field(default_factory=list)
    damaged: list[DamagedPublished] = field(default_factory=list)
    latest_named: str | None = None  # what a readable latest.json names
    latest_problem: str | None = None  # a damaged latest.json, or one naming nothing published

    @property
    def latest(self) -> PublishRecord | None:
        """The latest version's record: None before the first publish, and while latest.json
        is damaged, names a version not published or names a damaged one."""
        return next((e for e in self.published if e.version == self.latest_named), None)

    def warn(self, stacklevel: int = 2) -> None:
        """A `DamagedRecordWarning` for each damaged record, and for latest.json's problem."""
        for damaged in self.damaged:
            warnings.warn(damaged.message, DamagedRecordWarning, stacklevel=stacklevel + 1)
        if self.latest_problem is not None:
            warnings.warn(self.latest_problem, DamagedRecordWarning, stacklevel=stacklevel + 1)


def scan_published(store: Store, product: str) -> PublishedScan:
    """Every published version of a product (those with a publish.json): the ones that read,
    oldest first, the damaged ones, and what latest.json says, each problem with its sentence.
    Nothing is warned; a record of a newer lakehouse is refused (upgrade)."""
    scan = PublishedScan(product)
    base = product_folder(product)
    for version in store.list_folders(base):
        if not VERSION_PATTERN.fullmatch(version):
            continue  # not a version's folder
        path = f"{base}/{version}/{PUBLISH_FILE}"
        if not store.exists(path):
            continue  # unfinished: not a version (lake verify lists it)
        try:
            scan.published.append(_parse_published(store, product, version))
        except FileNotFoundError:
            continue  # removed since it was listed
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            error = IntegrityError(_damaged(product, version, str(exc)))
            error.__cause__ = exc
            scan.damaged.append(DamagedPublished(product, version, path, error))
    scan.published.sort(key=lambda entry: entry.published_at)
    try:
        scan.latest_named = latest_version(store, product)
    except NewerRecordError:
        raise
    except IntegrityError as exc:
        scan.latest_problem = str(exc)
        return scan
    named = scan.latest_named
    known = {e.version for e in scan.published} | {d.version for d in scan.damaged}
    if named is not None and named not in known:  # (a damaged one has its own sentence)
        scan.latest_problem = _dangling(store, product, named)
    return scan


def list_published(store: Store, product: str) -> list[PublishRecord]:
    """Every published version of a product whose publish.json reads, oldest first; a damaged
    one is left out, and it and a damaged latest.json are named in `DamagedRecordWarning`s."""
    scan = scan_published(store, product)
    scan.warn(stacklevel=2)
    return scan.published


def latest_version(store: Store, product: str) -> str | None:
    """The version latest.json names (None before the first publish); a damaged latest.json is
    refused in a sentence naming it (it is not checked here that the version is published)."""
    path = latest_path(product)
    if not store.exists(path):
        return None
    url = store.url(path)
    try:
        named = parse_stored(LatestRecord, lambda: store.read_bytes(path), url).version
    except NewerRecordError:
        raise
    except IntegrityError as exc:
        raise IntegrityError(_no_latest(product, str(exc))) from exc
    if not VERSION_PATTERN.fullmatch(named):  # (a path trick is not followed either)
        reason = f"{url} names {named!r}, which is not a version name"
        raise IntegrityError(_no_latest(product, reason))
    return named


def _no_latest(product: str, reason: str) -> str:
    return (
        f"{reason}; it is damaged, so {product!r} has no latest published version (each "
        "version can still be asked for by name): restore the file from a backup, or remove "
        f"it (the next `lake publish {product}` writes it again)."
    )


def _dangling(store: Store, product: str, version: str) -> str:
    url = store.url(latest_path(product))
    return _no_latest(product, f"{url} names {version} as the latest, which is not published")


def find_published(store: Store, product: str, version: str = LATEST) -> PublishRecord:
    """A published version's record (`latest`: the one latest.json names), refused in a
    sentence that names the damaged file when its record or latest.json is damaged."""
    if version == LATEST:
        named = latest_version(store, product)
        if named is None:
            scan = scan_published(store, product)
            if scan.published or scan.damaged:
                raise NotFoundError(
                    f"{product!r} has published versions but no {LATEST_FILE} naming the latest "
                    f"({store.url(latest_path(product))}); `lake verify --repair` writes it "
                    "again (naming the version published last), or ask for a version by name."
                )
            raise NotFoundError(
                f"{product!r} has no published version yet; publish a build with "
                f"`lake publish {product} --build ID --version 25v1`."
            )
        if not store.exists(f"{version_folder(product, named)}/{PUBLISH_FILE}"):
            raise IntegrityError(_dangling(store, product, named))
        return read_published(store, product, named)
    path = f"{version_folder(product, version)}/{PUBLISH_FILE}"
    if not store.exists(path):
        scan = scan_published(store, product)
        known = ", ".join(entry.version for entry in scan.published) or "none yet"
        if scan.damaged:
            known += f" (and, damaged, {', '.join(d.version for d in scan.damaged)})"
        raise NotFoundError(
            f"{product!r} has no published version {version!r}; published versions: {known}."
        )
    return read_published(store, product, version)
