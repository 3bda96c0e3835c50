"""Publishing: a build is a draft; a published version is an immutable copy of its outputs
with everything needed to trust it (the lock, the code commit, contract and QA summaries).

`publish/<product>/<version>/` holds the outputs (independent copies of the build's files,
never links: a stray write to a build cannot change a published version; server-side copies
on S3; every copy checked against its checksum), the lock, the contract report and the QA
reports; its `publish.json`, written last and only if absent, is the commit point, so a
version is never published twice or over another. Before writing anything a run claims the
folder (`.claim.json`, a writer lease created exclusively, removed after the commit): a second
run publishing the same version at once neither writes nor removes anything there, and reports
that the version was just published by another run; a run that finds the claim of a run that
was killed takes it over and removes what that run left. `publish/<product>/latest.json` names
the latest version and is replaced atomically. A version is promoted to another environment by
copying it the same way, checksums kept.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.report import fix_advice
from lakehouse.errors import (
    ConfigError,
    IntegrityError,
    PublishError,
    VersionExistsError,
)
from lakehouse.publish.reading import (
    LATEST_FILE,
    PUBLISH_FILE,
    check_publish_version,
    find_published,
    product_folder,
    read_published,
    scan_published,
    version_folder,
)
from lakehouse.publish.reading import PUBLISH_AREA as PUBLISH_AREA  # (the read side's names,
from lakehouse.publish.reading import VERSION_PATTERN as VERSION_PATTERN  # imported from here
from lakehouse.publish.reading import latest_version as latest_version  # by other modules)
from lakehouse.publish.reading import list_published as list_published
from lakehouse.publish.reading import published_output as published_output
from lakehouse.publish.reading import (
    published_output_file_lists as published_output_file_lists,
)
from lakehouse.publish.reading import published_output_files as published_output_files
from lakehouse.publish.records import (
    LatestRecord,
    Promotion,
    PublishRecord,
    QASummary,
    TableChanges,
)
from lakehouse.qa.records import DiffRecord
from lakehouse.store.lease import TAKEOVER
from lakehouse.store.storage import TEMPORARY, Store, abandoned_temporary
from lakehouse.store.writers import (
    HeldLease,
    LeaseBusy,
    abandoned_temporaries,
    acquire_exclusive,
    remove_abandoned,
    remove_file,
)
from lakehouse.transform.index import build_folder, find_build
from lakehouse.transform.records import BuildRecord, OutputRecord

CLAIM_FILE = ".claim.json"  # the lease of the one run writing a version folder
CLAIM_WAIT_SECONDS = 120.0  # how long a run waits for another that holds the version's claim


def next_version(store: Store, product: str, today: datetime | None = None) -> str:
    """The next free `<yy>v<n>` name of this year (26v1, then 26v2, ...); a version whose
    publish.json is damaged is taken too."""
    year = f"{(today or datetime.now(UTC)).year % 100:02d}"
    scan = scan_published(store, product)
    taken = [entry.version for entry in scan.published] + [d.version for d in scan.damaged]
    numbers = [
        int(match.group(1)) for name in taken if (match := re.fullmatch(rf"{year}v(\d+)", name))
    ]
    return f"{year}v{max(numbers, default=0) + 1}"


def publish_build(
    store: Store, product: str, build_id: str | None, version: str | None = None
) -> PublishRecord:
    """Publish a passed build that has a QA report as `version` (default: the next free number
    of the year, `next_version`), never over an existing one. Two runs publishing one version
    at once: one does, the other says so and touches nothing (`_claim`)."""
    heal(store, product)
    if version is None:
        version = next_version(store, product)
    check_publish_version(version)
    entry = find_build(store, product, build_id)
    build_id = entry.build_id
    if not entry.passed:
        failed = ", ".join(entry.contracts.failed) or "its contract"
        raise PublishError(
            f"Build {build_id} of {product!r} failed its contracts ({failed}); a failed build "
            f"cannot be published: {fix_advice([f'contracts/{product}/'])}, and build again."
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
    claim = _claim(store, product, version, "publish")
    written: list[str] = []
    try:
        outputs = _copy_build_files(store, entry, source, target, qa, written)
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
        claim.confirm()
        store.create_exclusive(f"{target}/{PUBLISH_FILE}", record.to_json())
    except BaseException:
        _undo(store, target, written, claim)
        raise
    claim.release()  # committed: the claim has done its work
    move_latest(store, product, version)
    return record


def _claim(store: Store, product: str, version: str, command: str) -> HeldLease:
    """Claim the folder of `version` for this run: its claim file (a writer lease, with a
    heartbeat) created exclusively, atomic on a local store and on S3. When another run holds
    it, wait for that run: refused with `VersionExistsError` once it has committed the version,
    with `PublishError` after `CLAIM_WAIT_SECONDS`. A claim whose run is gone (killed) is taken
    over, and what that run wrote is removed (`remove_leftovers`): nobody deletes anything by
    hand. A live run's files are never written over or removed."""
    folder = version_folder(product, version)
    try:
        held = acquire_exclusive(
            store,
            f"{folder}/{CLAIM_FILE}",
            command,
            wait_seconds=CLAIM_WAIT_SECONDS,
            check=lambda: _refuse_if_committed(store, product, version, command),
        )
    except LeaseBusy as busy:
        raise PublishError(
            f"{product} {version} is being published by another run ({busy.holder.describe()}); "
            f"wait for it to finish, then {command} again."
        ) from None
    if not held.took_over and files_of(store, folder, held.path):
        held.release()
        raise IntegrityError(
            f"{store.url(folder)} holds published files but no {PUBLISH_FILE}, and no run is "
            f"writing it: the version's {PUBLISH_FILE} was lost (damage; `lake verify` names "
            f"it); restore it from a backup, or {command} under another version name."
        )
    try:
        remove_leftovers(store, folder, held.path)
    except BaseException:
        held.abandon()  # the claim stays: the next run takes over what is left
        raise
    return held


