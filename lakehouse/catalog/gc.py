"""`lake gc`: what builds and cache entries the store no longer needs, and removing them.

What stays (everything else in `builds/` and `cache/` may go):

- the last `keep` builds of each product (by start), its newest passed build (what a lock's
  `build: latest` resolves to), and the build whose models have the fingerprints a build from
  the current lock and code would have (it is that build);
- every build pinned as a product input: by a lock file, by a recipe (`build: <id>`), by the
  lock a published version was built from, or by a build that stays (so a build that stays
  can still be checked against its inputs);
- the cache entries a build from each product's current lock and code would reuse (its
  fingerprints, as `lake plan` computes them), and those of the models of every build that
  stays; a product whose plan cannot be made keeps its whole cache.

A published version keeps its build only through those rules: its outputs, lock and QA
reports are copied into `publish/`. gc never removes a published or archived version, a seed
copy or a distribution record (only what interrupted runs left beside them). A build whose
build.json is damaged is left for `lake verify`, and so is the cache's `damaged/`; a damaged
cache record in use is left for the next build to set aside.
What interrupted runs left is removed too once its writer is gone (the machinery of `lake
verify --repair`); a live writer's work is never touched: a product with a build under way
keeps its whole cache, and a product being published keeps its builds, this time.

Removal order keeps the store readable at every step: a build folder is first taken with a
lease of gc's own (as a build holds its folder), then its build.json goes (it is no build from
then on), its files, and the lease last, so a gc stopped part way leaves what the next run
removes as an interrupted run's; a cache entry's record goes before its files, so no reader
finds a record without its result.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lakehouse.archive.archive import Archive
from lakehouse.archive.leftovers import unreferenced_runs
from lakehouse.config import LakehouseConfig
from lakehouse.errors import (
    ConfigError,
    IntegrityError,
    InvalidNameError,
    LakehouseError,
    NewerRecordError,
)
from lakehouse.names import LATEST, is_dataset_name
from lakehouse.publish.leftovers import unfinished_publishes
from lakehouse.publish.reading import PUBLISH_AREA, scan_published
from lakehouse.store.lease import LEASE_FILE, is_abandoned
from lakehouse.store.storage import Store, abandoned_scratch
from lakehouse.store.writers import (
    LeaseBusy,
    Leftover,
    abandoned_temporaries,
    acquire_exclusive,
    read_lease,
    remove_file,
    remove_held,
)
from lakehouse.transform.cache import CACHE_AREA, PARTS_SUFFIX, model_cache
from lakehouse.transform.index import BUILD_FILE, BUILDS_AREA, build_folder, scan_builds
from lakehouse.transform.leftovers import unfinished_builds, workspace_database
from lakehouse.transform.plan import plan_product
from lakehouse.transform.recipe import ProductInput, list_recipes, load_recipe, read_lock
from lakehouse.transform.records import BuildRecord, CacheEntry, LockRecord

ItemKind = Literal["build", "cache", "leftover"]


@dataclass(frozen=True)
class GcItem:
    """One thing gc removes: a build folder, a cache entry (or a result no record points at),
    or what an interrupted run left. `files` are what goes, relative to the store root, in
    removal order (a build's folder and workspace database go with it)."""

    kind: ItemKind
    product: str  # the product; for a leftover, the store area it is in
    path: str  # the build folder, the entry's record (or lone file), the leftover's path
    reason: str
    bytes: int
    files: tuple[str, ...] = ()
    database: Path | None = None  # a build's DuckDB database in the workspace
    leftover: Leftover | None = None


@dataclass(frozen=True)
class KeptBuild:
    product: str
    build_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Freed:
    """What goes (or went) of one product (or store area): counts by kind, and bytes."""

    builds: int = 0
    cache_entries: int = 0
    leftovers: int = 0
    bytes: int = 0


@dataclass
class GcPlan:
    keep: int
    items: list[GcItem] = field(default_factory=list)
    kept: list[KeptBuild] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what gc leaves alone this time, and why

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.items)

    def freed(self) -> dict[str, Freed]:
        return freed_by_product(self.items)


@dataclass
class GcResult:
    removed: list[GcItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # planned, but a writer took it meanwhile

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.removed)

    def freed(self) -> dict[str, Freed]:
        return freed_by_product(self.removed)


