"""Distribution: a published version sent to where people get the data (a folder drop, an S3
bucket, the city's open-data portal on Socrata, an ArcGIS hosted feature layer), from one
command, `lake distribute <product>`.

A product's destinations are declared next to its recipe, in
`recipes/<product>.destinations.yml` (see `destinations.py`): each has a `name`, a `type` (a
member of `DESTINATION_TYPES`), the package `format` it takes, per-destination column
`renames`, and the type's own target settings. Credentials come only from environment
variables that a destination names (`*_env` fields), never from files; they are never written
into records, logs or errors.

Each destination type is one module that owns its typed spec and two functions:

- `preview(spec, delivery) -> list[str]`: what sending would change there, in lines for a
  person (`lake distribute --dry-run`); it may read the destination, never write to it;
- `send(spec, delivery, progress) -> Receipt`: send the version; the receipt says what the
  destination now holds (its revision or job id, where it went). A failure the user can fix is
  a `DistributeError` in one sentence, and leaves what readers see at the destination as it was.

Built in: `folder`, `s3` and `sftp` (file drops: the version's files under `<version>/`, then
`latest` switched to it), `socrata` and `arcgis`. A package adds one through the entry point group
`lakehouse.destination_types` (a `DestinationType` object), as sources and formats do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import SerializeAsAny, WrapValidator

from lakehouse.distribute.delivery import Delivery
from lakehouse.distribute.spec import DestinationSpec
from lakehouse.progress import Progress
from lakehouse.registry import Registry, spec_validator


@dataclass(frozen=True)
class Receipt:
    """What a destination holds after a send: where (no secrets), its own id of what was
    made (a Socrata revision, an ArcGIS edit session, a folder), and details for the record."""

    location: str
    remote_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


Preview = Callable[[Any, Delivery], list[str]]
Send = Callable[[Any, Delivery, Progress], Receipt]


@dataclass(frozen=True)
class DestinationType:
    """A kind of destination, as registered in `DESTINATION_TYPES`."""

    name: str  # a destination's `type`
    spec: type[DestinationSpec]
    preview: Preview
    send: Send
    geometry_only: bool = False  # refuses a product without a geometry column


DESTINATION_TYPES = Registry[DestinationType](
    "destination type",
    {
        "folder": "lakehouse.distribute.drops:FOLDER",
        "s3": "lakehouse.distribute.drops:S3",
        "sftp": "lakehouse.distribute.sftp:DESTINATION",
        "socrata": "lakehouse.distribute.socrata:DESTINATION",
        "arcgis": "lakehouse.distribute.arcgis:DESTINATION",
    },
)
"""Every destination type by name: built in, from the entry point group
`lakehouse.destination_types`, or registered at run time."""

DestinationField = Annotated[
    SerializeAsAny[DestinationSpec],
    WrapValidator(spec_validator(DESTINATION_TYPES, DestinationSpec)),
]
"""A destination: validated as the spec of the destination type its `type` names."""
