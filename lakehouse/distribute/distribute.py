"""`lake distribute`: send a published version to its product's destinations, one after the
other; a destination that fails does not stop the others. Each attempt is recorded
(`records.py`), and a destination that already has exactly this delivery (the same version,
files and checksums, sent successfully) is left alone, saying so, unless `force`. A dry run
prepares the delivery and asks each destination what would change, writing nothing anywhere.
Any value of a credential variable a destination names is masked in every message and record,
whatever a server echoes back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from lakehouse.config import LakehouseConfig
from lakehouse.distribute import DESTINATION_TYPES, Receipt
from lakehouse.distribute.delivery import Delivery, prepare_delivery
from lakehouse.distribute.destinations import choose, load_destinations
from lakehouse.distribute.records import DistributionRecord, already_sent, keep_record
from lakehouse.distribute.spec import DestinationSpec
from lakehouse.errors import DistributeError, InvalidNameError, NotFoundError
from lakehouse.names import LATEST
from lakehouse.progress import Progress, no_progress
from lakehouse.publish.reading import find_published
from lakehouse.store.storage import Store

Status = Literal["sent", "unchanged", "failed", "dry run"]


@dataclass
class Outcome:
    destination: str
    where: str
    status: Status
    message: str
    lines: list[str] = field(default_factory=list)  # a dry run's: what would change
    record: DistributionRecord | None = None


def distribute(
    config: LakehouseConfig,
    store: Store,
    product: str,
    *,
    version: str = LATEST,
    to: Sequence[str] = (),
    dry_run: bool = False,
    force: bool = False,
    progress: Progress = no_progress,
) -> Iterator[Outcome]:
    """Send `version` of `product` (published only) to the destinations `to` names (all by
    default), yielding each destination's outcome as it comes."""
    try:
        entry = find_published(store, product, version)
    except (NotFoundError, InvalidNameError) as exc:
        what = "has no published version" if version == LATEST else f"has no published {version!r}"
        raise NotFoundError(
            f"{product} {what}; only published versions are distributed (`lake published "
            f"{product}` lists them, `lake publish {product}` makes one)."
        ) from exc
    specs = choose(
        load_destinations(config.recipes_dir, config.project_dir, product),
        list(to),
        product,
        config.recipes_dir,
    )
    for spec in specs:
        with store.scratch_dir() as scratch:
            delivery = None
            started = datetime.now(UTC)
            try:
                delivery = prepare_delivery(config, store, entry, spec, scratch)
                yield _one(store, spec, delivery, dry_run, force, progress)
            except DistributeError as exc:
                message = mask(str(exc), spec)
                record = None
                if delivery is not None and not dry_run:
                    record = _record(spec, delivery, started, "failed", message, None)
                    keep_record(store, record)
                yield Outcome(spec.name, spec.where(), "failed", message, record=record)


def _one(
    store: Store,
    spec: DestinationSpec,
    delivery: Delivery,
    dry_run: bool,
    force: bool,
    progress: Progress,
) -> Outcome:
    kind = DESTINATION_TYPES.get(spec.type)
    if kind.geometry_only and not any(t.geometry for t in delivery.tables.values()):
        raise DistributeError(
            f"Destination {spec.name!r} ({spec.type}) takes geometry, and {delivery.product} has "
            "no geometry column; send it to a file drop or Socrata instead."
        )
    if dry_run:
        lines = [mask(line, spec) for line in kind.preview(spec, delivery)]
        return Outcome(spec.name, spec.where(), "dry run", "nothing was sent (a dry run)", lines)
    done = None if force else already_sent(
        store, delivery.product, spec.name, delivery.version, delivery.checksum
    )  # fmt: skip
    if done is not None:
        return Outcome(
            spec.name,
            spec.where(),
            "unchanged",
            f"{spec.name} already has {delivery.product} {delivery.version} (sent "
            f"{done.finished_at:%Y-%m-%d %H:%M} UTC); nothing sent (--force sends it again)",
        )
    started = datetime.now(UTC)
    receipt = kind.send(spec, delivery, progress)
    said = f"{delivery.version} sent to {receipt.location}"
    record = _record(spec, delivery, started, "sent", said, receipt)
    keep_record(store, record)
    return Outcome(spec.name, spec.where(), "sent", record.message, record=record)


def _record(
    spec: DestinationSpec,
    delivery: Delivery,
    started: datetime,
    result: Literal["sent", "failed"],
    message: str,
    receipt: Receipt | None,
) -> DistributionRecord:
    details = json.loads(mask(json.dumps(receipt.details, default=str), spec)) if receipt else {}
    return DistributionRecord(
        product=delivery.product,
        version=delivery.version,
        build_id=delivery.build_id,
        destination=spec.name,
        type=spec.type,
        format=spec.format,
        location=mask(receipt.location if receipt else spec.where(), spec),
        started_at=started,
        finished_at=datetime.now(UTC),
        result=result,
        message=mask(message, spec),
        checksum=delivery.checksum,
        files=delivery.files,
        remote_id=mask(receipt.remote_id, spec) if receipt and receipt.remote_id else None,
        details=details,
    )


def mask(text: str, spec: DestinationSpec) -> str:
    """`text` with the value of every credential variable the destination names masked."""
    for name, value in spec.model_dump().items():
        if name.endswith("_env") and isinstance(value, str):
            found = os.environ.get(value, "")
            if len(found) >= 4:
                text = text.replace(found, "***")
    return text