def freed_by_product(items: Iterable[GcItem]) -> dict[str, Freed]:
    totals: dict[str, Freed] = {}
    for item in items:
        now = totals.get(item.product, Freed())
        totals[item.product] = Freed(
            now.builds + (item.kind == "build"),
            now.cache_entries + (item.kind == "cache"),
            now.leftovers + (item.kind == "leftover"),
            now.bytes + item.bytes,
        )
    return dict(sorted(totals.items()))


# -- planning -----------------------------------------------------------------------------------


def plan_gc(
    config: LakehouseConfig, store: Store, archive: Archive, keep: int | None = None
) -> GcPlan:
    """What gc would remove, and why (nothing is removed): see the module's docstring. `keep`
    builds per product always stay (default: `[gc] keep_builds` of lakehouse.toml)."""
    if keep is None:
        keep = config.gc.keep_builds
    if keep < 0:
        raise ConfigError(f"Keep {keep} builds? Give 0 or more (the last N builds stay).")
    plan = GcPlan(keep)
    builds = _committed_builds(store, plan)
    planned = _planned_fingerprints(config, store, archive, plan)
    kept = _kept_builds(config, store, builds, planned, keep)
    publishing = _being_published(store)
    for product, records in builds.items():
        for record in records:
            reasons = kept.get((product, record.build_id))
            if reasons:
                plan.kept.append(KeptBuild(product, record.build_id, tuple(reasons)))
            elif product in publishing:
                plan.notes.append(_kept_while_publishing(product, record.build_id))
            elif item := _build_item(config, store, record, keep):
                plan.items.append(item)
            else:
                plan.notes.append(_held(product, record.build_id))
    needed = _needed_fingerprints(builds, kept, planned)
    for product in store.list_folders(CACHE_AREA):
        plan.items.extend(_cache_items(store, product, needed, plan))
    plan.items.extend(_leftover_items(config, store, archive, plan))
    return plan


def _committed_builds(store: Store, plan: GcPlan) -> dict[str, list[BuildRecord]]:
    """Every product's committed builds, oldest first; damaged ones are noted and left."""
    found = {}
    for product in store.list_folders(BUILDS_AREA):
        if not is_dataset_name(product):
            continue
        scan = scan_builds(store, product)
        found[product] = scan.builds
        for damaged in scan.damaged:
            plan.notes.append(f"{damaged.message} (gc leaves it)")
    return found


def _kept_builds(
    config: LakehouseConfig,
    store: Store,
    builds: dict[str, list[BuildRecord]],
    planned: dict[str, set[str] | None],
    keep: int,
) -> dict[tuple[str, str], list[str]]:
    """(product, build id) -> why it stays, for every build that stays."""
    kept: dict[tuple[str, str], list[str]] = {}

    def add(product: str, build_id: str, reason: str) -> None:
        kept.setdefault((product, build_id), []).append(reason)

    current = _current_builds(builds, planned)
    for product, records in builds.items():
        for record in records[-keep:] if keep else []:
            add(product, record.build_id, f"one of the last {keep} builds")
        passed = [record for record in records if record.passed]
        if passed:
            add(product, passed[-1].build_id, "the newest passed build")
        if product in current:
            add(product, current[product], "the build of its current lock and code")
    for product, build_id, reason in _pins(config, store):
        add(product, build_id, reason)
    _keep_pinned_by_kept(builds, kept)
    return kept


def _current_builds(
    builds: dict[str, list[BuildRecord]], planned: dict[str, set[str] | None]
) -> dict[str, str]:
    """Product -> its newest build whose models have exactly the fingerprints of a build from
    its current lock and code."""
    found = {}
    for product, fingerprints in planned.items():
        for record in reversed(builds.get(product, [])):
            if {run.fingerprint for run in record.models.values()} == fingerprints:
                found[product] = record.build_id
                break
    return found


