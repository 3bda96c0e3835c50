"""The destination's two entry points: `preview` (what a send would change, read from the
layer) and `send` (the fields added, the features replaced, the receipt)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakehouse.distribute import Receipt
from lakehouse.distribute.arcgis.client import FeatureService
from lakehouse.distribute.arcgis.features import Features
from lakehouse.distribute.arcgis.geometry import Geometries
from lakehouse.distribute.arcgis.layer import Layer
from lakehouse.distribute.arcgis.replace import Replaced, replace_features
from lakehouse.distribute.arcgis.schema import FieldPlan, plan_fields
from lakehouse.distribute.arcgis.spec import ArcGISSpec
from lakehouse.distribute.delivery import DeliveredTable, Delivery
from lakehouse.distribute.spec import secret
from lakehouse.errors import DistributeError
from lakehouse.progress import Progress

if TYPE_CHECKING:
    import pyarrow as pa


def _geometry_table(spec: ArcGISSpec, delivery: Delivery) -> DeliveredTable:
    table = delivery.only_table(spec.name)
    if table.geometry is None:
        raise DistributeError(
            f"Destination {spec.name!r} is an ArcGIS feature layer, which needs geometry, and "
            f"{delivery.product}'s output {table.name!r} has no geometry column; send it to a "
            "table destination (socrata, a file drop) instead."
        )
    return table


def _rerun(spec: ArcGISSpec, delivery: Delivery) -> str:
    return (
        f"lake distribute {delivery.product} --version {delivery.version} --to {spec.name} --force"
    )


@dataclass
class _Prepared:
    data: pa.Table
    layer: Layer
    plan: FieldPlan


def _prepare(service: FeatureService, table: DeliveredTable) -> _Prepared:
    data = table.read()
    layer = service.layer()
    return _Prepared(data, layer, plan_fields(table, data, layer))


def preview(spec: ArcGISSpec, delivery: Delivery) -> list[str]:
    """What sending would change in the layer, read from it without writing."""
    table = _geometry_table(spec, delivery)
    token = secret(spec.token_env, spec.name, "ArcGIS token")
    with FeatureService(spec, token) as service:
        ready = _prepare(service, table)
        count = service.count()
    layer, plan = ready.layer, ready.plan
    batches = math.ceil(table.rows / spec.batch_size)
    lines = [
        f"ArcGIS layer {layer.name!r} ({service.shown}): would delete its {count} features and "
        f"add {table.rows} ({batches} batches of up to {spec.batch_size})"
    ]
    lines += _field_lines(spec, delivery, table, plan)
    try:
        lines.append(Geometries.read(table, ready.data, layer).describe())
    except DistributeError as exc:
        lines.append(f"refused: {exc}")
    refusal = plan.refusal(spec, layer)
    if refusal:
        lines.append(f"refused: {refusal}")
    return lines


def _field_lines(
    spec: ArcGISSpec, delivery: Delivery, table: DeliveredTable, plan: FieldPlan
) -> list[str]:
    lines = []
    if plan.missing:
        listed = ", ".join(
            f"{f['name']} ({f['type'].removeprefix('esriFieldType')})" for f in plan.missing
        )
        action = "would be added" if spec.missing_fields == "add" else "are missing (refused)"
        lines.append(f"fields that {action}: {listed}")
    if plan.extra:
        lines.append(
            f"layer fields {delivery.product} does not fill (left empty): {', '.join(plan.extra)}"
        )
    renamed = [f"{c.source} -> {c.name}" for c in table.columns if c.source != c.name]
    if renamed:
        lines.append(f"columns renamed for this destination: {', '.join(renamed)}")
    return lines


def send(spec: ArcGISSpec, delivery: Delivery, progress: Progress) -> Receipt:
    """Replace the layer's features with the version's."""
    table = _geometry_table(spec, delivery)
    token = secret(spec.token_env, spec.name, "ArcGIS token")
    with FeatureService(spec, token) as service:
        ready = _prepare(service, table)
        refusal = ready.plan.refusal(spec, ready.layer)
        if refusal:
            raise DistributeError(refusal)
        features = Features.prepare(table, ready.data, ready.layer, ready.plan)
        if ready.plan.missing:
            _add_missing_fields(service, ready.plan, progress)
        replaced = replace_features(service, features, _rerun(spec, delivery), progress)
        edited = service.layer().last_edit_date
    return _receipt(spec, ready, replaced, features.geometries, edited)


def _add_missing_fields(service: FeatureService, plan: FieldPlan, progress: Progress) -> None:
    progress("adding fields to the layer", 0, len(plan.missing))
    service.add_fields(plan.missing)
    _check_fields_added(service, plan)


def _receipt(
    spec: ArcGISSpec,
    ready: _Prepared,
    replaced: Replaced,
    geometries: Geometries,
    edited: int | None,
) -> Receipt:
    return Receipt(
        location=spec.where(),
        remote_id=f"{replaced.added} features"
        + (f", lastEditDate {edited}" if edited is not None else ""),
        details={
            "layer": ready.layer.name,
            "batches": replaced.batches,
            "added": replaced.added,
            "deleted": replaced.deleted,
            "fields_added": [f["name"] for f in ready.plan.missing],
            "crs": f"{geometries.source} -> {geometries.target}",
            "last_edit_date": edited,
        },
    )


def _check_fields_added(service: FeatureService, plan: FieldPlan) -> None:
    layer = service.layer()
    absent = [f["name"] for f in plan.missing if layer.field_named(f["name"]) is None]
    if absent:
        raise DistributeError(
            f"{service.shown} accepted the new fields but does not list {', '.join(absent)}; "
            "check the layer's fields in ArcGIS, then run the distribution again."
        )
