"""The dry run (`lake distribute --dry-run`): what sending would change in the dataset, its
rows, columns and metadata, from what the portal shows of it now; it only reads, with the
credentials when they are set and anonymously when not."""

from __future__ import annotations

import os
from typing import Any

from lakehouse.distribute.delivery import DeliveredTable, Delivery
from lakehouse.distribute.socrata.client import Portal
from lakehouse.distribute.socrata.metadata import dataset_metadata
from lakehouse.distribute.socrata.spec import SocrataSpec
from lakehouse.errors import DistributeError


def preview(spec: SocrataSpec, delivery: Delivery) -> list[str]:
    """What sending would change in the dataset: rows, columns, metadata; reads only."""
    table = delivery.only_table(spec.name)
    has_credentials = bool(os.environ.get(spec.username_env) and os.environ.get(spec.password_env))
    view, now = _live(spec)
    lines = [
        f"{spec.where()}: replace {now:,} rows with {table.rows:,} "
        f"({delivery.product} {delivery.version})"
    ]
    lines += column_changes(view, table)
    lines += metadata_changes(view, dataset_metadata(spec, delivery.metadata))
    if not has_credentials:
        lines.append(
            f"read without credentials: set {spec.username_env} and {spec.password_env} to send"
        )
    return lines


def _live(spec: SocrataSpec) -> tuple[dict[str, Any], int]:
    """The dataset as the portal shows it now (metadata and columns) and its row count."""
    with Portal(spec, need_credentials=False) as portal:
        view = portal.json(
            "GET", f"/api/views/{spec.dataset_id}.json", f"dataset {spec.dataset_id}"
        )
        counted = portal.json(
            "GET",
            f"/resource/{spec.dataset_id}.json",
            f"the row count of {spec.dataset_id}",
            params={"$select": "count(*) AS row_count"},
        )
    return view, _row_count(counted)


def _row_count(answer: Any) -> int:
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        value = answer[0].get("row_count", 0)
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    raise DistributeError("Socrata's row count of the dataset was not a number; try again later.")


def column_changes(view: dict[str, Any], table: DeliveredTable) -> list[str]:
    """Columns added, removed, renamed, relabelled and redescribed, as lines."""
    live = {
        str(c["fieldName"]): c
        for c in view.get("columns") or []
        if not str(c.get("fieldName", ":")).startswith(":")  # system and computed columns
    }
    lines, kept = [], set()
    for column in table.columns:
        current = live.get(column.name)
        if current is None and column.source != column.name and column.source in live:
            current = live[column.source]
            lines.append(f"column renamed: {column.source} -> {column.name}")
        if current is None:
            lines.append(f"column added: {column.name}")
            continue
        kept.add(str(current["fieldName"]))
        if (current.get("name") or "") != column.display_name:
            lines.append(
                f"column {column.name} label: {current.get('name')!r} -> {column.display_name!r}"
            )
        if (current.get("description") or "") != column.description:
            lines.append(f"column {column.name} description changes")
    lines += [f"column removed: {name}" for name in live if name not in kept]
    return lines or ["columns: no change"]


def metadata_changes(view: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The dataset's metadata fields that sending would change, as lines."""
    lines = []
    for key in ("name", "description", "attribution"):
        if key in wanted and (view.get(key) or "") != wanted[key]:
            lines.append(f"metadata {key}: {_short(view.get(key))} -> {_short(wanted[key])}")
    if sorted(view.get("tags") or []) != sorted(wanted["tags"]):
        lines.append(f"metadata tags: {sorted(view.get('tags') or [])} -> {sorted(wanted['tags'])}")
    live_custom = (view.get("metadata") or {}).get("custom_fields") or {}
    for section, fields in (wanted.get("metadata") or {}).get("custom_fields", {}).items():
        for name, value in fields.items():
            before = (live_custom.get(section) or {}).get(name)
            if before != value:
                lines.append(f"metadata {section}/{name}: {_short(before)} -> {_short(value)}")
    return lines or ["metadata: no change"]


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join(str(value or "").split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