def _pins(config: LakehouseConfig, store: Store) -> list[tuple[str, str, str]]:
    """(product, build id, why) of every build a lock file, a recipe or a published version's
    lock pins as a product input."""
    pins = []
    for product in list_recipes(config.recipes_dir):
        lock = read_lock(config.recipes_dir, product)
        for alias, pinned in (lock.inputs if lock else {}).items():
            if pinned.product is not None:
                why = f"pinned by {product}.lock (input {alias})"
                pins.append((pinned.product, pinned.version, why))
        for alias, wanted in load_recipe(config.recipes_dir, product).inputs.items():
            if isinstance(wanted, ProductInput) and wanted.build != LATEST:
                pins.append((wanted.product, wanted.build, f"pinned by recipe {product} ({alias})"))
    for product in store.list_folders(PUBLISH_AREA):
        if not is_dataset_name(product):
            continue
        for published in scan_published(store, product).published:
            why = f"pinned by the lock of published {product} {published.version}"
            pins.extend((p, b, why) for p, b in _pinned_builds(published.lock))
    return pins


def _pinned_builds(lock: LockRecord) -> list[tuple[str, str]]:
    return [
        (pinned.product, pinned.version)
        for pinned in lock.inputs.values()
        if pinned.product is not None
    ]


def _keep_pinned_by_kept(
    builds: dict[str, list[BuildRecord]], kept: dict[tuple[str, str], list[str]]
) -> None:
    """Add the builds that builds which stay pin, until none is added."""
    by_id = {(p, r.build_id): r for p, records in builds.items() for r in records}
    waiting = list(kept)
    while waiting:
        record = by_id.get(waiting.pop())
        if record is None:
            continue
        for pinned in _pinned_builds(record.lock):
            if pinned not in kept:
                waiting.append(pinned)
            kept.setdefault(pinned, []).append(
                f"pinned by build {record.build_id} of {record.product}"
            )


def _being_published(store: Store) -> set[str]:
    """The products a live run is publishing (it may be copying one of their builds)."""
    return {
        leftover.path.split("/")[1]
        for leftover in unfinished_publishes(store)
        if not leftover.abandoned
    }


def _kept_while_publishing(product: str, build_id: str) -> str:
    return (
        f"build {build_id} of {product!r} is left this time: a run is publishing {product!r}; "
        "run `lake gc` again once it is done"
    )


def _held(product: str, build_id: str) -> str:
    return (
        f"build {build_id} of {product!r} is left: a live run holds its folder; run `lake gc` "
        "again once it is done"
    )


def _build_item(
    config: LakehouseConfig, store: Store, record: BuildRecord, keep: int
) -> GcItem | None:
    """The removal of a build that need not stay (None: a live writer holds its folder)."""
    folder = build_folder(record.product, record.build_id)
    if _live_lease(store, f"{folder}/{LEASE_FILE}"):
        return None
    database = workspace_database(config.workspace_dir, record.product, record.build_id)
    files = tuple(store.list_files(folder))
    size = _stored_bytes(store, files) + _local_bytes(_database_files(database))
    status = "" if record.passed else "failed, "
    reason = f"{status}older than the last {keep} builds, pinned by nothing"
    return GcItem("build", record.product, folder, reason, size, files, database)


def _live_lease(store: Store, path: str) -> bool:
    lease = read_lease(store, path)
    return lease is not None and not is_abandoned(lease)


def _planned_fingerprints(
    config: LakehouseConfig, store: Store, archive: Archive, plan: GcPlan
) -> dict[str, set[str] | None]:
    """Product (each with a recipe) -> the fingerprints of its models in a build from its
    current lock and code; None (noted) when its plan cannot be made: it keeps its cache."""
    found: dict[str, set[str] | None] = {}
    for product in list_recipes(config.recipes_dir):
        try:
            planned = plan_product(config, store, archive, product)
        except NewerRecordError:
            raise
        except LakehouseError as exc:
            plan.notes.append(
                f"the cache of {product!r} is kept whole: gc cannot tell what a build from its "
                f"lock would reuse ({exc})"
            )
            found[product] = None
            continue
        found[product] = {model.fingerprint for model in planned.models}
    return found


def _needed_fingerprints(
    builds: dict[str, list[BuildRecord]],
    kept: dict[tuple[str, str], list[str]],
    planned: dict[str, set[str] | None],
) -> dict[str, set[str] | None]:
    """Product -> the fingerprints its cache keeps (None: all of them): a build from its lock
    would reuse them, or a build that stays ran them."""
    needed = {product: None if found is None else set(found) for product, found in planned.items()}
    for product, records in builds.items():
        fingerprints = needed.setdefault(product, set())
        for record in records:
            if (product, record.build_id) in kept and fingerprints is not None:
                fingerprints.update(run.fingerprint for run in record.models.values())
    return needed


