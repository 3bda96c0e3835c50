"""The model cache, `cache/<product>/<model>/`: a model's result kept under its fingerprint, and
checked before it is reused.

An entry is two files: the result, `<fingerprint>.<8 hex>.sha256-<digest>.parquet`, named with
the sha256 of its bytes (content-addressed: a name says what its file must hash to), and its
record, `<fingerprint>.json` (a `CacheEntry`), written last, which points at it. Before a build
reuses an entry it hashes the file and compares; any damage (a file rewritten, a byte flipped,
the file gone, a record that does not read or disagrees with its file) means the entry is not
reused: the model is rebuilt, the damaged files are moved to `damaged/<build id>/` beside the
entry with a `DAMAGED.txt` saying what was wrong, and the build says so (a
`DamagedRecordWarning` and `BuildResult.damaged`). Only the entries a build reuses are hashed:
a no-op rebuild of PLUTO-lite at 1M lots hashes one 28 MB file (about 0.03 s).

A result an engine wrote itself in parts (Spark: `writes_parts`) is a folder beside the
record, `<fingerprint>.<8 hex>.parts/`, holding the part files as the engine named them; the
record lists them in order with each one's rows, size and sha256 (`CacheEntry.parts`), and
each part is checked against it before reuse; a damaged entry's folder is set aside whole.

Entries written before results were named by their sha256 cannot be checked: they are
recomputed once (not called damaged), and the fresh entry replaces them.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from lakehouse.errors import IntegrityError, NewerRecordError
from lakehouse.records import damage_reason
from lakehouse.store.storage import Store
from lakehouse.transform.records import CacheEntry, OutputPart

CACHE_AREA = "cache"
DAMAGED_FOLDER = "damaged"  # cache/<product>/<model>/damaged/<build id>/: what a build set aside
DAMAGE_NOTE = "DAMAGED.txt"
VERIFY_HINT = "run `lake verify` to check the rest of the store"
_VERIFY_ADVICE = "it is damaged: the next build of its product rebuilds the model and sets it aside"

_NAMED_BY_DIGEST = re.compile(r"\.sha256-(?P<digest>[0-9a-f]{64})\.parquet$")
PARTS_SUFFIX = ".parts"  # <fingerprint>.<8 hex>.parts/: a result an engine wrote in parts


def model_cache(product: str, model: str) -> str:
    """The cache folder of one model, relative to the store root."""
    return f"{CACHE_AREA}/{product}/{model}"


def entry_path(product: str, model: str, fingerprint: str) -> str:
    """The record of a fingerprint's cache entry (whether or not it exists)."""
    return f"{model_cache(product, model)}/{fingerprint}.json"


def result_path(record: str, sha256: str) -> str:
    """A new, unique name for a result whose bytes hash to `sha256`, beside its record (so that
    an existing cache file is never overwritten)."""
    return record.removesuffix(".json") + f".{uuid.uuid4().hex[:8]}.sha256-{sha256}.parquet"


def parts_folder(record: str) -> str:
    """A new, unique folder beside its record for a result an engine writes in parts (its
    parts' sha256s are then recorded in the entry, `CacheEntry.parts`)."""
    return record.removesuffix(".json") + f".{uuid.uuid4().hex[:8]}{PARTS_SUFFIX}"


def stored_parts(store: Store, paths: list[str]) -> list[OutputPart]:
    """The record of each part file (relative to the store root, all in one folder), in
    order: its name, rows (from its footer), size and sha256, read where it lies."""
    parts = []
    for path in paths:
        sha, size = store.sha256(path)
        rows = store.parquet_metadata(path).num_rows
        parts.append(OutputPart(name=path.rsplit("/", 1)[1], rows=rows, bytes=size, sha256=sha))
    return parts


def recorded_sha256(file: str) -> str | None:
    """The sha256 a cached result's name records (None for a name of an earlier lakehouse)."""
    found = _NAMED_BY_DIGEST.search(file)
    return found["digest"] if found else None