def files_of(store: Store, folder: str, claim: str) -> list[str]:
    """The files in a version folder other than its claim, takeover markers and temporary
    files (what `remove_leftovers` would remove, less the temporaries)."""
    return [
        path
        for path in store.list_files(folder)
        if path != claim
        and TAKEOVER not in path.rsplit("/", 1)[-1]
        and not TEMPORARY.fullmatch(path.rsplit("/", 1)[-1])
    ]


def _refuse_if_committed(store: Store, product: str, version: str, command: str) -> None:
    """Refused in one sentence if another run has just committed `version`."""
    path = f"{version_folder(product, version)}/{PUBLISH_FILE}"
    if not store.exists(path):
        return
    existing = PublishRecord.from_json(store.read_bytes(path), store.url(path))
    advice = (
        "publish under a new name (e.g. the next number)"
        if command == "publish"
        else "there is nothing left to promote"
    )
    raise VersionExistsError(
        f"{product} {version} was just published by another run (build {existing.build_id}); "
        f"published versions are never changed: {advice}."
    )


def remove_leftovers(store: Store, folder: str, claim: str) -> None:
    """Remove what a run that was stopped left in a version folder this run has just claimed
    (so no live run writes there): every file but the claim, other runs' attempts at it (a
    temporary file of a live process) and the markers of runs taking a dead claim over."""
    for path in store.list_files(folder):
        name = path.rsplit("/", 1)[-1]
        if path == claim or TAKEOVER in name:
            continue
        if TEMPORARY.fullmatch(name) and not (
            store.is_local and abandoned_temporary(store.local_path(path))
        ):
            continue
        remove_file(store, path)


def _undo(store: Store, folder: str, written: list[str], claim: HeldLease) -> None:
    """Remove what a failed publish or promote wrote (only its own files, and on a local store
    the folders they leave empty), then its claim, then the version folder if it is empty.
    Nothing is removed when the claim is no longer this run's (another run took it over, judging
    this one stopped: the folder is that run's now); if a removal fails, the claim is left for
    the next run, which takes over what remains."""
    if not claim.still_held():
        claim.abandon()
        return
    try:
        for path in reversed(written):
            remove_file(store, path)
        remove_empty_folders(store, folder)  # (not the folder itself: the claim is still in it)
    except BaseException:
        claim.abandon()
        raise
    claim.release()
    remove_empty_folders(store, folder)


def remove_empty_folders(store: Store, folder: str) -> None:
    """On a local store, remove `folder` and the folders below it that are empty (never a file:
    another run's are left alone); an S3 "folder" goes with its last object."""
    if not store.is_local:
        return
    base = store.local_path(folder)
    for directory in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            directory.rmdir()
    with contextlib.suppress(OSError):
        base.rmdir()


def heal(store: Store, product: str) -> None:
    """What a publish or promote of `product` killed (or failing) after its commit left:
    latest.json behind (`heal_latest`), half-written files of processes that are gone. (A
    version folder it left is taken over by the next run publishing that version.)"""
    remove_abandoned(abandoned_temporaries(store, product_folder(product)))
    heal_latest(store, product)


def _check_complete(store: Store, entry: PublishRecord) -> None:
    """Refuse, naming it, a published version with an output missing (promote copies every
    file its publish.json records, each then checked against its checksum)."""
    folder = version_folder(entry.product, entry.version)
    for file in (file for output in entry.outputs.values() for file in output.files()):
        path = f"{folder}/{file.path}"
        if not store.exists(path):
            raise IntegrityError(
                f"{store.url(path)} is missing, so {entry.product} {entry.version} is damaged "
                "and was not promoted; `lake verify` lists what is wrong: restore it from a "
                "backup."
            )


