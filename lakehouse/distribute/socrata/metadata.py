"""The dataset's metadata on a revision, from the product's recipe: name, description,
attribution, tags, and the owner and cadence in the domain's custom fields."""

from __future__ import annotations

from typing import Any

from lakehouse.distribute.delivery import ProductMetadata
from lakehouse.distribute.socrata.spec import SocrataSpec


def dataset_metadata(spec: SocrataSpec, metadata: ProductMetadata) -> dict[str, Any]:
    """The dataset's metadata on the revision, from the product's recipe: the owner and cadence
    in the domain's custom fields when the destination names them, else in the description."""
    custom: dict[str, dict[str, str]] = {}
    notes = []
    for label, value, field in (
        ("Owner", metadata.owner, spec.owner_field),
        ("Updated", metadata.cadence, spec.cadence_field),
    ):
        if not value:
            continue
        if field is None:
            notes.append(f"{label}: {value}")
        else:
            section, name = (part.strip() for part in field.split("/"))
            custom.setdefault(section, {})[name] = value
    description = "\n\n".join(
        part for part in (metadata.description.strip(), "\n".join(notes)) if part
    )
    found: dict[str, Any] = {
        "name": metadata.title,
        "description": description,
        "tags": list(metadata.tags),
    }
    if metadata.attribution:
        found["attribution"] = metadata.attribution
    if custom:
        found["metadata"] = {"custom_fields": custom}
    return found
