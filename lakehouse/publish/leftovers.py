"""What killed publishes and promotes left: version folders without a `publish.json` (their
claim, `.claim.json`, is the writer lease of the run that wrote them), and the claim a run
killed after its commit left in a published version. They are removed through the claim, as
a publish would take it over, so a run that takes the folder at the same moment is never
touched."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

from lakehouse.names import is_dataset_name
from lakehouse.publish.publish import (
    CLAIM_FILE,
    LATEST_FILE,
    PUBLISH_AREA,
    PUBLISH_FILE,
    VERSION_PATTERN,
    files_of,
    heal_latest,
    remove_empty_folders,
    remove_leftovers,
    stale_latest,
    version_folder,
)
from lakehouse.store.lease import Lease, is_abandoned, new_lease
from lakehouse.store.storage import Store
from lakehouse.store.writers import (
    LeaseBusy,
    Leftover,
    acquire_exclusive,
    folder_writer,
    lost_commit,
    read_lease,
    remove_file,
    take_over,
)

INTERRUPTED_PUBLISH = "an interrupted publish or promote"


def unfinished_publishes(store: Store) -> list[Leftover]:
    """Every version folder of every product without a publish.json, judged by its claim, and
    the claims left in published versions."""
    found = []
    for product in store.list_folders(PUBLISH_AREA):
        if not is_dataset_name(product):
            continue  # not a product's folder (verify does not guess)
        for version in store.list_folders(f"{PUBLISH_AREA}/{product}"):
            if not VERSION_PATTERN.fullmatch(version):
                continue
            folder = f"{PUBLISH_AREA}/{product}/{version}"
            claim = f"{folder}/{CLAIM_FILE}"
            if store.exists(f"{folder}/{PUBLISH_FILE}"):
                holder = read_lease(store, claim)
                if holder is not None:
                    found.append(_stray_claim(store, claim, holder))
                continue
            if lost_commit(store, folder, claim):
                continue  # damage: `lost_publishes`
            holder = read_lease(store, claim)
            if holder is not None:
                abandoned = is_abandoned(holder)
            else:
                holder, abandoned = folder_writer(store, folder)
            remove = _remover(store, product, version)
            found.append(Leftover(folder, INTERRUPTED_PUBLISH, holder, abandoned, remove))
        if (stale := stale_latest(store, product)) is not None:
            named, newest = stale
            what = (
                f"a publish stopped before it moved latest.json (it names {named or 'nothing'}; "
                f"{newest} was published last)"
            )
            heal = functools.partial(_heal_latest, store, product)
            path = f"{PUBLISH_AREA}/{product}/{LATEST_FILE}"
            found.append(Leftover(path, what, None, True, heal, done=f"moved to {newest}"))
    return found


def lost_publishes(store: Store) -> list[str]:
    """Version folders that hold published files but no publish.json and no claim (a lost
    commit record: damage, see `lost_commit`)."""
    return [
        f"{PUBLISH_AREA}/{product}/{version}"
        for product in store.list_folders(PUBLISH_AREA)
        if is_dataset_name(product)
        for version in store.list_folders(f"{PUBLISH_AREA}/{product}")
        if VERSION_PATTERN.fullmatch(version)
        and not store.exists(f"{PUBLISH_AREA}/{product}/{version}/{PUBLISH_FILE}")
        and lost_commit(
            store,
            f"{PUBLISH_AREA}/{product}/{version}",
            f"{PUBLISH_AREA}/{product}/{version}/{CLAIM_FILE}",
        )
    ]


def _remover(store: Store, product: str, version: str) -> Callable[[], None]:
    def remove() -> None:
        """Take the claim (over, from a dead run), remove every other file, let it go."""
        folder = version_folder(product, version)
        with contextlib.suppress(LeaseBusy):  # taken by a live run meanwhile: its folder now
            held = acquire_exclusive(store, f"{folder}/{CLAIM_FILE}", "verify", wait_seconds=0)
            try:
                lost = not held.took_over and files_of(store, folder, held.path)
                if not store.exists(f"{folder}/{PUBLISH_FILE}") and not lost:
                    remove_leftovers(store, folder, held.path)
                    remove_empty_folders(store, folder)
            except BaseException:
                held.abandon()  # (the claim stays over what is left: the next run goes on)
                raise
            held.release()
            remove_empty_folders(store, folder)

    return remove


def _stray_claim(store: Store, claim: str, holder: Lease) -> Leftover:
    return Leftover(
        claim,
        "a published version's claim",
        holder,
        is_abandoned(holder),
        functools.partial(_take_claim_over, store, claim, holder),
    )


def _take_claim_over(store: Store, claim: str, holder: Lease) -> None:
    """Take the stray claim (of a run killed after its commit) over, then remove it."""
    mine = new_lease("verify")
    if take_over(store, claim, holder, mine):
        current = read_lease(store, claim)
        if current is not None and current.writer == mine.writer:
            remove_file(store, claim)


def _heal_latest(store: Store, product: str) -> None:
    heal_latest(store, product)