def stale_latest(store: Store, product: str) -> tuple[str | None, str] | None:
    """When latest.json is missing or names another version than the one published last (a
    run killed, or failing, between its commit and moving latest): what it names, and the
    version it should. None when it is right, and while latest.json or a publish.json is
    damaged (damage is reported, not written over)."""
    scan = scan_published(store, product)
    if not scan.published or scan.latest_problem or scan.damaged:
        return None
    newest = scan.published[-1].version  # (oldest first, by published_at)
    if scan.latest_named == newest:
        return None
    return scan.latest_named, newest


def heal_latest(store: Store, product: str) -> str | None:
    """Move latest.json to the version published last when it is behind (`stale_latest`); the
    version it now names, when it moved."""
    stale = stale_latest(store, product)
    if stale is None:
        return None
    move_latest(store, product, stale[1])
    return stale[1]


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
        found[alias] = f"{pinned.name} {pinned.version}"
    return found


def _copy_build_files(
    store: Store,
    entry: BuildRecord,
    source: str,
    target: str,
    qa: list[str],
    written: list[str],
) -> dict[str, OutputRecord]:
    """Copy the outputs, the lock, the contract and QA reports into the version folder:
    independent copies (a local copy; a server-side copy on S3), never links to the build's
    files, each checked after copying: an output against the checksum its build recorded,
    the others against their source. `written` gets every path copied."""
    outputs = {}
    for key, output in entry.outputs.items():
        size = 0
        for file in output.files():  # one file, or each part
            copied = f"{target}/{file.path}"
            written.append(copied)
            store.copy(f"{source}/{file.path}", copied)
            sha, file_size = store.sha256(copied)
            if sha != file.sha256:
                raise IntegrityError(
                    f"{store.url(copied)} does not match the checksum build {entry.build_id} "
                    f"recorded for {file.path} after copying (the copy or the build's file is "
                    "damaged), so nothing was published; run `lake verify` and build again."
                )
            size += file_size
        outputs[key] = output.model_copy(update={"bytes": size})
    extras = [f"{source}/{entry.product}.lock", *qa]
    extras += [f for f in store.list_files(f"{source}/contracts")]
    extras += [f.removesuffix(".html") + ".json" for f in qa]
    for path in extras:
        if store.exists(path):
            copied = f"{target}/{path.removeprefix(source + '/')}"
            written.append(copied)
            store.copy(path, copied)
            if store.sha256(copied) != store.sha256(path):
                raise IntegrityError(
                    f"{store.url(copied)} differs from {store.url(path)} after copying, so "
                    "nothing was published; publish again."
                )
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
    same bytes in independent copies, checked by their checksums), and make it the target's
    latest."""
    heal(target, product)
    entry = find_published(source, product, version)
    _check_complete(source, entry)
    version = entry.version
    folder = version_folder(product, version)
    if target.exists(f"{folder}/{PUBLISH_FILE}"):
        raise VersionExistsError(
            f"{product} {version} is already published in the target environment; published "
            "versions are never changed."
        )
    claim = _claim(target, product, version, "promote")
    written: list[str] = []
    try:
        recorded = {
            f"{folder}/{file.path}": file.sha256
            for output in entry.outputs.values()
            for file in output.files()
        }
        for path in source.list_files(folder):
            name = path.rsplit("/", 1)[-1]
            if name == PUBLISH_FILE or name.startswith("."):  # the commit point; claims, temps
                continue
            expected = recorded.get(path) or source.sha256(path)[0]
            written.append(path)
            _copy_between(source, target, path)
            if target.sha256(path)[0] != expected:
                raise IntegrityError(
                    f"{target.url(path)} differs from the published file after copying (the "
                    "copy or the published file is damaged: `lake verify` checks the "
                    f"published ones in {source_env!r}); nothing was promoted."
                )
        record = entry.model_copy(
            update={
                "promoted_from": Promotion(env=source_env, published_at=entry.published_at),
                "published_at": datetime.now(UTC),
            }
        )
        claim.confirm()
        target.create_exclusive(f"{folder}/{PUBLISH_FILE}", record.to_json())
    except BaseException:
        _undo(target, folder, written, claim)
        raise
    claim.release()
    move_latest(target, product, version)
    return record


def _copy_between(source: Store, target: Store, path: str) -> None:
    """An independent copy of a file of one store in another: copied from a local store (never
    linked), else received (a server-side copy between buckets of one S3, or a download and
    an upload)."""
    if source.is_local:
        target.put_file(source.local_path(path), path)
    else:
        target.receive(source, path, path)


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