@dataclass(frozen=True)
class Damage:
    """Why a cache entry (or contract results cached beside it) cannot be reused: `reason`
    names the file and what is wrong with it; `files` are the entry's files to set aside
    (relative to the store root; those that exist)."""

    reason: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Lookup:
    """What the cache holds for a fingerprint: an entry sound to reuse, nothing reusable
    (`entry` None; `damage` says why when it is damaged), and a note for progress when an
    entry was passed over without being damaged (written before results were checked)."""

    entry: CacheEntry | None = None
    damage: Damage | None = None
    note: str | None = None


def look_up(store: Store, record: str, *, needs_content_hash: bool) -> Lookup:
    """The cache entry recorded at `record`, checked: its record reads, its file is where its
    model's entries live, is there, hashes to the sha256 its name records and holds the rows
    and columns its record says. A published model's entry must have its content hash."""
    if not store.exists(record):
        return Lookup()
    data = store.read_bytes(record)
    try:
        entry = CacheEntry.from_json(data, store.url(record))
    except NewerRecordError:
        raise  # written by a newer lakehouse: upgrade, never overwrite it
    except IntegrityError as exc:
        return Lookup(damage=Damage(damage_reason(exc), (record,)))
    if needs_content_hash and entry.content_sha256 is None:
        return Lookup()  # an intermediate's entry: recomputed with its hash, as always
    folder, name = record.rsplit("/", 1)
    fingerprint = name.removesuffix(".json")
    own = entry.file.removeprefix(f"{folder}/{fingerprint}.")
    suffix = ".parquet" if entry.parts is None else PARTS_SUFFIX
    if own == entry.file or "/" in own or not own.endswith(suffix) or _odd_parts(entry):
        return Lookup(
            damage=Damage(
                f"{store.url(record)} points at {entry.file!r}, not a file of its own cache entry",
                (record,),
            )
        )
    files = (record, entry.file)
    if not store.exists(entry.file):
        return Lookup(
            damage=Damage(
                f"{store.url(record)} names {store.url(entry.file)}, which is missing", (record,)
            )
        )
    if entry.parts is not None:
        return _checked_parts(store, record, entry)
    expected = recorded_sha256(entry.file)
    if expected is None:
        return Lookup(note=f"{entry.model}: cached before results were checksummed; recomputed")
    found, _ = store.sha256(entry.file)
    if found != expected:
        return Lookup(
            damage=Damage(
                f"{store.url(entry.file)} has sha256 {found[:12]}..., not the {expected[:12]}... "
                "it was written with",
                files,
            )
        )
    disagreement = _disagreement(store, entry)
    if disagreement:
        return Lookup(damage=Damage(f"{store.url(record)} {disagreement}", files))
    return Lookup(entry=entry)


def _odd_parts(entry: CacheEntry) -> bool:
    """Whether a record's parts name anything but files directly in its folder."""
    names = [part.name for part in entry.parts or []]
    return any("/" in n or n in ("", ".", "..") for n in names) or len(set(names)) < len(names)


def _checked_parts(store: Store, record: str, entry: CacheEntry) -> Lookup:
    """An entry written in parts, checked: each part is there and hashes to the sha256 the
    record gives it, and the parts hold the rows and columns the record says."""
    files = (record, entry.file)
    for path, part in zip(entry.files(), entry.parts or [], strict=True):
        if not store.exists(path):
            reason = f"{store.url(record)} names {store.url(path)}, which is missing"
            return Lookup(damage=Damage(reason, files))
        found, _ = store.sha256(path)
        if found != part.sha256:
            reason = (
                f"{store.url(path)} has sha256 {found[:12]}..., not the {part.sha256[:12]}... "
                f"{store.url(record)} records"
            )
            return Lookup(damage=Damage(reason, files))
    disagreement = _disagreement(store, entry)
    if disagreement:
        return Lookup(damage=Damage(f"{store.url(record)} {disagreement}", files))
    return Lookup(entry=entry)


