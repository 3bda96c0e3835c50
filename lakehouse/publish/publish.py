"""Publishing: a build is a draft; a published version is an immutable copy of its outputs
with everything needed to trust it (the lock, the code commit, contract and QA summaries).

`publish/<product>/<version>/` holds the outputs (hard links or server-side copies of the
build's files: no bytes rewritten), the lock, the contract report and the QA reports; its
`publish.json`, written last and only if absent, is the commit point, so a version is never
published twice or over another. `publish/<product>/latest.json` names the latest version and
is replaced atomically. A version is promoted to another environment by copying it, checksums
kept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lakehouse.config import LakehouseConfig
from lakehouse.errors import (
    ConfigError,
    IntegrityError,
    InvalidNameError,
    NotFoundError,
    PublishError,
    VersionExistsError,
)
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.publish.records import (
    LatestRecord,
    Promotion,
    PublishRecord,
    QASummary,
    TableChanges,
)
from lakehouse.qa.records import DiffRecord
from lakehouse.store.storage import Store
from lakehouse.transform.index import build_folder, find_build
from lakehouse.transform.records import BuildRecord, OutputRecord

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


def next_version(store: Store, product: str, today: datetime | None = None) -> str:
    """The next free `<yy>v<n>` name of this year (26v1, then 26v2, ...)."""
    year = f"{(today or datetime.now(UTC)).year % 100:02d}"
    numbers = [
        int(match.group(1))
        for entry in list_published(store, product)
        if (match := re.fullmatch(rf"{year}v(\d+)", entry.version))
    ]
    return f"{year}v{max(numbers, default=0) + 1}"


def product_folder(product: str) -> str:
    return f"{PUBLISH_AREA}/{check_dataset_name(product)}"


def version_folder(product: str, version: str) -> str:
    return f"{product_folder(product)}/{check_publish_version(version)}"


def read_published(store: Store, product: str, version: str) -> PublishRecord:
    """The publish.json of one published version (refused, naming the file, if it is damaged
    or of a newer lakehouse)."""
    path = f"{version_folder(product, version)}/{PUBLISH_FILE}"
    return PublishRecord.from_json(store.read_bytes(path), store.url(path))


def list_published(store: Store, product: str) -> list[PublishRecord]:
    """Every published version of a product (its publish.json), oldest first."""
    found = []
    base = product_folder(product)
    for version in store.list_folders(base):
        if store.exists(f"{base}/{version}/{PUBLISH_FILE}"):
            found.append(read_published(store, product, version))
    return sorted(found, key=lambda entry: entry.published_at)


def latest_version(store: Store, product: str) -> str | None:
    """The version latest.json names (None before the first publish)."""
    path = f"{product_folder(product)}/{LATEST_FILE}"
    if not store.exists(path):
        return None
    return LatestRecord.from_json(store.read_bytes(path), store.url(path)).version


def find_published(store: Store, product: str, version: str = LATEST) -> PublishRecord:
    """A published version's record (`latest`: the one latest.json names)."""
    if version == LATEST:
        latest = latest_version(store, product)
        if latest is None:
            raise NotFoundError(
                f"{product!r} has no published version yet; publish a build with "
                f"`lake publish {product} --build ID --version 25v1`."
            )
        version = latest
    path = f"{version_folder(product, version)}/{PUBLISH_FILE}"
    if not store.exists(path):
        known = [entry.version for entry in list_published(store, product)]
        listed = ", ".join(known) if known else "none yet"
        raise NotFoundError(
            f"{product!r} has no published version {version!r}; published versions: {listed}."
        )
    return read_published(store, product, version)


def published_output(product: str, version: str, output: str) -> str:
    return f"{version_folder(product, version)}/outputs/{output}.parquet"


def published_output_files(entry: PublishRecord) -> dict[str, str]:
    """Output name -> its Parquet file (relative to the store root), for a published version."""
    return {
        name: published_output(entry.product, entry.version, name) for name in entry.output_names()
    }


def publish_build(
    store: Store, product: str, build_id: str | None, version: str | None = None
) -> PublishRecord:
    """Publish a passed build that has a QA report as `version` (default: the next free number
    of the year, `next_version`), never over an existing one."""
    if version is None:
        version = next_version(store, product)
    check_publish_version(version)
    entry = find_build(store, product, build_id)
    build_id = entry.build_id
    if not entry.passed:
        failed = ", ".join(entry.contracts.failed) or "its contract"
        raise PublishError(
            f"Build {build_id} of {product!r} failed its contracts ({failed}); a failed build "
            "cannot be published: fix the data or the transform and build again."
        )
    source = build_folder(product, build_id)
    qa = [f for f in store.list_files(f"{source}/qa") if f.endswith(".html")]
    if not qa:
        raise PublishError(
            f"Build {build_id} of {product!r} has no QA report; `lake qa report diff {product}` "
            "writes one for the latest build (against the latest published version, or the "
            "build before): look at it, then publish."
        )
    target = version_folder(product, version)
    if store.exists(f"{target}/{PUBLISH_FILE}"):
        existing = read_published(store, product, version)
        raise VersionExistsError(
            f"{product} {version} is already published (build {existing.build_id}), and "
            "published versions are never changed; publish under a new name (e.g. the next "
            "number)."
        )
    if store.list_files(target):
        raise PublishError(
            f"{store.url(target)} holds files of an unfinished publish; `lake verify` lists "
            "such leftovers: remove the folder by hand, then publish again."
        )
    try:
        outputs = _share_build_files(store, entry, source, target, qa)
        record = PublishRecord(
            product=product,
            version=version,
            build_id=build_id,
            published_at=datetime.now(UTC),
            git=entry.git,
            lock=entry.lock,
            inputs=_inputs(entry),
            contracts=entry.contracts,
            qa=_qa_summary(store, qa),
            outputs=outputs,
            packages=entry.packages,
        )
        store.create_exclusive(f"{target}/{PUBLISH_FILE}", record.to_json())
    except BaseException:
        _remove_unless_committed(store, target)
        raise
    move_latest(store, product, version)
    return record