def _building(store: Store, product: str) -> bool:
    """Whether a live run is building `product` (it may be writing or reusing its cache)."""
    return any(not leftover.abandoned for leftover in unfinished_builds(store, None, product))


def _cache_items(
    store: Store, product: str, needed: dict[str, set[str] | None], plan: GcPlan
) -> list[GcItem]:
    """The cache entries of `product` no build needs, and result files no record points at."""
    if not is_dataset_name(product):
        return []
    keeping = needed.get(product, set())
    if keeping is None:
        return []  # noted: its plan could not be made
    if _building(store, product):
        plan.notes.append(
            f"the cache of {product!r} is left this time: a build of it is under way; run "
            "`lake gc` again once it is done"
        )
        return []
    items = []
    for model in store.list_folders(f"{CACHE_AREA}/{product}"):
        for fingerprint, files in _entries(store, product, model).items():
            items.extend(_entry_items(store, product, model, fingerprint, files, keeping))
    return items


def _entries(store: Store, product: str, model: str) -> dict[str, list[str]]:
    """Fingerprint -> the files of its cache entry (record, results, contract results); not
    temporary files (an interrupted write's go as leftovers) nor the `damaged/` folder."""
    folder = model_cache(product, model)
    found: dict[str, list[str]] = {}
    for path in store.list_files(folder):
        name = path.removeprefix(f"{folder}/")
        top = name.split("/", 1)[0]  # a file of the entry, or its folder of parts
        if top.startswith(".") or ("/" in name and not top.endswith(PARTS_SUFFIX)):
            continue
        found.setdefault(top.split(".", 1)[0], []).append(path)
    return found


def _entry_items(
    store: Store, product: str, model: str, fingerprint: str, files: list[str], keeping: set[str]
) -> list[GcItem]:
    record = f"{model_cache(product, model)}/{fingerprint}.json"
    has_record = record in files
    if fingerprint not in keeping:
        # the record first: no reader finds a record whose result is gone
        ordered = ([record] if has_record else []) + [f for f in files if f != record]
        reason = (
            f"cache entry of {model} ({fingerprint[:12]}): no build from the current lock and "
            "code would reuse it, and no build that stays ran it"
        )
        return [GcItem("cache", product, ordered[0], reason, _stored_bytes(store, ordered),
                       tuple(ordered))]  # fmt: skip
    pointed = _pointed_at(store, record) if has_record else None
    if has_record and pointed is None:
        return []  # a damaged record of an entry in use: the next build sets it aside
    results: dict[str, list[str]] = {}  # a result file, or a folder of parts -> its files
    folder = model_cache(product, model)
    for file in files:
        top = f"{folder}/{file.removeprefix(folder + '/').split('/', 1)[0]}"
        if top != pointed and (file.endswith(".parquet") or top.endswith(PARTS_SUFFIX)):
            results.setdefault(top, []).append(file)
    why = "replaced by a newer result" if has_record else "left by an interrupted build"
    reason = f"a result of {model} ({fingerprint[:12]}) no cache record points at ({why})"
    return [
        GcItem("cache", product, result, reason, _stored_bytes(store, found), tuple(found))
        for result, found in results.items()
    ]


def _pointed_at(store: Store, record: str) -> str | None:
    """The result file a cache record points at (None: the record does not read)."""
    try:
        return CacheEntry.from_json(store.read_bytes(record), store.url(record)).file
    except NewerRecordError:
        raise
    except (IntegrityError, FileNotFoundError):
        return None