def _disagreement(store: Store, entry: CacheEntry) -> str | None:
    """How an entry's record disagrees with its (sound) files' footers: its rows or columns
    (each part's own rows too)."""
    rows, columns = 0, None
    for index, path in enumerate(entry.files()):
        metadata = store.parquet_metadata(path)
        if entry.parts is not None and metadata.num_rows != entry.parts[index].rows:
            recorded = entry.parts[index].rows
            return f"records {recorded} rows in {path}, but it holds {metadata.num_rows}"
        rows += metadata.num_rows
        columns = columns or metadata.schema.to_arrow_schema().names
    if rows != entry.rows:
        return f"records {entry.rows} rows, but its file holds {rows}"
    if columns != list(entry.columns):
        return f"records the columns {list(entry.columns)}, but its file holds {columns}"
    return None


def set_aside(
    store: Store, product: str, model: str, build_id: str, damage: Damage, redo: str
) -> str:
    """Move a damaged entry's files to `damaged/<build id>/` of its model's cache with a note
    saying why (evidence, never deleted); returns the sentence to report, ending with `redo`
    (what the build does instead). A file that cannot be moved (gone meanwhile, or the store
    refuses) is left where it is, and the sentence says so."""
    folder = f"{model_cache(product, model)}/{DAMAGED_FOLDER}/{build_id}"
    left: list[str] = []
    moved = False
    with contextlib.suppress(OSError):
        store.fs.makedirs(store.path(folder), exist_ok=True)
    for file in damage.files:
        target = f"{folder}/{file.rsplit('/', 1)[1]}"
        try:
            if file.endswith(PARTS_SUFFIX):  # a result's folder of parts, moved whole
                store.fs.mv(store.path(file), store.path(target), recursive=True)
            else:
                store.fs.mv(store.path(file), store.path(target))
            moved = True
        except FileNotFoundError:
            continue  # gone already (another build set it aside)
        except OSError:
            left.append(file)
    if left:
        where = f"it is left in place ({', '.join(store.url(f) for f in left)})"
    elif moved:
        where = f"it was moved to {store.url(folder)}"
    else:
        where = "it is gone"
    message = f"{damage.reason}; it is damaged: {where}, and {redo}; {VERIFY_HINT}."
    note = f"{folder}/{DAMAGE_NOTE}"
    with contextlib.suppress(OSError):  # the warning says it all the same
        before = store.read_bytes(note) if store.exists(note) else b""
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        store.write_bytes(note, before + f"{stamp} build {build_id}: {message}\n".encode())
    return message


def damaged_cache(store: Store) -> list[str]:
    """Every damaged cache entry of the store, one sentence each (for `lake verify`): its
    record does not read, its file is missing, or does not hash to the sha256 its name records.
    Hashes every cached result."""
    found = []
    for product in store.list_folders(CACHE_AREA):
        for model in store.list_folders(f"{CACHE_AREA}/{product}"):
            folder = model_cache(product, model)
            for path in store.list_files(folder):
                name = path.removeprefix(folder + "/")
                if "/" in name or not name.endswith(".json") or ".contract-" in name:
                    continue
                try:
                    lookup = look_up(store, path, needs_content_hash=False)
                except NewerRecordError as exc:
                    found.append(str(exc))
                    continue
                if lookup.damage is not None:
                    found.append(f"{lookup.damage.reason}; {_VERIFY_ADVICE}.")
    return found


def quarantined(store: Store) -> list[str]:
    """The folders builds set damaged cache entries aside in (relative to the store root)."""
    return [
        f"{model_cache(product, model)}/{DAMAGED_FOLDER}/{build}"
        for product in store.list_folders(CACHE_AREA)
        for model in store.list_folders(f"{CACHE_AREA}/{product}")
        for build in store.list_folders(f"{model_cache(product, model)}/{DAMAGED_FOLDER}")
    ]
