"""The add-then-remove replace of a layer's features, in batches, undone when a batch fails
(the design is in the package's docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from lakehouse.distribute.arcgis.client import FeatureService, why
from lakehouse.distribute.arcgis.features import Features
from lakehouse.errors import DistributeError
from lakehouse.progress import Progress

FIRST_ERRORS = 3  # server error descriptions quoted per failed batch


@dataclass
class Replaced:
    batches: int
    added: int
    deleted: int


@dataclass(frozen=True)
class BatchFailure:
    number: int
    size: int
    failed: int
    errors: list[str]

    def describe(self, batches: int) -> str:
        quoted = "; ".join(repr(e) for e in self.errors[:FIRST_ERRORS])
        return (
            f"batch {self.number} of {batches} failed ({self.failed} of its {self.size} features "
            f"refused: {quoted})"
        )


def _refusals(results: list[dict[str, Any]], scrub: Callable[[str], str]) -> list[str]:
    """The error descriptions of the edits the server refused (not those only rolled back
    with them); every failed edit's when all say "rolled back"."""
    failed = [
        scrub(str((r.get("error") or {}).get("description") or "no reason given"))
        for r in results
        if not r.get("success")
    ]
    refused = [text for text in failed if "rolled back" not in text.lower()]
    return refused or failed


def _ranges(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def replace_features(
    service: FeatureService, features: Features, rerun: str, progress: Progress
) -> Replaced:
    """The layer's features replaced by `features` (see the module's docstring)."""
    size = service.spec.batch_size
    batches = max(1, math.ceil(len(features) / size))
    before = service.object_ids()
    added: list[int] = []
    progress("adding the new features", 0, len(features))
    for number, (start, stop) in enumerate(_ranges(len(features), size), start=1):
        what = f"add batch {number} of {batches}"
        try:
            results = service.apply_edits(what, adds=features.batch(start, stop))
        except DistributeError as exc:
            _undo(service, before, f"{what} failed: {why(exc)}", len(before), rerun)
        errors = _refusals(results, service.scrub)
        if errors:
            failure = BatchFailure(number, stop - start, len(errors), errors)
            _undo(service, before, failure.describe(batches), len(before), rerun)
        added.extend(int(r["objectId"]) for r in results)
        progress("adding the new features", stop, len(features))
    deleted = _delete_all_but(service, set(added), rerun, progress)
    return Replaced(batches=batches if len(features) else 0, added=len(added), deleted=deleted)


def _delete(service: FeatureService, ids: Sequence[int], what: str) -> None:
    """Delete `ids` in batches; failures are judged afterwards, from what the layer holds."""
    size = service.spec.batch_size
    for start, stop in _ranges(len(ids), size):
        service.apply_edits(what, deletes=ids[start:stop])


def _undo(
    service: FeatureService, before: set[int], failure: str, old: int, rerun: str
) -> NoReturn:
    """After a failed add: delete every feature that appeared since the replace began."""
    try:
        appeared = sorted(service.object_ids() - before)
        _delete(service, appeared, "remove this run's features")
        left = service.object_ids() - before
    except DistributeError as exc:
        raise DistributeError(
            f"Replacing the features of {service.shown} stopped ({failure}), and removing the "
            f"features this run had added failed too ({why(exc)}): the layer may hold its "
            f"{old} old features plus some of the new ones; run `{rerun}` to finish the replace."
        ) from None
    if left:
        raise DistributeError(
            f"Replacing the features of {service.shown} stopped ({failure}), and {len(left)} of "
            f"the features this run added are still there beside the {old} old ones; run "
            f"`{rerun}` to finish the replace."
        )
    raise DistributeError(
        f"Replacing the features of {service.shown} stopped: {failure}; the features added "
        f"before were removed again, so the layer holds its {old} old features unchanged; fix "
        f"the cause and run `{rerun}` again."
    )


def _delete_all_but(service: FeatureService, keep: set[int], rerun: str, progress: Progress) -> int:
    """Delete every feature but `keep` (the new ones); the number deleted."""
    try:
        old = sorted(service.object_ids() - keep)
        progress("removing the old features", 0, len(old))
        _delete(service, old, "remove the old features")
        left = service.object_ids() - keep
    except DistributeError as exc:
        raise DistributeError(
            f"All {len(keep)} new features are in {service.shown}, but removing the old ones "
            f"failed ({why(exc)}): the layer holds the new features and some old ones; run "
            f"`{rerun}` to finish the replace."
        ) from None
    if left:
        raise DistributeError(
            f"All {len(keep)} new features are in {service.shown}, but {len(left)} old ones "
            f"could not be removed; run `{rerun}` to finish the replace."
        )
    progress("removing the old features", len(old), len(old))
    return len(old)