def _leftover_items(
    config: LakehouseConfig, store: Store, archive: Archive, plan: GcPlan
) -> list[GcItem]:
    """What interrupted runs left whose writer is gone; a live writer's are noted."""
    removed_folders = tuple(f"{item.path}/" for item in plan.items if item.kind == "build")
    items = []
    for leftover in _leftovers(config, store, archive):
        if leftover.path.startswith(removed_folders):
            continue  # a stray lease of a build that goes: it goes with its folder
        if not leftover.abandoned:
            plan.notes.append(f"{leftover.path} is left: {leftover.describe()}")
            continue
        area = leftover.path.split("/", 1)[0] if not Path(leftover.path).is_absolute() else "tmp"
        reason = leftover.describe()
        size = _leftover_bytes(store, leftover.path)
        items.append(GcItem("leftover", area, leftover.path, reason, size, leftover=leftover))
    return items


def _leftovers(config: LakehouseConfig, store: Store, archive: Archive) -> list[Leftover]:
    """What unfinished runs left, as `lake verify` finds it (without hashing anything)."""
    found = []
    for dataset in archive.datasets():
        with_manifest = archive.version_names(dataset)
        manifests = []
        for version in with_manifest:
            with contextlib.suppress(InvalidNameError, IntegrityError):
                manifests.append(archive.read_manifest(dataset, version))
        found.extend(unreferenced_runs(store, dataset, with_manifest, manifests)[1])
    found.extend(unfinished_publishes(store))
    found.extend(unfinished_builds(store, config.workspace_dir))
    found.extend(_abandoned_scratch(store))
    found.extend(abandoned_temporaries(store))
    return found


def _abandoned_scratch(store: Store) -> list[Leftover]:
    import shutil

    parent = store.scratch_parent()
    found = []
    for folder in abandoned_scratch(parent, shared=not store.is_local):
        where = f"{parent.name}/{folder.name}" if store.is_local else str(folder)
        remove = functools.partial(shutil.rmtree, folder, ignore_errors=True)
        found.append(Leftover(where, "an interrupted run's scratch folder", None, True, remove))
    return found


def _stored_bytes(store: Store, files: Iterable[str]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            total += int(store.fs.size(store.path(path)))
    return total


def _local_bytes(paths: Iterable[Path]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _database_files(database: Path | None) -> list[Path]:
    if database is None:
        return []
    return [database, database.with_name(database.name + ".wal")]


def _leftover_bytes(store: Store, path: str) -> int:
    if Path(path).is_absolute():
        local = Path(path)
        return _local_bytes([local, *local.rglob("*")] if local.is_dir() else [local])
    return _stored_bytes(store, store.list_files(path) or [path])


# -- removing -----------------------------------------------------------------------------------


def apply_gc(plan: GcPlan, store: Store) -> GcResult:
    """Remove what `plan` lists, each in the order that keeps the store readable (the module's
    docstring); what a live writer took since the plan was made is skipped and said."""
    result = GcResult()
    removers: dict[ItemKind, Callable[[Store, GcItem], str | None]] = {
        "build": _remove_build,
        "cache": _remove_cache_files,
        "leftover": _remove_leftover,
    }
    for item in plan.items:
        skipped = removers[item.kind](store, item)
        if skipped is None:
            result.removed.append(item)
        else:
            result.skipped.append(skipped)
    return result


def _remove_build(store: Store, item: GcItem) -> str | None:
    """Take the folder with a lease of gc's own (a live writer's is left), remove build.json
    (from then on it is no build), the rest, and the lease last."""
    lease = f"{item.path}/{LEASE_FILE}"
    try:
        held = acquire_exclusive(store, lease, "gc", wait_seconds=0)
    except LeaseBusy as busy:
        return f"{item.path} was left: {busy.holder.describe()} holds it"
    try:
        remove_file(store, f"{item.path}/{BUILD_FILE}")
    except BaseException:
        held.abandon()  # the next gc (or `lake verify --repair`) finishes the removal
        raise
    remove_held(store, item.path, held)
    for path in _database_files(item.database):
        path.unlink(missing_ok=True)
    return None


def _remove_cache_files(store: Store, item: GcItem) -> str | None:
    if _building(store, item.product):
        return f"{item.path} was left: a build of {item.product!r} started meanwhile"
    for path in item.files:  # the record first (see _entry_items)
        remove_file(store, path)
    if store.is_local:  # a result written in parts leaves its emptied folder (S3 has none)
        folder = store.local_path(item.path)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return None


def _remove_leftover(store: Store, item: GcItem) -> str | None:
    assert item.leftover is not None
    item.leftover.remove()
    return None