def _remove_unless_committed(store: Store, folder: str) -> None:
    """Clean up a failed publish, unless another one committed this version meanwhile."""
    if not store.exists(f"{folder}/{PUBLISH_FILE}"):
        store.remove_folder(folder)


def move_latest(store: Store, product: str, version: str) -> None:
    store.write_bytes(
        f"{product_folder(product)}/{LATEST_FILE}", LatestRecord(version=version).to_json(None)
    )


def qa_line(qa: QASummary) -> str:
    """One line for a published version's QA summary: what it was compared with, and the
    rows added (+), removed (-) and changed (~) per output."""
    tables = qa.tables or {}
    changes = ", ".join(
        f"{name}: identical" if t.identical else
        f"{name}: +{t.added:,} -{t.removed:,} ~{t.changed:,}"
        for name, t in tables.items()
    )  # fmt: skip
    return f"against {qa.against or '?'}: {changes}" if tables else qa.report


def _inputs(entry: BuildRecord) -> dict[str, str]:
    """alias -> "dataset version" of the lock the build used."""
    found = {}
    for alias, pinned in entry.lock.inputs.items():
        name = pinned.dataset or f"{pinned.product}.{pinned.output}"
        found[alias] = f"{name} {pinned.version}"
    return found


def _share_build_files(
    store: Store, entry: BuildRecord, source: str, target: str, qa: list[str]
) -> dict[str, OutputRecord]:
    """Link the outputs (checking their checksums), the lock, the contract and QA reports."""
    outputs = {}
    for key, output in entry.outputs.items():
        store.share(f"{source}/{output.path}", f"{target}/{output.path}")
        sha, size = store.sha256(f"{target}/{output.path}")
        if sha != output.sha256:
            raise IntegrityError(
                f"{store.url(source)}/{output.path} no longer matches the checksum its build "
                "recorded; run `lake verify` and build again."
            )
        outputs[key] = output.model_copy(update={"bytes": size})
    extras = [f"{source}/{entry.product}.lock", *qa]
    extras += [f for f in store.list_files(f"{source}/contracts")]
    extras += [f.removesuffix(".html") + ".json" for f in qa]
    for path in extras:
        if store.exists(path):
            store.share(path, f"{target}/{path.removeprefix(source + '/')}")
    return outputs


def _qa_summary(store: Store, qa: list[str]) -> list[QASummary]:
    """Per QA report: what it compared and, for a diff, rows added/removed/changed."""
    found = []
    for report in qa:
        name = report.rsplit("/qa/", 1)[-1]
        diff_file = report.removesuffix(".html") + ".json"
        if not store.exists(diff_file):
            found.append(QASummary(report=name))
            continue
        diff = DiffRecord.from_json(store.read_bytes(diff_file), store.url(diff_file))
        tables = {
            t.table: TableChanges(
                added=t.added, removed=t.removed, changed=t.changed, identical=t.identical
            )
            for t in diff.tables
        }
        found.append(QASummary(report=name, against=diff.old, tables=tables))
    return found


def promote(
    source: Store, target: Store, product: str, version: str, source_env: str
) -> PublishRecord:
    """Copy a published version from one environment's store to another's, unchanged (the
    same bytes, checked by their checksums), and make it the target's latest."""
    entry = find_published(source, product, version)
    version = entry.version
    folder = version_folder(product, version)
    if target.exists(f"{folder}/{PUBLISH_FILE}"):
        raise VersionExistsError(
            f"{product} {version} is already published in the target environment; published "
            "versions are never changed."
        )
    if target.list_files(folder):
        raise PublishError(
            f"{target.url(folder)} holds files of an unfinished promote: remove the folder by "
            "hand, then promote again."
        )
    try:
        for path in source.list_files(folder):
            if not path.endswith(PUBLISH_FILE):
                target.receive(source, path, path)
        for output in entry.outputs.values():
            sha, _ = target.sha256(f"{folder}/{output.path}")
            if sha != output.sha256:
                raise IntegrityError(
                    f"{target.url(folder)}/{output.path} differs from the published file "
                    "after copying; nothing was promoted."
                )
        record = entry.model_copy(
            update={
                "promoted_from": Promotion(env=source_env, published_at=entry.published_at),
                "published_at": datetime.now(UTC),
            }
        )
        target.create_exclusive(f"{folder}/{PUBLISH_FILE}", record.to_json())
    except BaseException:
        _remove_unless_committed(target, folder)
        raise
    move_latest(target, product, version)
    return record


def promote_to_env(
    config: LakehouseConfig, store: Store, product: str, version: str, to_env: str
) -> PublishRecord:
    """Copy a published version from `store` (the store of `config`'s environment) to the
    store of the environment `to_env`, unchanged (see `promote`)."""
    if to_env == (config.env or None):
        raise ConfigError(f"{product} {version} is already in {to_env!r}; promote to another.")
    target_config = config.for_env(to_env)
    target = Store(target_config.store_root, target_config.store.s3)
    return promote(store, target, product, version, config.env or "default")
